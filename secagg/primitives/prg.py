"""Pseudorandom expansion of a 256-bit seed into a vector over Z_R.

Construction (version 1):

1. The cipher is AES-256 in counter mode from ``cryptography`` (OpenSSL).
   The whole 32-byte seed is the AES key, so seeds that differ in any bit
   give unrelated streams.
2. The initial counter block is the first 16 bytes of
   ``SHA-256(b"secagg/prg/v1" || domain)``. The domain names the session,
   the round and the purpose of the stream (see :func:`mask_domain`), so one
   seed never yields the same stream in two sessions or rounds. OpenSSL
   increments the whole 128-bit block, and two domains' streams overlap only
   with probability about ``blocks / 2**128``.
3. The keystream is read as ``b = ceil(log2 R)``-bit fields, least
   significant bit first (the layout of :mod:`secagg.primitives.packing`).
   A field ``< R`` is the next element; a larger one is skipped. For
   ``R = 2**b`` nothing is skipped; otherwise fewer than half of the fields
   are skipped on average. The output is exactly uniform over Z_R if the
   keystream is uniform.

Limits: ``2 <= R <= 2**62``. A seed is a secret: callers derive it with HKDF
(pairwise masks) or draw it from the OS (self masks). The functions are
thread safe: each call builds its own cipher context.
"""

from __future__ import annotations

import functools
import hashlib

import numba
import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from secagg._validation import check_bytes, check_int
from secagg.primitives.packing import MAX_WIDTH, bit_width, unpack_stream

SEED_BYTES = 32
"""Length of a PRG seed in bytes (an AES-256 key)."""

_IV_LABEL = b"secagg/prg/v1"
_CHUNK_FIELDS = 1 << 16  # fields per keystream chunk; a multiple of 64 keeps chunks byte aligned


@functools.lru_cache(maxsize=64)
def counter_block(domain: bytes) -> bytes:
    """Return the 16-byte initial AES-CTR counter block for ``domain``."""
    return hashlib.sha256(_IV_LABEL + bytes(domain)).digest()[:16]


def mask_domain(session_id: bytes, round_index: int, purpose: str) -> bytes:
    """Encode the domain of a mask stream: session, round and purpose.

    Each field is length-prefixed, so distinct triples never encode alike.
    """
    session_id = check_bytes("session_id", session_id)
    round_index = check_int("round_index", round_index, minimum=0, maximum=2**32 - 1)
    label = purpose.encode("utf-8")
    return (len(session_id).to_bytes(2, "big") + session_id
            + round_index.to_bytes(4, "big")
            + len(label).to_bytes(2, "big") + label)


def keystream(seed: bytes, domain: bytes, nbytes: int) -> bytes:
    """Return the first ``nbytes`` of the raw AES-256-CTR keystream."""
    seed = check_bytes("seed", seed, length=SEED_BYTES)
    nbytes = check_int("nbytes", nbytes, minimum=0)
    encryptor = _encryptor(seed, domain)
    return encryptor.update(bytes(nbytes))


def _encryptor(seed: bytes, domain: bytes):
    return Cipher(algorithms.AES(seed), modes.CTR(counter_block(domain))).encryptor()


@numba.njit(cache=True, nogil=True)
def _keep_below(candidates, modulus, out, filled):
    """Append the candidates below ``modulus`` to ``out``; return the new fill."""
    limit = out.shape[0]
    for i in range(candidates.shape[0]):
        if filled == limit:
            break
        value = candidates[i]
        if value < modulus:
            out[filled] = value
            filled += 1
    return filled


def expand(seed: bytes, count: int, modulus: int, domain: bytes = b"") -> np.ndarray:
    """Expand ``seed`` into ``count`` uniform elements of Z_modulus.

    Returns a ``uint64`` array. See the module docstring for the construction.
    """
    seed = check_bytes("seed", seed, length=SEED_BYTES)
    count = check_int("count", count, minimum=0)
    modulus = check_int("modulus", modulus, minimum=2, maximum=2**MAX_WIDTH)
    domain = check_bytes("domain", domain)
    width = bit_width(modulus)
    encryptor = _encryptor(seed, domain)

    if modulus == 1 << width:
        nbytes = (count * width + 7) // 8
        return unpack_stream(encryptor.update(bytes(nbytes)), width, count)

    out = np.empty(count, dtype=np.uint64)
    filled = 0
    chunk_bytes = _CHUNK_FIELDS * width // 8
    zeros = bytes(chunk_bytes)
    while filled < count:
        candidates = unpack_stream(encryptor.update(zeros), width, _CHUNK_FIELDS)
        filled = _keep_below(candidates, np.uint64(modulus), out, filled)
    return out
