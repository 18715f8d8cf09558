"""Sources of randomness for keys, seeds and Shamir coefficients.

Secrets come from the operating system's CSPRNG (:class:`SystemRandom`, the
default everywhere). :class:`DeterministicRandom` replays the same bytes from
a seed so that tests and simulations can be reproduced; it is never chosen
unless a caller passes it explicitly, and it must not protect real data.
"""

from __future__ import annotations

import hashlib
import os
from typing import Protocol

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from secagg._validation import check_bytes, check_int
from secagg.primitives import prg


class RandomSource(Protocol):
    """Interface of a source of randomness, as the primitives use it."""

    deterministic: bool

    def bytes(self, nbytes: int) -> bytes:
        """Return ``nbytes`` random bytes."""

    def uniform(self, modulus: int, count: int) -> np.ndarray:
        """Return ``count`` uniform elements of Z_modulus as uint64."""

    def child(self, label: str) -> "RandomSource":
        """Return an independent source for the party or purpose ``label``."""


class SystemRandom:
    """Randomness from ``os.urandom``. Thread safe."""

    deterministic = False

    def bytes(self, nbytes: int) -> bytes:
        return os.urandom(check_int("nbytes", nbytes, minimum=0))

    def uniform(self, modulus: int, count: int) -> np.ndarray:
        # A fresh OS seed per call, expanded by the PRG's unbiased sampler.
        return prg.expand(os.urandom(prg.SEED_BYTES), count, modulus, b"secagg/uniform")

    def child(self, label: str) -> "SystemRandom":
        return self

    def __repr__(self) -> str:
        return "SystemRandom()"


class DeterministicRandom:
    """A reproducible byte stream for tests and simulations. Not for real secrets.

    The stream is AES-256-CTR keyed by ``SHA-256(b"secagg/deterministic" || seed)``.
    :meth:`child` derives a separate stream per label, so the bytes a party
    draws do not depend on the order in which other parties draw theirs.
    Not thread safe: give each thread its own child.
    """

    deterministic = True

    def __init__(self, seed: int | bytes):
        if isinstance(seed, (bytes, bytearray)):
            material = bytes(seed)
        else:
            seed = check_int("seed", seed, minimum=0, maximum=2**256 - 1)
            material = seed.to_bytes(32, "big")
        self._key = hashlib.sha256(b"secagg/deterministic" + material).digest()
        cipher = Cipher(algorithms.AES(self._key), modes.CTR(bytes(16)))
        self._encryptor = cipher.encryptor()

    def bytes(self, nbytes: int) -> bytes:
        return self._encryptor.update(bytes(check_int("nbytes", nbytes, minimum=0)))

    def uniform(self, modulus: int, count: int) -> np.ndarray:
        return prg.expand(self.bytes(prg.SEED_BYTES), count, modulus, b"secagg/uniform")

    def child(self, label: str) -> "DeterministicRandom":
        return DeterministicRandom(self._key + label.encode("utf-8"))

    def __repr__(self) -> str:
        return "DeterministicRandom(...)"


def resolve(rng: RandomSource | None) -> RandomSource:
    """Return ``rng``, or the OS-backed source when it is None."""
    return SystemRandom() if rng is None else rng


def check_seed(name: str, seed: bytes) -> bytes:
    """Check that ``seed`` is a PRG seed of the right length."""
    return check_bytes(name, seed, length=prg.SEED_BYTES)
