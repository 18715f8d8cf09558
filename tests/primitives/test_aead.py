import pytest

from secagg.errors import DecryptionError
from secagg.primitives import aead
from secagg.primitives.randomness import DeterministicRandom

KEY = bytes(range(32))
CONTEXT = dict(session_id=b"s" * 32, sender=3, recipient=5, round_index=1)


def test_round_trip():
    ciphertext = aead.encrypt(KEY, b"share bytes", **CONTEXT)
    assert len(ciphertext) == len(b"share bytes") + aead.OVERHEAD_BYTES
    assert aead.decrypt(KEY, ciphertext, **CONTEXT) == b"share bytes"


def test_fresh_nonce_per_message():
    assert aead.encrypt(KEY, b"x", **CONTEXT) != aead.encrypt(KEY, b"x", **CONTEXT)


def test_deterministic_mode_is_reproducible():
    first = aead.encrypt(KEY, b"x", rng=DeterministicRandom(1), **CONTEXT)
    assert aead.encrypt(KEY, b"x", rng=DeterministicRandom(1), **CONTEXT) == first


def test_tampered_ciphertext_is_rejected():
    ciphertext = bytearray(aead.encrypt(KEY, b"share bytes", **CONTEXT))
    for position in (0, aead.NONCE_BYTES, len(ciphertext) - 1):
        tampered = ciphertext.copy()
        tampered[position] ^= 1
        with pytest.raises(DecryptionError, match="failed authentication"):
            aead.decrypt(KEY, bytes(tampered), **CONTEXT)


@pytest.mark.parametrize("field, value", [
    ("recipient", 6), ("sender", 4), ("session_id", b"t" * 32), ("round_index", 2),
])
def test_wrong_context_is_rejected(field, value):
    ciphertext = aead.encrypt(KEY, b"share bytes", **CONTEXT)
    with pytest.raises(DecryptionError):
        aead.decrypt(KEY, ciphertext, **{**CONTEXT, field: value})


def test_wrong_key_is_rejected():
    ciphertext = aead.encrypt(KEY, b"share bytes", **CONTEXT)
    with pytest.raises(DecryptionError):
        aead.decrypt(bytes(32), ciphertext, **CONTEXT)


def test_short_ciphertext_is_rejected():
    with pytest.raises(DecryptionError, match="shorter than nonce and tag"):
        aead.decrypt(KEY, bytes(20), **CONTEXT)


def test_error_message_has_no_secret():
    ciphertext = aead.encrypt(KEY, b"secret-share", **CONTEXT)
    with pytest.raises(DecryptionError) as info:
        aead.decrypt(bytes(32), ciphertext, **CONTEXT)
    assert "secret-share" not in str(info.value)
    assert KEY.hex() not in str(info.value)
