"""Server round 1, second step: share receipts.

Collects: SHARE_RECEIPT from U2 clients, each naming the forwarded senders
whose ciphertext its sender could not decrypt. Closing: a U2 client that sent
no valid receipt leaves U2 before anyone masks with it. A client v stays in
U2 only while at least ``threshold`` clients of U2 hold its shares: v itself
and the neighbours that did not reject its ciphertext. Otherwise its input
could never be unmasked, so it is withdrawn, with UNDECRYPTABLE_SHARES when
some recipients rejected its ciphertexts and TOO_FEW_SHARE_HOLDERS when its
holders only left. Withdrawing one client can leave another with too few
holders, so this repeats until nothing changes. U2 must still reach the
threshold. Sends each U2 client MASKED_INPUT_REQUEST with the withdrawn
clients whose shares it was forwarded. Next: MaskedInputCollection.

A false receipt only lowers the holder count of the accused client, by one:
the same as its sender dropping out before it reveals the shares it holds.

NOTE: receipts are not signed, even in the active variant, so a malicious
server can claim withdrawals. That gains it no more than not forwarding a
client's ciphertexts, which it can always do.
"""

from __future__ import annotations

from secagg.protocols.base import ExclusionReason, Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.server.context import ServerContext
from secagg.protocols.wire import MessageType


def receive(ctx: ServerContext, sender: int, data: bytes) -> None:
    rejected = messages.parse_id_list(data, MessageType.SHARE_RECEIPT, ctx.session_id)
    forwarded = ctx.neighbours[sender] & set(ctx.ciphertexts)
    strangers = [client for client in rejected if client not in forwarded]
    if strangers:
        ctx.exclude(sender, Round.SHARE_RECEIPTS, ExclusionReason.INVALID_CONTENT,
                    f"rejected the shares of clients {strangers[:5]}, which were never "
                    "forwarded to it")
        return
    ctx.receipts[sender] = set(rejected)


def close(ctx: ServerContext) -> dict[int, bytes]:
    forwarded = set(ctx.ciphertexts)
    remaining = forwarded & set(ctx.receipts)
    while True:
        withdrawn = [client for client in sorted(remaining) if _holders(ctx, client, remaining) <
                     ctx.config.threshold]
        if not withdrawn:
            break
        for client in withdrawn:
            ctx.exclude(client, Round.SHARE_RECEIPTS, *_withdrawal_reason(ctx, client, remaining))
        remaining -= set(withdrawn)
    ctx.require(len(remaining), Round.SHARE_RECEIPTS, "clients remained after the share receipts")

    gone = forwarded - remaining
    ctx.ciphertexts = {client: ctx.ciphertexts[client] for client in sorted(remaining)}
    return {client: messages.id_list(MessageType.MASKED_INPUT_REQUEST, ctx.session_id, 0xFFFFFFFF,
                                     sorted(ctx.neighbours[client] & gone))
            for client in sorted(remaining)}


def _holders(ctx: ServerContext, client: int, remaining: set[int]) -> int:
    """Return how many clients of ``remaining`` hold the shares of ``client``, itself included."""
    return 1 + sum(1 for holder in ctx.neighbours[client] & remaining
                   if client not in ctx.receipts[holder])


def _withdrawal_reason(ctx: ServerContext, client: int,
                       remaining: set[int]) -> tuple[ExclusionReason, str]:
    """Return why ``client`` is withdrawn: rejected ciphertexts, or only holders that left."""
    rejecting = sorted(holder for holder in ctx.neighbours[client] & remaining
                       if client in ctx.receipts[holder])
    holders = (f"holders left, itself included: {_holders(ctx, client, remaining)}, "
               f"threshold {ctx.config.threshold}")
    if rejecting:
        return (ExclusionReason.UNDECRYPTABLE_SHARES,
                f"{len(rejecting)} recipients could not decrypt its shares (first: {rejecting[:5]}); "
                + holders)
    return (ExclusionReason.TOO_FEW_SHARE_HOLDERS,
            f"its other share holders sent no valid receipt or were withdrawn; {holders}")
