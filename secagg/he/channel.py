"""The simulated authenticated channel that carries the secret context from the key holder to each client.

Every party (the clients, and the key authority when there is one) has a
static X25519 key pair. Its public key is registered in a directory before
the run, the same assumption as the PKI of the actively secure SecAgg
variant. The key holder and a client derive their channel key from X25519
and HKDF-SHA256 (:mod:`secagg.primitives.key_agreement`, purpose
CHANNEL_KEY, session id = the configuration digest), and the secret context
travels in AES-256-GCM (:mod:`secagg.primitives.aead`) bound to sender,
recipient, session and round 0. The server relays the ciphertext and
cannot read or alter it undetected, and it cannot substitute a key because
both public keys come from the directory.
"""

from __future__ import annotations

from secagg.he.config import CkksConfig
from secagg.primitives import aead, key_agreement
from secagg.primitives.key_agreement import KeyPair, KeyPurpose
from secagg.primitives.randomness import RandomSource
from secagg.protocols.base import Round


def make_channel_keys(config: CkksConfig, rng: RandomSource | None = None
                      ) -> tuple[dict[int, KeyPair], dict[int, bytes]]:
    """Create every party's channel key pair and the public directory, both by party id.

    Parties are the clients ``0 .. clients - 1`` and, when the key holder is
    the authority, the authority's id ``clients``.
    """
    parties = range(config.clients + (1 if config.authority else 0))
    keys = {party: key_agreement.generate_key_pair(rng.child(f"channel/{party}") if rng else None)
            for party in parties}
    return keys, {party: pair.public_bytes for party, pair in keys.items()}


def seal(config: CkksConfig, keys: KeyPair, directory: dict[int, bytes], sender: int,
         recipient: int, plaintext: bytes, rng: RandomSource | None = None) -> bytes:
    """Encrypt ``plaintext`` from ``sender`` to ``recipient`` under their channel key."""
    digest = config.digest()
    key = key_agreement.agree_and_derive(keys, directory[recipient], KeyPurpose.CHANNEL_KEY,
                                         digest, sender, recipient)
    return aead.encrypt(key, plaintext, session_id=digest, sender=sender, recipient=recipient,
                        round_index=int(Round.ADVERTISE_KEYS), rng=rng)


def open_sealed(config: CkksConfig, keys: KeyPair, directory: dict[int, bytes], sender: int,
                recipient: int, ciphertext: bytes) -> bytes:
    """Decrypt what :func:`seal` produced. Raises DecryptionError if it was altered or misaddressed."""
    digest = config.digest()
    key = key_agreement.agree_and_derive(keys, directory[sender], KeyPurpose.CHANNEL_KEY,
                                         digest, recipient, sender)
    return aead.decrypt(key, ciphertext, session_id=digest, sender=sender, recipient=recipient,
                        round_index=int(Round.ADVERTISE_KEYS))
