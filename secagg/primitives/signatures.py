"""Ed25519 signatures (RFC 8032) for the actively secure protocol variant.

Clients sign their round-0 public keys and the list of round-2 survivors.
Keys are 32 bytes and signatures 64 bytes. Thread safe.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from secagg._validation import check_bytes
from secagg.errors import SignatureError
from secagg.primitives.randomness import RandomSource, resolve

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key with its public key. ``private_bytes`` is secret."""

    private_bytes: bytes
    public_bytes: bytes

    @classmethod
    def generate(cls, rng: RandomSource | None = None) -> "SigningKey":
        """Generate a key from ``rng`` (the OS CSPRNG by default)."""
        return cls.from_private_bytes(resolve(rng).bytes(32))

    @classmethod
    def from_private_bytes(cls, private_bytes: bytes) -> "SigningKey":
        """Load a 32-byte Ed25519 seed."""
        private_bytes = check_bytes("private_bytes", private_bytes, length=32)
        key = Ed25519PrivateKey.from_private_bytes(private_bytes)
        public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
        return cls(private_bytes, public)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte signature of ``message``."""
        key = Ed25519PrivateKey.from_private_bytes(self.private_bytes)
        return key.sign(check_bytes("message", message))

    def __repr__(self) -> str:
        return f"SigningKey(public_bytes={self.public_bytes.hex()[:16]}..., private_bytes=<secret>)"


def verify(public_bytes: bytes, signature: bytes, message: bytes) -> None:
    """Verify ``signature`` on ``message``; raise SignatureError if it is invalid."""
    public_bytes = check_bytes("public_bytes", public_bytes, length=PUBLIC_KEY_BYTES)
    signature = check_bytes("signature", signature)
    message = check_bytes("message", message)
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError("signature has the wrong length")
    try:
        Ed25519PublicKey.from_public_bytes(public_bytes).verify(signature, message)
    except InvalidSignature:
        raise SignatureError("signature verification failed") from None
