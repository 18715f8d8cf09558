"""Server round 3, ConsistencyCheck (actively secure variant only).

Collects: CONSISTENCY_SIGNATURE from U3 clients, each verified under the
client's PKI key against the survivor list sent to all. Closing: at least
``threshold`` valid signatures (U4). Sends each U4 client
UNMASKING_REQUEST with every collected signature. Next: Unmasking.
"""

from __future__ import annotations

from secagg.errors import SignatureError
from secagg.primitives import signatures
from secagg.protocols.base import ExclusionReason, Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.client.r3_consistency_check import consistency_message
from secagg.protocols.masking.server.context import ServerContext
from secagg.protocols.masking.server.r2_masked_input import unmasking_request


def receive(ctx: ServerContext, sender: int, data: bytes) -> None:
    signature = messages.parse_consistency_signature(data, ctx.session_id)
    message = consistency_message(ctx.session_id, sorted(ctx.masked_senders))
    try:
        signatures.verify(ctx.pki[sender], signature, message)
    except SignatureError as error:
        ctx.exclude(sender, Round.CONSISTENCY_CHECK, ExclusionReason.BAD_SIGNATURE, str(error))
        return
    ctx.signatures[sender] = signature


def close(ctx: ServerContext) -> dict[int, bytes]:
    ctx.require(len(ctx.signatures), Round.CONSISTENCY_CHECK, "consistency signatures")
    return {client: unmasking_request(ctx, client, ctx.signatures) for client in sorted(ctx.signatures)}
