"""X25519 key agreement and HKDF-SHA256 key derivation.

Each client holds two X25519 key pairs: a channel key pair, whose agreed keys
encrypt secret shares, and a mask key pair, whose agreed keys seed the
pairwise masks. The raw 32-byte X25519 output is never used directly: every
key is derived with HKDF-SHA256 (RFC 5869, empty salt) from it, with the
info string

    b"secagg/kdf/v1" || purpose || session_id || min(id_a, id_b) || max(id_a, id_b)

where each variable field is length-prefixed and party ids are 8-byte
big-endian integers. Ordering the ids makes both parties derive the same key;
the purpose and session id keep keys of different uses and sessions apart.
Keys and outputs are 32 bytes. Private keys come from the given
:class:`~secagg.primitives.randomness.RandomSource` (the OS by default).
The functions are thread safe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from secagg._validation import check_bytes, check_int
from secagg.primitives.randomness import RandomSource, resolve

PUBLIC_KEY_BYTES = 32
PRIVATE_KEY_BYTES = 32
DERIVED_KEY_BYTES = 32
_KDF_LABEL = b"secagg/kdf/v1"


class KeyPurpose(enum.Enum):
    """Purpose of a derived key, which is part of the HKDF info string."""

    MASK_SEED = b"mask-seed"
    CHANNEL_KEY = b"channel-key"


@dataclass(frozen=True)
class KeyPair:
    """An X25519 key pair. ``private_bytes`` is secret."""

    private_bytes: bytes
    public_bytes: bytes
    _private_key: X25519PrivateKey | None = field(default=None, repr=False, compare=False)

    def private_key(self) -> X25519PrivateKey:
        """Return the loaded private key; loading it once saves time in every exchange."""
        if self._private_key is not None:
            return self._private_key
        return X25519PrivateKey.from_private_bytes(self.private_bytes)

    def __repr__(self) -> str:
        return f"KeyPair(public_bytes={self.public_bytes.hex()[:16]}..., private_bytes=<secret>)"


def generate_key_pair(rng: RandomSource | None = None) -> KeyPair:
    """Generate an X25519 key pair from ``rng`` (the OS CSPRNG by default)."""
    private = X25519PrivateKey.from_private_bytes(resolve(rng).bytes(PRIVATE_KEY_BYTES))
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    private_bytes = private.private_bytes(serialization.Encoding.Raw,
                                          serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
    return KeyPair(private_bytes, public, private)


def agree(private_bytes: bytes | KeyPair, peer_public_bytes: bytes) -> bytes:
    """Return the raw 32-byte X25519 shared secret (RFC 7748).

    Raises ValueError if the peer's key is a low-order point, which would
    make the shared secret all zeros.
    """
    if isinstance(private_bytes, KeyPair):
        private = private_bytes.private_key()
    else:
        private_bytes = check_bytes("private_bytes", private_bytes, length=PRIVATE_KEY_BYTES)
        private = X25519PrivateKey.from_private_bytes(private_bytes)
    peer_public_bytes = check_bytes("peer_public_bytes", peer_public_bytes,
                                    length=PUBLIC_KEY_BYTES)
    return _exchange(private, peer_public_bytes, "peer_public_bytes")


def _exchange(private: X25519PrivateKey, public: bytes, name: str) -> bytes:
    """Return the X25519 shared secret; raise ValueError naming ``name`` for a low-order point."""
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError as error:
        raise ValueError(f"{name} is a low-order X25519 point; "
                         "the peer's key must be rejected") from error


def kdf_info(purpose: KeyPurpose, session_id: bytes, id_a: int, id_b: int) -> bytes:
    """Build the HKDF info string described in the module docstring."""
    return _pair_info(_info_prefix(purpose, session_id),
                      check_int("id_a", id_a, minimum=0, maximum=2**64 - 1),
                      check_int("id_b", id_b, minimum=0, maximum=2**64 - 1))


def _info_prefix(purpose: KeyPurpose, session_id: bytes) -> bytes:
    """Return the part of the info string before the party ids."""
    label = purpose.value
    return (_KDF_LABEL + len(label).to_bytes(2, "big") + label
            + len(session_id).to_bytes(2, "big") + session_id)


def _pair_info(prefix: bytes, id_a: int, id_b: int) -> bytes:
    low, high = sorted((id_a, id_b))
    return prefix + low.to_bytes(8, "big") + high.to_bytes(8, "big")


def _hkdf(shared_secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=DERIVED_KEY_BYTES, salt=None,
                info=info).derive(shared_secret)


def _check_purpose(purpose: KeyPurpose) -> None:
    if not isinstance(purpose, KeyPurpose):
        raise TypeError(f"purpose must be a KeyPurpose, got {purpose!r}")


def derive_key(shared_secret: bytes, purpose: KeyPurpose, session_id: bytes,
               id_a: int, id_b: int) -> bytes:
    """Derive a 32-byte key from a raw X25519 shared secret with HKDF-SHA256."""
    shared_secret = check_bytes("shared_secret", shared_secret, length=32)
    session_id = check_bytes("session_id", session_id)
    _check_purpose(purpose)
    return _hkdf(shared_secret, kdf_info(purpose, session_id, id_a, id_b))


def agree_and_derive(private_bytes: bytes | KeyPair, peer_public_bytes: bytes, purpose: KeyPurpose,
                     session_id: bytes, own_id: int, peer_id: int) -> bytes:
    """Run X25519 with a peer and derive the key for ``purpose`` in one call.

    ``private_bytes`` may be a :class:`KeyPair`, which skips reloading the key.
    """
    secret = agree(private_bytes, peer_public_bytes)
    return derive_key(secret, purpose, session_id, own_id, peer_id)


def agree_and_derive_many(key_pair: KeyPair, peers: dict[int, bytes], purpose: KeyPurpose,
                          session_id: bytes, own_id: int) -> dict[int, bytes]:
    """Return the key for ``purpose`` agreed with each peer, by peer id.

    The same keys as :func:`agree_and_derive` for each peer, with the
    arguments checked once, because a client agrees keys with hundreds of peers.
    """
    _check_purpose(purpose)
    prefix = _info_prefix(purpose, check_bytes("session_id", session_id))
    own_id = check_int("own_id", own_id, minimum=0, maximum=2**64 - 1)
    private = key_pair.private_key()
    keys = {}
    for peer, public in peers.items():
        public = check_bytes("peer public key", public, length=PUBLIC_KEY_BYTES)
        secret = _exchange(private, public, f"the key of peer {peer}")
        peer = check_int("peer id", peer, minimum=0, maximum=2**64 - 1)
        keys[peer] = _hkdf(secret, _pair_info(prefix, own_id, peer))
    return keys


def load_private_key(private_bytes: bytes) -> X25519PrivateKey:
    """Load a 32-byte X25519 private key once, for many exchanges."""
    return X25519PrivateKey.from_private_bytes(check_bytes("private_bytes", private_bytes,
                                                           length=PRIVATE_KEY_BYTES))


def public_from_private(private_bytes: bytes) -> bytes:
    """Return the X25519 public key of a 32-byte private key."""
    private_bytes = check_bytes("private_bytes", private_bytes, length=PRIVATE_KEY_BYTES)
    return X25519PrivateKey.from_private_bytes(private_bytes).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
