"""Client round 1, second step: share receipts.

Accepts: FORWARDED_SHARES, the share ciphertexts of the neighbours that
survived round 1. Decrypts and stores each. A ciphertext that fails to
decrypt or names the wrong parties is recorded in ``misbehaving``, and its
sender's shares are not held. Sends: SHARE_RECEIPT, the ids of those
senders, so that the server can withdraw a client whose shares fewer than
``threshold`` clients hold before any masked input is summed. Next state:
MaskedInputCollection.
"""

from __future__ import annotations

from secagg.errors import DecryptionError, WireFormatError
from secagg.primitives import aead
from secagg.protocols.base import Round
from secagg.protocols.masking import messages
from secagg.protocols.masking.client.context import ClientAbort, ClientContext
from secagg.protocols.wire import MessageType


def handle(ctx: ClientContext, data: bytes) -> bytes:
    """Process FORWARDED_SHARES; return SHARE_RECEIPT."""
    config, own = ctx.config, ctx.client_id
    ciphertexts = messages.parse_id_blob_list(data, MessageType.FORWARDED_SHARES, ctx.session_id)
    unknown = sorted(set(ciphertexts) - set(ctx.peers))
    if unknown:
        raise ClientAbort(f"the server forwarded shares from non-neighbours {unknown[:5]}")
    if len(ciphertexts) + 1 < config.threshold:
        raise ClientAbort(f"only {len(ciphertexts) + 1} clients survived round 1 in this "
                          f"neighbourhood, below the threshold {config.threshold}")

    for sender, ciphertext in ciphertexts.items():
        _store_share(ctx, sender, ciphertext)
    ctx.forwarded = sorted(ciphertexts)
    return messages.id_list(MessageType.SHARE_RECEIPT, ctx.session_id, own, sorted(ctx.misbehaving))


def _store_share(ctx: ClientContext, sender: int, ciphertext: bytes) -> None:
    own = ctx.client_id
    try:
        # ShareKeys agreed a channel key with every peer, and only peers' shares get here.
        plaintext = aead.decrypt(ctx.channel_secrets[sender], ciphertext, session_id=ctx.session_id, sender=sender,
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
