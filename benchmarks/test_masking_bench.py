"""Mask expansion against the raw cipher, and whole protocol runs.

The sizes here are small enough for a laptop; `secagg bench` runs the
published settings (n = 500 and 1,000, m = 100,000).
"""

import os

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from secagg.primitives import mask_expansion
from secagg.simulation import RunSpec, run

DIM = 100_000
STREAMS = 50


@pytest.fixture(scope="module")
def streams():
    return [mask_expansion.MaskStream(os.urandom(32), b"bench", 1) for _ in range(STREAMS)]


def test_raw_keystream(benchmark):
    encryptor = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(bytes(16))).encryptor()
    zeros = memoryview(bytes(256 * 1024))
    buffer = bytearray(256 * 1024 + 15)

    def produce():
        for _ in range(STREAMS * DIM * 4 // (256 * 1024)):
            encryptor.update_into(zeros, buffer)

    benchmark(produce)


@pytest.mark.parametrize("modulus", [2**32, 2**33, 2**32 - 5])
def test_mask_expansion(benchmark, streams, modulus):
    total = np.zeros(DIM, dtype=np.uint64)
    mask_expansion.accumulate(total, streams, modulus)
    benchmark(mask_expansion.accumulate, total, streams, modulus)


@pytest.mark.parametrize("protocol", ["secagg", "secagg+"])
def test_protocol_run(benchmark, protocol):
    spec = RunSpec(protocol, 100, 20_000, 24, dropout_rate=0.1, drop_stage=2, seed=1)
    outcome = benchmark.pedantic(run, args=(spec,), rounds=1, iterations=1)
    assert outcome.correct
