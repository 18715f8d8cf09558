"""Client round 2, MaskedInputCollection.

Accepts: MASKED_INPUT_REQUEST, the forwarded senders that the server
withdrew after the share receipts. The remaining forwarded senders are this
client's view of U2; it forgets the shares it holds of withdrawn clients, so
it never reveals them. Then computes

    y_u = x_u + PRG(b_u) + sum_{v > u} PRG(s_uv) - sum_{v < u} PRG(s_uv)   (mod R)

over its U2 neighbours, with s_uv derived from the mask keys by X25519 and
HKDF. The pairwise mask with a neighbour whose ciphertext this client
rejected is applied too: the server kept that neighbour, so others hold its
shares. Sends: MASKED_INPUT, packed at ceil(log2 R) bits. Next state:
ConsistencyCheck (active variant) or Unmasking.
"""

from __future__ import annotations

from secagg.primitives import key_agreement, packing
from secagg.primitives.key_agreement import KeyPurpose
from secagg.protocols.masking import masks, messages
from secagg.protocols.masking.client.context import ClientAbort, ClientContext
from secagg.protocols.wire import MessageType


def handle(ctx: ClientContext, data: bytes) -> bytes:
    """Process MASKED_INPUT_REQUEST; return MASKED_INPUT."""
    config, own, session_id = ctx.config, ctx.client_id, ctx.session_id
    withdrawn = set(messages.parse_id_list(data, MessageType.MASKED_INPUT_REQUEST, session_id))
    strangers = sorted(withdrawn - set(ctx.forwarded))
    if strangers:
        raise ClientAbort(f"the server withdrew clients {strangers[:5]}, whose shares it "
                          "never forwarded to this client")
    remaining = [client for client in ctx.forwarded if client not in withdrawn]
    if len(remaining) + 1 < config.threshold:
        raise ClientAbort(f"only {len(remaining) + 1} clients remain in this neighbourhood "
                          f"after the share receipts, below the threshold {config.threshold}")
    for client in withdrawn:
        ctx.held_shares.pop(client, None)
    ctx.share_senders = sorted(set(remaining) | {own})

    pairwise = key_agreement.agree_and_derive_many(
        ctx.mask_keys, {other: ctx.peers[other].mask for other in remaining},
        KeyPurpose.MASK_SEED, session_id, own)
    masked = masks.masked_vector(ctx.input, ctx.self_mask_seed, pairwise, own,
                                 config.modulus, session_id)
    return messages.masked_input(session_id, own, packing.pack(masked, config.width))
