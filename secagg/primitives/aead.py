"""Authenticated encryption of secret shares with AES-256-GCM.

A ciphertext is ``nonce (12 bytes) || AES-GCM output (plaintext length + 16-byte tag)``.
The nonce is drawn fresh for every message from the given random source (the
OS by default); with 96-bit random nonces one key may encrypt up to 2**32
messages before the collision risk matters, far above a round's needs.
The associated data binds the message to its context:

    b"secagg/aead/v1" || session_id (length-prefixed) || sender || recipient || round

with ids as 8-byte and the round as 4-byte big-endian integers. Decrypting
with any other sender, recipient, session or round fails. Keys are 32 bytes.
Thread safe.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from secagg._validation import check_bytes, check_int
from secagg.errors import DecryptionError
from secagg.primitives.randomness import RandomSource, resolve

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES
"""Bytes a ciphertext adds to its plaintext."""

_AD_LABEL = b"secagg/aead/v1"


def associated_data(session_id: bytes, sender: int, recipient: int, round_index: int) -> bytes:
    """Build the associated data described in the module docstring."""
    session_id = check_bytes("session_id", session_id)
    sender = check_int("sender", sender, minimum=0, maximum=2**64 - 1)
    recipient = check_int("recipient", recipient, minimum=0, maximum=2**64 - 1)
    round_index = check_int("round_index", round_index, minimum=0, maximum=2**32 - 1)
    return (_AD_LABEL + len(session_id).to_bytes(2, "big") + session_id
            + sender.to_bytes(8, "big") + recipient.to_bytes(8, "big")
            + round_index.to_bytes(4, "big"))


def encrypt(key: bytes, plaintext: bytes, *, session_id: bytes, sender: int,
            recipient: int, round_index: int, rng: RandomSource | None = None) -> bytes:
    """Encrypt ``plaintext`` for ``recipient``; returns nonce || ciphertext || tag."""
    key = check_bytes("key", key, length=KEY_BYTES)
    plaintext = check_bytes("plaintext", plaintext)
    aad = associated_data(session_id, sender, recipient, round_index)
    nonce = resolve(rng).bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, ciphertext: bytes, *, session_id: bytes, sender: int,
            recipient: int, round_index: int) -> bytes:
    """Decrypt and verify a ciphertext made by :func:`encrypt`.

    Raises DecryptionError, with no detail about the secret, if the
    ciphertext is too short, was altered, or was made under another key,
    sender, recipient, session or round.
    """
    key = check_bytes("key", key, length=KEY_BYTES)
    ciphertext = check_bytes("ciphertext", ciphertext)
    aad = associated_data(session_id, sender, recipient, round_index)
    if len(ciphertext) < OVERHEAD_BYTES:
        raise DecryptionError("ciphertext is shorter than nonce and tag")
    nonce, body = ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError("ciphertext failed authentication") from None
