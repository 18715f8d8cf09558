"""Client round 3, ConsistencyCheck (actively secure variant only).

Accepts: SURVIVORS, the server's list of clients whose masked inputs it
received. Checks that the list contains this client, has at least
``threshold`` entries and names only clients this client knows survived
round 1 or non-neighbours. Signs the list with Ed25519 and remembers it.
Sends: CONSISTENCY_SIGNATURE. Next state: Unmasking.
"""

from __future__ import annotations

from secagg.protocols.masking import messages
from secagg.protocols.masking.client.context import ClientAbort, ClientContext


def consistency_message(session_id: bytes, survivors: list[int]) -> bytes:
    """Return the bytes a client signs for the round-2 survivor list."""
    return b"secagg/consistency/v1" + session_id + b"".join(c.to_bytes(4, "big") for c in survivors)


def handle(ctx: ClientContext, data: bytes) -> bytes:
    """Process SURVIVORS; return CONSISTENCY_SIGNATURE."""
    survivors = messages.parse_survivors(data, ctx.session_id)
    check_survivors(ctx, survivors)
    ctx.signed_survivors = survivors
    signature = ctx.signing_key.sign(consistency_message(ctx.session_id, survivors))
    return messages.consistency_signature(ctx.session_id, ctx.client_id, signature)


def check_survivors(ctx: ClientContext, survivors: list[int]) -> None:
    """Abort unless ``survivors`` is a plausible round-2 survivor list for this client."""
    if ctx.client_id not in survivors:
        raise ClientAbort("the server claims this client's masked input did not arrive")
    if ctx.config.complete_graph and len(survivors) < ctx.config.threshold:
        raise ClientAbort(f"only {len(survivors)} survivors, below the threshold "
                          f"{ctx.config.threshold}")
    neighbours = set(ctx.peers)
    impossible = [c for c in survivors if c in neighbours and c not in ctx.share_senders]
    if impossible:
        raise ClientAbort(f"survivors {impossible[:5]} had dropped before round 2")
