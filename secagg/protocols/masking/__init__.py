"""Pairwise-masking secure aggregation: SecAgg (Bonawitz et al., CCS 2017)
and SecAgg+ (Bell et al., CCS 2020), semi-honest and actively secure.

Client and server are state machines with one module per round under
``client/`` and ``server/``; they exchange bytes in the format of
:mod:`secagg.protocols.masking.messages`.

One step is added to the paper's rounds: ShareKeys ends with share receipts
(``r1_share_receipts``), in which each client names the share ciphertexts it
could not decrypt, and the server withdraws a client whose shares fewer than
``threshold`` clients hold before any masked input is summed. Without it, one
client sending undecryptable shares would make the whole run abort.
"""

from __future__ import annotations

from secagg.primitives.randomness import RandomSource
from secagg.primitives.signatures import SigningKey
from secagg.protocols.masking.client import MaskingClient
from secagg.protocols.masking.config import MaskingConfig, modulus_for
from secagg.protocols.masking.server import MaskingServer

__all__ = ["MaskingClient", "MaskingConfig", "MaskingServer", "make_pki", "modulus_for"]


def make_pki(clients: int, rng: RandomSource | None = None) -> tuple[list[SigningKey], dict[int, bytes]]:
    """Create a simulated PKI: each client's Ed25519 key and the public directory."""
    keys = [SigningKey.generate(rng.child(f"pki/{i}") if rng else None) for i in range(clients)]
    return keys, {i: key.public_bytes for i, key in enumerate(keys)}
