"""The predicted error bound against measured errors of decrypted sums."""

import numpy as np
import pytest

from secagg.he import ADD_ONLY, ONE_MULTIPLICATION, CkksConfig, CkksParameters, backend, make_parties
from secagg.he.precision import error_bound
from secagg.network.simulator import simulate


def measured_error(config, inputs, dropout=None):
    server, parties = make_parties(config, inputs)
    result, _ = simulate(server, parties, dropout=dropout, seed=0)
    expected = config.weights_of(result.included) @ inputs[result.included]
    return np.max(np.abs(result.aggregate - expected)), server.error_bound(), result


@pytest.mark.parametrize("clients, dim", [(10, 4096), (100, 64)])
def test_bound_holds(clients, dim):
    inputs = np.random.default_rng(clients).uniform(-1, 1, (clients, dim))
    config = CkksConfig.create(clients, dim)

    error, bound, result = measured_error(config, inputs)

    assert result.included == list(range(clients))
    assert error <= bound
    # The bound is a high-probability bound, not a loose worst case.
    assert bound < 50 * error


def test_bound_holds_with_weights_and_dropout():
    clients = 10
    inputs = np.random.default_rng(7).uniform(-5, 5, (clients, 500))
    weights = np.arange(1, clients + 1, dtype=float)
    config = CkksConfig.create(clients, 500, parameters=ONE_MULTIPLICATION, clip=5.0, weights=weights)

    error, bound, result = measured_error(config, inputs, dropout={2: {4}})

    assert 4 not in result.included
    assert error <= bound


def test_bound_holds_at_low_precision():
    # Scale 2**20 makes the noise visible: errors near 1e-2 instead of 1e-8.
    parameters = CkksParameters(4096, (40, 20, 40), 20)
    inputs = np.random.default_rng(8).uniform(-1, 1, (30, 2048))
    config = CkksConfig.create(30, 2048, parameters=parameters)

    error, bound, _ = measured_error(config, inputs)

    assert 1e-3 < error <= bound


def test_noise_variance_matches_model():
    """The mean slot variance of fresh ciphertexts is (N / 24)(2 + 2N/3) / scale**2; tolerance 10%."""
    context = backend.create_context(ADD_ONLY)
    zeros = np.zeros(ADD_ONLY.slots)
    samples = [backend.decrypt(backend.load_vector(context, backend.encrypt(context, zeros), ADD_ONLY,
                                                   ADD_ONLY.slots)) for _ in range(4)]
    degree = ADD_ONLY.poly_modulus_degree

    predicted = (degree / 24) * (2 + 2 * degree / 3) / ADD_ONLY.scale**2

    assert np.var(np.concatenate(samples)) == pytest.approx(predicted, rel=0.10)


def test_bound_of_empty_sum_is_zero():
    assert error_bound(ADD_ONLY, np.array([]), 1.0, 10, multiplied=False) == 0.0


def test_bound_rejects_bad_failure_probability():
    with pytest.raises(ValueError, match=r"failure_probability must be in \(0, 1\), got 0"):
        error_bound(ADD_ONLY, np.ones(3), 1.0, 10, multiplied=False, failure_probability=0)
