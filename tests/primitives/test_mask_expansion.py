import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg.primitives import mask_expansion as me
from secagg.primitives.randomness import DeterministicRandom

MODULI = [2, 2**7, 2**8, 2**16, 2**32, 2**33, 2**61, 2**62, 3, 1000, 2**32 - 5, 3 * 2**30, 2**62 - 57]


def make_streams(count, seed=0):
    rng = DeterministicRandom(seed)
    return [me.MaskStream(rng.bytes(32), b"domain-%d" % (i % 3), 1 if i % 2 else -1)
            for i in range(count)]


@pytest.mark.parametrize("modulus", MODULI)
@pytest.mark.parametrize("size", [1, 127, 128, 129, 5000])
def test_matches_reference(modulus, size):
    streams = make_streams(11)
    start = np.random.default_rng(size).integers(0, modulus, size, dtype=np.uint64)
    expected, got = start.copy(), start.copy()
    me.accumulate_reference(expected, streams, modulus)
    me.accumulate(got, streams, modulus, chunk=256)
    assert np.array_equal(got, expected)


@settings(max_examples=30)
@given(st.sampled_from(MODULI), st.integers(1, 3000), st.integers(128, 2048), st.integers(0, 20))
def test_chunk_size_never_changes_result(modulus, size, chunk, count):
    streams = make_streams(count, seed=size)
    first, second = np.zeros(size, np.uint64), np.zeros(size, np.uint64)
    me.accumulate(first, streams, modulus, chunk=chunk)
    me.accumulate(second, streams, modulus, chunk=me.DEFAULT_CHUNK)
    assert np.array_equal(first, second)


@pytest.mark.parametrize("modulus", [2**33, 2**32, 2**32 - 5])
def test_one_and_many_threads_bit_identical(modulus):
    streams = make_streams(20)
    results = []
    saved = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            for parallel in (False, True):
                total = np.zeros(70_001, np.uint64)
                me.accumulate(total, streams, modulus, chunk=4096, parallel=parallel)
                results.append(total)
    finally:
        numba.set_num_threads(saved)
    assert all(np.array_equal(results[0], r) for r in results)


def test_masks_cancel():
    rng = DeterministicRandom(3)
    seed = rng.bytes(32)
    total = np.arange(1000, dtype=np.uint64)
    me.accumulate(total, [me.MaskStream(seed, b"d", 1), me.MaskStream(seed, b"d", -1)], 2**33)
    assert np.array_equal(total, np.arange(1000, dtype=np.uint64))


def test_kernels_match_python_paths():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**63, (3, 500 * 62 // 64 + 2), dtype=np.uint64)
    signs = np.array([1, -1, 1], dtype=np.int8)
    for width in (1, 13, 33, 62):
        a = rng.integers(0, 2**width, 500, dtype=np.uint64)
        b = a.copy()
        me._add_fields_serial(a, words, signs, width)
        me._add_fields_serial.py_func(b, words, signs, width)
        assert np.array_equal(a, b)
    values = rng.integers(0, 1024, 700, dtype=np.uint64)
    for negate in (False, True):
        a = rng.integers(0, 1000, 500, dtype=np.uint64)
        b = a.copy()
        assert me._add_accepted_values(a, 3, values, np.uint64(1000), negate) == \
            me._add_accepted_values.py_func(b, 3, values, np.uint64(1000), negate)
        assert np.array_equal(a, b)


def test_rejects_bad_total():
    with pytest.raises(TypeError, match="uint64"):
        me.accumulate(np.zeros(4, np.int64), make_streams(1), 2**32)


def test_rejects_bad_sign_and_seed():
    with pytest.raises(ValueError, match=r"streams\[0\].sign must be \+1 or -1, got 2"):
        me.accumulate(np.zeros(4, np.uint64), [me.MaskStream(bytes(32), b"", 2)], 2**32)
    with pytest.raises(ValueError, match=r"streams\[0\].seed must be 32 bytes"):
        me.accumulate(np.zeros(4, np.uint64), [me.MaskStream(bytes(16), b"", 1)], 2**32)
