"""Client round 2, MaskedInputCollection.

Accepts: FORWARDED_SHARES, the share ciphertexts of the neighbours that
survived round 1. Decrypts and stores each. A ciphertext that fails to
decrypt or names the wrong parties is recorded, and that neighbour's shares
are not held. Its pairwise mask is still applied, because the server counts
it as a round-1 survivor. Then computes

    y_u = x_u + PRG(b_u) + sum_{v > u} PRG(s_uv) - sum_{v < u} PRG(s_uv)   (mod R)

over those neighbours, with s_uv derived from the mask keys by X25519 and
HKDF. Sends: MASKED_INPUT, packed at ceil(log2 R) bits. Next state:
ConsistencyCheck (active variant) or Unmasking.
"""

from __future__ import annotations

from secagg.errors import DecryptionError, WireFormatError
from secagg.primitives import aead, key_agreement, packing
from secagg.primitives.key_agreement import KeyPurpose
from secagg.protocols.base import Round
from secagg.protocols.masking import masks, messages
from secagg.protocols.masking.client.context import ClientAbort, ClientContext
from secagg.protocols.wire import MessageType


def handle(ctx: ClientContext, data: bytes) -> bytes:
    """Process FORWARDED_SHARES; return MASKED_INPUT."""
    config, own, session_id = ctx.config, ctx.client_id, ctx.session_id
    ciphertexts = messages.parse_id_blob_list(data, MessageType.FORWARDED_SHARES, session_id)
    unknown = sorted(set(ciphertexts) - set(ctx.peers))
    if unknown:
        raise ClientAbort(f"the server forwarded shares from non-neighbours {unknown[:5]}")
    if len(ciphertexts) + 1 < config.threshold:
        raise ClientAbort(f"only {len(ciphertexts) + 1} clients survived round 1 in this "
                          f"neighbourhood, below the threshold {config.threshold}")

    for sender, ciphertext in ciphertexts.items():
        _store_share(ctx, sender, ciphertext)
    ctx.share_senders = sorted(set(ciphertexts) | {own})

    pairwise = {}
    for other in ciphertexts:
        pairwise[other] = key_agreement.agree_and_derive(
            ctx.mask_keys, ctx.peers[other].mask, KeyPurpose.MASK_SEED,
            session_id, own, other)
    masked = masks.masked_vector(ctx.input, ctx.self_mask_seed, pairwise, own,
                                 config.modulus, session_id)
    return messages.masked_input(session_id, own, packing.pack(masked, config.width))


def _store_share(ctx: ClientContext, sender: int, ciphertext: bytes) -> None:
    own = ctx.client_id
    key = ctx.channel_secrets.get(sender)
    if key is None:
        key = key_agreement.agree_and_derive(ctx.channel_keys, ctx.peers[sender].channel,
                                             KeyPurpose.CHANNEL_KEY, ctx.session_id, own, sender)
    try:
        plaintext = aead.decrypt(key, ciphertext, session_id=ctx.session_id, sender=sender,
                                 recipient=own, round_index=int(Round.SHARE_KEYS))
        claimed_sender, claimed_recipient, seed_share, key_share = \
            messages.parse_share_plaintext(plaintext)
    except (DecryptionError, WireFormatError) as error:
        ctx.misbehaving[sender] = f"share ciphertext rejected: {error}"
        return
    if (claimed_sender, claimed_recipient) != (sender, own):
        ctx.misbehaving[sender] = "share ciphertext names other parties"
        return
    ctx.held_shares[sender] = (seed_share, key_share)
