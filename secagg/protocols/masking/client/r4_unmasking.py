"""Client round 4, Unmasking.

Accepts: UNMASKING_REQUEST, the survivors among this client's share owners
(and, in the active variant, every client's signature on the round-3 list).
For each client v whose shares this client holds, reveals the share of v's
self-mask seed if v is listed as a survivor, or the share of v's mask key if
not, and never both for one v: a request that would contradict an earlier
reveal aborts the client. In the active variant the list must match the
signed round-3 list, and every relayed signature must verify.
Sends: UNMASKING_RESPONSE. The state stays current, so that a later request
in the same session is checked against what was already revealed.
"""

from __future__ import annotations

from secagg.errors import SignatureError
from secagg.primitives import signatures
from secagg.protocols.masking import messages
from secagg.protocols.masking.client.context import ClientAbort, ClientContext
from secagg.protocols.masking.client.r3_consistency_check import check_survivors, consistency_message
from secagg.protocols.masking.messages import ShareKind


def handle(ctx: ClientContext, data: bytes) -> bytes:
    """Process UNMASKING_REQUEST; return UNMASKING_RESPONSE."""
    survivors, relayed = messages.parse_unmasking_request(data, ctx.session_id)
    if ctx.config.active:
        _check_signatures(ctx, survivors, relayed)
    else:
        check_survivors(ctx, survivors)

    listed = set(survivors)
    entries = []
    for owner in sorted(ctx.held_shares):
        kind = ShareKind.SELF_MASK_SEED if owner in listed else ShareKind.MASK_KEY
        previous = ctx.revealed.get(owner)
        if previous is not None and previous is not kind and not ctx.naive_unmasking:
            raise ClientAbort(f"the request asks for the {kind.name} share of client {owner} "
                              f"after its {previous.name} share was revealed")
        seed_share, key_share = ctx.held_shares[owner]
        entries.append((owner, kind, seed_share if kind is ShareKind.SELF_MASK_SEED else key_share))

    for owner, kind, _ in entries:
        ctx.revealed.setdefault(owner, kind)
    return messages.unmasking_response(ctx.session_id, ctx.client_id, entries)


def _check_signatures(ctx: ClientContext, survivors: list[int], relayed: dict[int, bytes]) -> None:
    signed = ctx.signed_survivors
    if signed is None:
        raise ClientAbort("the unmasking request came before the consistency check")
    relevant = [c for c in signed if c in ctx.share_senders]
    if survivors != relevant:
        raise ClientAbort("the unmasking request lists other survivors than the signed list")
    if len(relayed) < ctx.config.threshold:
        raise ClientAbort(f"only {len(relayed)} consistency signatures, below the threshold "
                          f"{ctx.config.threshold}")
    message = consistency_message(ctx.session_id, signed)
    for client, signature in relayed.items():
        public = ctx.pki.get(client) if ctx.pki else None
        try:
            if public is None:
                raise SignatureError("no PKI key")
            signatures.verify(public, signature, message)
        except SignatureError:
            raise ClientAbort(f"client {client} signed a different survivor list") from None
