"""Throughput of the raw AES-256-CTR keystream and of mask expansion into Z_R."""

from __future__ import annotations

import os
import time

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from secagg.primitives import mask_expansion
from secagg.primitives.packing import bit_width

CHUNK_BYTES = 256 * 1024


def keystream_throughput(seconds: float = 0.5) -> float:
    """Return bytes/s of raw AES-256-CTR writing 256 KiB chunks into one reused buffer."""
    encryptor = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(bytes(16))).encryptor()
    zeros = memoryview(bytes(CHUNK_BYTES))
    buffer = bytearray(CHUNK_BYTES + 15)
    encryptor.update_into(zeros, buffer)
    produced, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        encryptor.update_into(zeros, buffer)
        produced += CHUNK_BYTES
    return produced / (time.perf_counter() - start)


def expansion_throughput(modulus: int, streams: int = 100, dim: int = 100_000,
                         repeats: int = 3) -> dict:
    """Return the best of ``repeats`` runs of :func:`mask_expansion.accumulate`.

    Throughput counts Z_R output bytes at ceil(log2 R) bits per element, the
    size the elements take packed.
    """
    batch = [mask_expansion.MaskStream(os.urandom(32), b"bench", 1) for _ in range(streams)]
    total = np.zeros(dim, dtype=np.uint64)
    mask_expansion.accumulate(total, batch, modulus)  # loads the kernels and scratch memory
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        mask_expansion.accumulate(total, batch, modulus)
        best = min(best, time.perf_counter() - start)
    elements = streams * dim
    return {"modulus": modulus, "width": bit_width(modulus), "elements": elements,
            "seconds": best, "elements_per_s": elements / best,
            "output_bytes_per_s": elements * bit_width(modulus) / 8 / best}


def x25519_exchange_seconds(count: int = 2000) -> float:
    """Return the mean seconds of one X25519 exchange with an already loaded key."""
    private = X25519PrivateKey.generate()
    peers = [X25519PrivateKey.generate().public_key() for _ in range(64)]
    start = time.perf_counter()
    for i in range(count):
        private.exchange(peers[i % 64])
    return (time.perf_counter() - start) / count


def cold_and_warm_kernel_seconds() -> dict:
    """Time the first mask expansion in fresh processes: cache empty, then cache filled."""
    import subprocess
    import sys
    import tempfile

    code = ("import time; t = time.perf_counter();"
            "import numpy as np; from secagg.primitives import mask_expansion as me;"
            "s = [me.MaskStream(bytes(32), b'd', 1)];"
            "[me.accumulate(np.zeros(1000, np.uint64), s, m) for m in (2**32, 2**33, 1000)];"
            "first = time.perf_counter() - t; t = time.perf_counter();"
            "[me.accumulate(np.zeros(1000, np.uint64), s, m) for m in (2**32, 2**33, 1000)];"
            "print(first, time.perf_counter() - t)")
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold_cache", "warm_cache"):
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True).stdout.split()
            results[label] = {"first_call_s": float(out[0]), "steady_call_s": float(out[1])}
    return results


def shamir_seconds(parties: int = 1000, threshold: int = 500, repeats: int = 20) -> dict:
    """Return the best split and reconstruct times for one 32-byte secret."""
    from secagg.primitives import shamir

    secret = os.urandom(32)
    shares = shamir.split(secret, threshold, parties)
    shamir.reconstruct(shares[:threshold])
    split_s = reconstruct_s = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        shares = shamir.split(secret, threshold, parties)
        split_s = min(split_s, time.perf_counter() - start)
        start = time.perf_counter()
        assert shamir.reconstruct(shares[-threshold:]) == secret
        reconstruct_s = min(reconstruct_s, time.perf_counter() - start)
    return {"parties": parties, "threshold": threshold, "split_s": split_s,
            "reconstruct_s": reconstruct_s}
