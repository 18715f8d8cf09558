"""Benchmarks of Shamir sharing at the SecAgg scale: one 32-byte secret, n = 1000, t = 500.

Run with ``pytest benchmarks/test_shamir_bench.py --benchmark-only``. Each
benchmark calls its function once before timing, so Numba compilation (or
loading the compiled kernels from the cache) is not measured. Coefficients come
from the default OS-backed random source, as in real use.
"""

from __future__ import annotations

import pytest

from secagg.primitives import shamir

NUM_SHARES = 1000
THRESHOLD = 500
SECRET = bytes(range(32))


@pytest.fixture(scope="module")
def shares():
    return shamir.split(SECRET, THRESHOLD, NUM_SHARES)


def test_split_32_bytes_to_1000(benchmark):
    shamir.split(SECRET, THRESHOLD, NUM_SHARES)

    result = benchmark(shamir.split, SECRET, THRESHOLD, NUM_SHARES)

    assert len(result) == NUM_SHARES


def test_reconstruct_from_500_cached(benchmark, shares):
    chosen = shares[THRESHOLD:]
    shamir.reconstruct(chosen)

    result = benchmark(shamir.reconstruct, chosen)

    assert result == SECRET


def test_reconstruct_from_500_uncached(benchmark, shares):
    """Includes computing the Lagrange coefficients, as for a new set of survivors."""
    chosen = shares[THRESHOLD:]
    shamir.reconstruct(chosen)

    def clear_cache():
        shamir._lagrange_cached.cache_clear()
        return (chosen,), {}

    result = benchmark.pedantic(shamir.reconstruct, setup=clear_cache, rounds=200)

    assert result == SECRET
