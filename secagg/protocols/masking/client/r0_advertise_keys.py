"""Client round 0, AdvertiseKeys.

Generates the channel and mask X25519 key pairs and sends both public keys,
signed in the active variant. Next state: ShareKeys.
"""

from __future__ import annotations

from secagg.primitives import key_agreement
from secagg.protocols.masking import messages
from secagg.protocols.masking.client.context import ClientContext


def advertise_message(context: bytes, client_id: int, channel: bytes, mask: bytes) -> bytes:
    """Return the bytes a client signs for its round-0 keys."""
    return (b"secagg/advertise/v1" + context + client_id.to_bytes(4, "big") + channel + mask)


def start(ctx: ClientContext) -> bytes:
    """Create the round-0 key pairs and return the ADVERTISE_KEYS message."""
    ctx.channel_keys = key_agreement.generate_key_pair(ctx.rng)
    ctx.mask_keys = key_agreement.generate_key_pair(ctx.rng)
    digest = ctx.config.digest()
    signature = b""
    if ctx.config.active:
        signature = ctx.signing_key.sign(advertise_message(
            digest, ctx.client_id, ctx.channel_keys.public_bytes, ctx.mask_keys.public_bytes))
    keys = messages.AdvertisedKeys(ctx.channel_keys.public_bytes, ctx.mask_keys.public_bytes, signature)
    return messages.advertise_keys(digest, ctx.client_id, keys)
