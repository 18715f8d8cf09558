"""Server round 1, ShareKeys.

Collects: SHARE_KEYS; each must hold exactly one ciphertext for every U1
neighbour of its sender. The server cannot read the ciphertexts and only
relays them. Closing: at least ``threshold`` clients (U2) must have sent
shares. Sends each U2 client FORWARDED_SHARES with the ciphertexts addressed
to it by its U2 neighbours. Next: share receipts (:mod:`.r1_share_receipts`).
"""

from __future__ import annotations

from secagg.protocols.base import ExclusionReason, Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.server.context import ServerContext
from secagg.protocols.wire import MessageType


def receive(ctx: ServerContext, sender: int, data: bytes) -> None:
    ciphertexts = messages.parse_id_blob_list(data, MessageType.SHARE_KEYS, ctx.session_id)
    if set(ciphertexts) != ctx.neighbours[sender]:
        ctx.exclude(sender, Round.SHARE_KEYS, ExclusionReason.INVALID_CONTENT,
                    f"shares for {len(ciphertexts)} recipients, expected its "
                    f"{len(ctx.neighbours[sender])} round-0 neighbours")
        return
    ctx.ciphertexts[sender] = ciphertexts


def close(ctx: ServerContext) -> dict[int, bytes]:
    survivors = set(ctx.ciphertexts)
    ctx.require(len(survivors), Round.SHARE_KEYS, "clients sent shares")
    outgoing = {}
    for client in sorted(survivors):
        incoming = {sender: ctx.ciphertexts[sender][client]
                    for sender in ctx.neighbours[client] & survivors}
        outgoing[client] = messages.id_blob_list(MessageType.FORWARDED_SHARES, ctx.session_id,
                                                 0xFFFFFFFF, incoming)
    return outgoing
