import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from secagg.primitives.encoding import FixedPointEncoder, Rounding


@pytest.mark.parametrize("clients", [1, 2, 3, 4, 50])
@pytest.mark.parametrize("rounding", list(Rounding))
def test_decode_sum_within_n_steps(clients, rounding):
    encoder = FixedPointEncoder.create(clip=2.0, bits=16, modulus=2**32, clients=clients, rounding=rounding)
    rng = np.random.default_rng(clients)
    inputs = rng.uniform(-2, 2, size=(clients, 257))
    total = np.zeros(257, dtype=np.uint64)
    for row in inputs:
        levels, report = encoder.encode(row, rng)
        assert report.clipped == 0
        total = (total + levels) % encoder.modulus
    decoded = encoder.decode_sum(total, clients)
    assert np.max(np.abs(decoded - inputs.sum(axis=0))) <= clients * encoder.step


@given(st.integers(1, 20), st.integers(1, 30), st.floats(0.01, 100), st.integers(0, 2**32))
def test_decode_sum_property(clients, bits, clip, seed):
    modulus = 2 ** min(62, bits + clients.bit_length() + 1)
    encoder = FixedPointEncoder.create(clip, bits, modulus, clients)
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-clip, clip, size=(clients, 9))
    total = sum(encoder.encode(row, rng)[0] for row in inputs) % modulus
    error = np.abs(encoder.decode_sum(total, clients) - inputs.sum(axis=0))
    assert np.all(error <= clients * encoder.step * (1 + 1e-9) + 1e-9 * clip * clients)


def test_extremes_encode_to_end_levels():
    encoder = FixedPointEncoder.create(1.0, 8, 2**16, 4, rounding="nearest")
    levels, _ = encoder.encode(np.array([-1.0, 1.0, 0.0]))
    assert levels.tolist() == [0, 255, 128]


def test_stochastic_rounding_is_unbiased():
    encoder = FixedPointEncoder.create(1.0, 4, 2**16, 1)
    value = np.full(200_000, 0.3)
    levels, _ = encoder.encode(value, np.random.default_rng(0))
    mean = encoder.decode_sum(np.array([levels.mean()]), 1)[0]
    assert abs(mean - 0.3) < 0.002


def test_clipping_is_counted():
    encoder = FixedPointEncoder.create(1.0, 8, 2**16, 4)
    levels, report = encoder.encode(np.array([5.0, -3.0, 0.5]))
    assert report.clipped == 2
    assert levels[0] == 255
    assert levels[1] == 0


def test_strict_mode_raises_on_clipping():
    encoder = FixedPointEncoder.create(1.0, 8, 2**16, 4, strict=True)
    with pytest.raises(ValueError, match=r"values\[1\] = 5.0 is outside the clipping range"):
        encoder.encode(np.array([0.0, 5.0]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_raises_with_index(bad):
    encoder = FixedPointEncoder.create(1.0, 8, 2**16, 4)
    with pytest.raises(ValueError, match=r"values\[2\] is (nan|inf|-inf)"):
        encoder.encode(np.array([0.0, 0.1, bad, 0.2]))


def test_wrapping_configuration_is_rejected():
    with pytest.raises(ValueError, match=r"sum of 300 inputs of 24 bits .* wraps modulo R = 4294967296"):
        FixedPointEncoder.create(1.0, 24, 2**32, 300)


@pytest.mark.parametrize("clip", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_clip_is_rejected(clip):
    with pytest.raises(ValueError, match="clip must be a finite number > 0"):
        FixedPointEncoder.create(clip, 8, 2**16, 4)


def test_decode_rejects_more_clients_than_configured():
    encoder = FixedPointEncoder.create(1.0, 8, 2**16, 4)
    with pytest.raises(ValueError, match="count must be between 1 and 4, got 5"):
        encoder.decode_sum(np.zeros(3, np.uint64), 5)


def test_decode_rejects_impossible_total():
    encoder = FixedPointEncoder.create(1.0, 8, 2**16, 4)
    with pytest.raises(ValueError, match="not a sum of 2 encoded vectors"):
        encoder.decode_sum(np.array([600], np.uint64), 2)
