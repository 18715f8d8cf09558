from collections import OrderedDict

import numpy as np
import pytest
import torch

from secagg.fl import QuantizationSettings, aggregate
from secagg.simulation import PROTOCOLS

QUANTIZATION = QuantizationSettings(clip=4.0, bits=24)


def client_state_dicts(clients: int) -> list[OrderedDict]:
    generator = torch.Generator().manual_seed(0)
    return [OrderedDict([("fc.weight", torch.randn(3, 4, generator=generator)),
                         ("fc.bias", torch.randn(3, generator=generator, dtype=torch.float64))])
            for _ in range(clients)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_numpy_sum_round_trip(protocol):
    updates = [np.random.default_rng(i).uniform(-1, 1, size=(2, 5)).astype(np.float32)
               for i in range(4)]

    outcome = aggregate(updates, QUANTIZATION, protocol=protocol, seed=1)

    assert not outcome.aborted
    assert outcome.included == [0, 1, 2, 3]
    assert isinstance(outcome.aggregate, np.ndarray)
    assert outcome.aggregate.shape == (2, 5)
    assert outcome.aggregate.dtype == np.float32
    expected = np.sum([u.astype(np.float64) for u in updates], axis=0)
    assert np.abs(outcome.aggregate - expected).max() <= outcome.error_bound + 1e-6
    assert outcome.bytes_total > 0
    assert outcome.seconds_total > 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_state_dict_mean_round_trip(protocol):
    updates = client_state_dicts(3)

    outcome = aggregate(updates, QUANTIZATION, protocol=protocol, reduction="mean", seed=2)

    result = outcome.aggregate
    assert isinstance(result, OrderedDict)
    assert list(result) == ["fc.weight", "fc.bias"]
    for name in result:
        assert result[name].shape == updates[0][name].shape
        assert result[name].dtype == updates[0][name].dtype
        expected = torch.stack([u[name].double() for u in updates]).mean(dim=0)
        assert (result[name].double() - expected).abs().max() <= outcome.error_bound + 1e-6


def test_torch_tensor_round_trip():
    updates = [torch.full((2, 2), float(i), dtype=torch.float64) for i in range(3)]

    outcome = aggregate(updates, QUANTIZATION, seed=3)

    assert isinstance(outcome.aggregate, torch.Tensor)
    assert outcome.aggregate.dtype == torch.float64
    assert torch.allclose(outcome.aggregate, torch.full((2, 2), 3.0, dtype=torch.float64),
                          atol=outcome.error_bound)


def test_client_key_order_may_differ():
    first = OrderedDict(a=np.zeros(2), b=np.ones(3))
    second = OrderedDict(b=np.ones(3), a=np.ones(2))

    outcome = aggregate([first, second], QUANTIZATION, protocol="plaintext", seed=0)

    assert list(outcome.aggregate) == ["a", "b"]
    np.testing.assert_allclose(outcome.aggregate["a"], [1, 1], atol=outcome.error_bound)
    np.testing.assert_allclose(outcome.aggregate["b"], [2, 2, 2], atol=outcome.error_bound)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_weighted_mean(protocol):
    updates = [np.full(6, float(value)) for value in (1, 2, 3)]

    outcome = aggregate(updates, QUANTIZATION, protocol=protocol, weights=[1, 2, 3],
                        reduction="mean", seed=4)

    assert outcome.weight_total == 6
    assert outcome.error_bound <= 3 * QUANTIZATION.step * 3
    assert np.abs(outcome.aggregate - 14 / 6).max() <= outcome.error_bound


def test_weighted_sum():
    updates = [np.full(6, float(value)) for value in (1, 2, 3)]

    outcome = aggregate(updates, QUANTIZATION, weights=np.array([10.0, 20.0, 30.0]), seed=5)

    assert np.abs(outcome.aggregate - 140.0).max() <= outcome.error_bound


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_dropout_leaves_the_denominator(protocol):
    updates = [np.full(4, float(value)) for value in (1, 2, 3, 4, 5)]

    outcome = aggregate(updates, QUANTIZATION, protocol=protocol, weights=[1, 2, 3, 4, 5],
                        reduction="mean", drop_clients=[4], seed=6)

    assert outcome.included == [0, 1, 2, 3]
    assert outcome.weight_total == 10
    expected = (1 * 1 + 2 * 2 + 3 * 3 + 4 * 4) / 10
    assert np.abs(outcome.aggregate - expected).max() <= outcome.error_bound


def test_aborted_run_returns_no_aggregate():
    updates = [np.ones(3) for _ in range(5)]

    outcome = aggregate(updates, QUANTIZATION, protocol="secagg", drop_clients=[0, 1, 2, 3], seed=7)

    assert outcome.aborted
    assert outcome.aggregate is None
    assert outcome.included == []
    assert outcome.abort_reason.startswith("TOO_FEW_CLIENTS")
    assert outcome.to_json_dict()["aborted"] is True


def test_values_beyond_clip_are_counted():
    updates = [{"w": np.array([5.0, 1.0]), "b": np.array([0.0])},
               {"w": np.array([-9.0, 1.0]), "b": np.array([4.5])}]

    outcome = aggregate(updates, QUANTIZATION, protocol="plaintext", seed=8)

    assert outcome.clipped == {0: {"w": 1}, 1: {"w": 1, "b": 1}}
    assert outcome.clipped_total == 3
    np.testing.assert_allclose(outcome.aggregate["w"], [0.0, 2.0], atol=outcome.error_bound)
    np.testing.assert_allclose(outcome.aggregate["b"], [4.0], atol=outcome.error_bound)


def test_strict_quantization_rejects_values_beyond_clip():
    strict = QuantizationSettings(clip=1.0, strict=True)
    updates = [{"w": np.zeros(3)}, {"w": np.array([0.0, 0.0, -2.5])}]

    with pytest.raises(ValueError, match=r"client 1, tensor 'w': element \(2,\) = -2.5 is outside"):
        aggregate(updates, strict)


def test_caller_updates_are_not_modified():
    update = np.array([9.0, -9.0])

    aggregate([update, np.zeros(2)], QUANTIZATION, protocol="plaintext", seed=0)

    np.testing.assert_array_equal(update, [9.0, -9.0])


@pytest.mark.parametrize("updates, error, message", [
    ([np.ones(3), np.ones(4)], ValueError,
     r"client 1, tensor 'update' has shape \(4,\), but client 0's has shape \(3,\)"),
    ([np.ones(3), np.ones(3, dtype=np.float32)], TypeError,
     "client 1, tensor 'update' has dtype numpy float32, but client 0's has numpy float64"),
    ([{"w": torch.ones(2)}, {"w": torch.ones(2, dtype=torch.float16)}], TypeError,
     "client 1, tensor 'w' has dtype torch.float16, but client 0's has torch.float32"),
    ([{"w": torch.ones(2)}, {"w": np.ones(2, dtype=np.float32)}], TypeError,
     "client 1, tensor 'w' has dtype numpy float32, but client 0's has torch.float32"),
    ([{"w": np.ones(2)}, {"w": np.ones(2)}, {"w": np.ones((2, 1))}], ValueError,
     r"client 2, tensor 'w' has shape \(2, 1\)"),
    ([{"w": np.ones(2)}, {"v": np.ones(2)}], ValueError, "client 1's update has no tensor 'w'"),
    ([{"w": np.ones(2)}, {"w": np.ones(2), "v": np.ones(1)}], ValueError,
     "client 1's update has a tensor 'v' that client 0's lacks"),
    ([{"w": np.ones(2)}, [np.ones(2)]], TypeError,
     "client 1's update is a list, but client 0's is a dict"),
    ([{"w": np.ones(2)}, {}], ValueError, "client 1's update is empty"),
    ([np.zeros(0), np.zeros(0)], ValueError, "client 0's update is empty"),
    ([[], []], ValueError, "client 0's update is empty"),
    ([{"w": np.ones(2)}, {"w": np.array([1.0, np.nan])}], ValueError,
     r"client 1, tensor 'w': element \(1,\) is nan"),
    ([{"w": torch.ones(2, 2)}, {"w": torch.tensor([[1.0, 1.0], [float("-inf"), 0.0]])}], ValueError,
     r"client 1, tensor 'w': element \(1, 0\) is -inf"),
    ([np.array([np.inf]), np.ones(1)], ValueError, r"client 0, tensor 'update': element \(0,\) is inf"),
    ([np.ones(2)], ValueError, "at least 2 clients' updates, got 1"),
    ([], ValueError, "at least 2 clients' updates, got 0"),
    (np.ones((3, 2)), TypeError, "list or tuple with one update per client, got ndarray"),
    ({"a": np.ones(2)}, TypeError, "list or tuple with one update per client, got dict"),
])
def test_invalid_updates_rejected(updates, error, message):
    with pytest.raises(error, match=message):
        aggregate(updates, QUANTIZATION)


@pytest.mark.parametrize("weights, error, message", [
    ([1.0], ValueError, r"one entry per client \(2\), got 1"),
    ([1.0, 0.0], ValueError, r"weights\[1\] must be a finite number > 0, got 0.0"),
    ([1.0, -2.0], ValueError, r"weights\[1\] must be a finite number > 0"),
    ([1.0, float("nan")], ValueError, r"weights\[1\] must be a finite number > 0, got nan"),
    ([float("inf"), 1.0], ValueError, r"weights\[0\] must be a finite number > 0, got inf"),
    ([1.0, "2"], TypeError, r"weights\[1\] must be a real number, got '2'"),
    ([True, 1.0], TypeError, r"weights\[0\] must be a real number, got True"),
    (3.0, TypeError, "weights must be a sequence of 2 numbers, got float"),
])
def test_invalid_weights_rejected(weights, error, message):
    with pytest.raises(error, match=message):
        aggregate([np.ones(2), np.ones(2)], QUANTIZATION, weights=weights)


def test_torch_weights_accepted():
    outcome = aggregate([np.ones(2), np.full(2, 3.0)], QUANTIZATION, protocol="plaintext",
                        weights=torch.tensor([1.0, 3.0]), reduction="mean", seed=0)

    np.testing.assert_allclose(outcome.aggregate, [2.5, 2.5], atol=outcome.error_bound)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"protocol": "paillier"}, ValueError, "protocol must be one of"),
    ({"reduction": "median"}, ValueError, "reduction must be one of 'sum', 'mean'"),
    ({"inputs": np.ones((2, 2))}, TypeError, "aggregate\\(\\) sets inputs itself"),
    ({"drop_clients": [5]}, ValueError, "drop_clients must be ids in 0..1"),
])
def test_invalid_options_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        aggregate([np.ones(2), np.ones(2)], QUANTIZATION, **kwargs)


