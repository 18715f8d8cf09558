"""Server round 2, MaskedInputCollection.

Collects: MASKED_INPUT from U2 clients and adds each to a running sum modulo
R as it arrives, so memory is O(dim) whatever the number of clients. A vector
of the wrong packed length is excluded. Closing: at least ``threshold``
masked inputs (U3). Sends SURVIVORS (active variant, next:
ConsistencyCheck) or UNMASKING_REQUEST (next: Unmasking).
"""

from __future__ import annotations

import numpy as np

from secagg.primitives import packing
from secagg.protocols.base import ExclusionReason, Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.server.context import ServerContext


def receive(ctx: ServerContext, sender: int, data: bytes) -> None:
    config = ctx.config
    packed = messages.parse_masked_input(data, ctx.session_id)
    expected = packing.packed_size(config.dim, config.width)
    if len(packed) != expected:
        ctx.exclude(sender, Round.MASKED_INPUT_COLLECTION, ExclusionReason.INVALID_CONTENT,
                    f"masked vector of {len(packed)} bytes, expected {expected}")
        return
    try:
        vector = packing.unpack(packed, config.width, config.dim)
    except ValueError as error:
        ctx.exclude(sender, Round.MASKED_INPUT_COLLECTION, ExclusionReason.INVALID_CONTENT, str(error))
        return
    if int(vector.max()) >= config.modulus:
        ctx.exclude(sender, Round.MASKED_INPUT_COLLECTION, ExclusionReason.INVALID_CONTENT,
                    "masked vector has elements >= R")
        return
    if ctx.total is None:
        ctx.total = np.zeros(config.dim, dtype=np.uint64)
    ctx.total += vector
    ctx.total %= np.uint64(config.modulus)
    ctx.masked_senders.add(sender)


def close(ctx: ServerContext) -> dict[int, bytes]:
    ctx.require(len(ctx.masked_senders), Round.MASKED_INPUT_COLLECTION, "masked inputs arrived")
    survivors = sorted(ctx.masked_senders)
    if ctx.config.active:
        return {client: messages.survivors(ctx.session_id, survivors) for client in survivors}
    return {client: unmasking_request(ctx, client, {}) for client in survivors}


def unmasking_request(ctx: ServerContext, client: int, signatures: dict[int, bytes]) -> bytes:
    """Build a client's UNMASKING_REQUEST: the survivors among its share owners."""
    owners = (ctx.neighbours[client] & set(ctx.ciphertexts)) | {client}
    listed = sorted(owners & ctx.masked_senders)
    return messages.unmasking_request(ctx.session_id, listed, signatures)
