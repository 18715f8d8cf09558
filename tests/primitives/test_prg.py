import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from secagg.primitives import prg
from secagg.primitives.vectors import load

SEED = bytes(range(32))


def openssl_keystream(key, block, nbytes):
    return Cipher(algorithms.AES(key), modes.CTR(block)).encryptor().update(bytes(nbytes))


def test_expand_known_answers():
    for case in load("prg_v1")["cases"]:
        got = prg.expand(bytes.fromhex(case["seed"]), 40, case["modulus"], bytes.fromhex(case["domain"]))
        assert got.tolist() == case["elements"], case["modulus"]


def test_keystream_is_raw_openssl_aes256_ctr():
    domain = prg.mask_domain(b"session", 2, "self-mask")
    expected = openssl_keystream(SEED, prg.counter_block(domain), 1000)
    assert prg.keystream(SEED, domain, 1000) == expected


def test_expand_power_of_two_reads_keystream_as_32_bit_words():
    domain = b"d"
    stream = openssl_keystream(SEED, prg.counter_block(domain), 4 * 64)
    words = np.frombuffer(stream, dtype="<u4").astype(np.uint64)
    assert np.array_equal(prg.expand(SEED, 64, 2**32, domain), words)


def test_expand_non_power_of_two_skips_fields_at_or_above_modulus():
    modulus = 2**16 + 1  # 17-bit fields, about half skipped
    domain = b"d"
    stream = int.from_bytes(openssl_keystream(SEED, prg.counter_block(domain), 17 * 500), "little")
    fields = [(stream >> (17 * i)) & (2**17 - 1) for i in range(4000)]
    expected = [f for f in fields if f < modulus][:300]
    assert prg.expand(SEED, 300, modulus, domain).tolist() == expected


@given(st.integers(2, 2**62), st.integers(0, 300))
def test_expand_output_is_below_modulus(modulus, count):
    out = prg.expand(SEED, count, modulus, b"x")
    assert out.shape == (count,)
    assert out.dtype == np.uint64
    assert all(int(v) < modulus for v in out)


def test_expand_is_a_prefix_for_longer_counts():
    long = prg.expand(SEED, 200_000, 1000, b"x")
    assert np.array_equal(prg.expand(SEED, 70_000, 1000, b"x"), long[:70_000])


def test_seeds_differing_in_last_byte_give_unrelated_streams():
    other = SEED[:-1] + bytes([SEED[-1] ^ 1])
    a = prg.expand(SEED, 1000, 2**32, b"x")
    b = prg.expand(other, 1000, 2**32, b"x")
    assert np.count_nonzero(a == b) < 5


def test_rounds_and_sessions_give_different_streams():
    domains = [prg.mask_domain(s, r, "pairwise") for s in (b"s1", b"s2") for r in (0, 1)]
    streams = {prg.expand(SEED, 8, 2**62, d).tobytes() for d in domains}
    assert len(streams) == 4


def test_mask_domain_is_unambiguous():
    assert prg.mask_domain(b"ab", 1, "c") != prg.mask_domain(b"a", 1, "bc")


def test_expand_is_roughly_uniform():
    modulus = 10
    counts = np.bincount(prg.expand(SEED, 100_000, modulus, b"u").astype(np.int64), minlength=modulus)
    expected = 10_000
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 40  # 9 degrees of freedom: p < 1e-5 for a correct generator


def test_keep_below_kernel_matches_python_path():
    candidates = np.random.default_rng(1).integers(0, 2**20, 5000, dtype=np.uint64)
    out, out_py = np.zeros(3000, np.uint64), np.zeros(3000, np.uint64)
    assert prg._keep_below(candidates, np.uint64(700_000), out, 0) == \
        prg._keep_below.py_func(candidates, np.uint64(700_000), out_py, 0)
    assert np.array_equal(out, out_py)


@pytest.mark.parametrize("seed, match", [
    (bytes(31), "seed must be 32 bytes long, got 31"),
    ("x" * 32, "seed must be bytes"),
])
def test_expand_rejects_bad_seed(seed, match):
    with pytest.raises((ValueError, TypeError), match=match):
        prg.expand(seed, 4, 2**32)


def test_expand_rejects_modulus_out_of_range():
    with pytest.raises(ValueError, match="modulus must be between 2 and 4611686018427387904"):
        prg.expand(SEED, 4, 2**62 + 1)
    with pytest.raises(ValueError, match="modulus must be between 2"):
        prg.expand(SEED, 4, 1)
