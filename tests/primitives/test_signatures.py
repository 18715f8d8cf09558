import pytest

from secagg.errors import SignatureError
from secagg.primitives import signatures
from secagg.primitives.vectors import load


def test_rfc8032_vector():
    case = load("ed25519_rfc8032")
    key = signatures.SigningKey.from_private_bytes(bytes.fromhex(case["private"]))
    assert key.public_bytes.hex() == case["public"]
    assert key.sign(b"").hex() == case["signature"]


def test_sign_and_verify():
    key = signatures.SigningKey.generate()
    signatures.verify(key.public_bytes, key.sign(b"survivors"), b"survivors")


def test_altered_message_fails():
    key = signatures.SigningKey.generate()
    with pytest.raises(SignatureError, match="verification failed"):
        signatures.verify(key.public_bytes, key.sign(b"survivors"), b"survivorz")


def test_other_key_fails():
    key, other = signatures.SigningKey.generate(), signatures.SigningKey.generate()
    with pytest.raises(SignatureError):
        signatures.verify(other.public_bytes, key.sign(b"m"), b"m")


def test_wrong_length_signature_fails():
    key = signatures.SigningKey.generate()
    with pytest.raises(SignatureError, match="wrong length"):
        signatures.verify(key.public_bytes, key.sign(b"m")[:63], b"m")