def test_quantization_required():
    with pytest.raises(TypeError, match="quantization must be a QuantizationSettings, got float"):
        aggregate([np.ones(2), np.ones(2)], 1.0)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"clip": 0}, ValueError, "clip must be a finite number > 0, got 0.0"),
    ({"clip": float("inf")}, ValueError, "clip must be a finite number > 0, got inf"),
    ({"clip": "1"}, TypeError, "clip must be a real number"),
    ({"clip": 1.0, "bits": 0}, ValueError, "bits must be between 1 and 52, got 0"),
    ({"clip": 1.0, "bits": 53}, ValueError, "bits must be between 1 and 52, got 53"),
    ({"clip": 1.0, "bits": 8.5}, TypeError, "bits must be an integer"),
    ({"clip": 1.0, "strict": "yes"}, TypeError, "strict must be True or False"),
])
def test_invalid_quantization_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        QuantizationSettings(**kwargs)


def test_quantization_too_fine_for_client_count():
    settings = QuantizationSettings(clip=1.0, bits=52)

    with pytest.raises(ValueError, match="bits = 52 is too large for 2000 clients"):
        settings.check_clients(2000)
    settings.check_clients(100)


@pytest.mark.skipif("ckks" not in PROTOCOLS, reason="the ckks protocol is not available")
def test_ckks_uses_its_own_error_bound():
    updates = [np.full(4, float(value)) for value in (1, 2, 3)]

    outcome = aggregate(updates, QUANTIZATION, protocol="ckks", weights=[1, 2, 3],
                        reduction="mean", seed=9)

    assert outcome.run.error_bound is not None
    # The protocol sums updates scaled by w / max(w); those scales sum to 2 here.
    assert outcome.error_bound == pytest.approx(outcome.run.error_bound / 2)
    assert np.abs(outcome.aggregate - 14 / 6).max() <= outcome.error_bound


@pytest.mark.skipif("ckks" not in PROTOCOLS, reason="the ckks protocol is not available")
def test_ckks_key_holder_dropout_aborts():
    updates = [np.ones(4) for _ in range(3)]

    outcome = aggregate(updates, QUANTIZATION, protocol="ckks", drop_clients=[0], seed=10)

    assert outcome.aborted
    assert outcome.aggregate is None
    assert outcome.abort_reason.startswith("KEY_HOLDER_DROPPED")


def test_unknown_keyword_is_named():
    updates = [np.zeros(3)] * 3
    with pytest.raises(TypeError, match=r"unknown keyword arguments strict; strict belongs to "
                                        r"QuantizationSettings"):
        aggregate(updates, QuantizationSettings(clip=1.0), strict=True)
    with pytest.raises(TypeError, match="unknown keyword arguments thresold"):
        aggregate(updates, QuantizationSettings(clip=1.0), thresold=2)
