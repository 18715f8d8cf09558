"""Tests of the SecAgg+ graph parameter rule and of the Harary graph."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from secagg.primitives import prg
from secagg.protocols import graph, graph_parameters
from secagg.protocols.graph import harary_neighbors, permutation_from_seed
from secagg.protocols.graph_parameters import GraphParameters, find_graph_parameters

SEMI_HONEST = False
ACTIVE = True

# (clients, corrupted fraction, dropout fraction, active, degree, threshold),
# from graph_parameter_finder_test.cc in google-parfait/federated-compute
# (commit e7157f0625b52fdf5912fd4eb9074f003424ceb1). Google's test asserts
# the degree and threshold <= the listed threshold; each listed threshold is
# exactly the lower end of the window that the rule returns, so the tests here
# assert equality. Google's cases with adversary class NONE, which requires a
# corrupted fraction of 0, are listed as semi-honest.
GOOGLE_CASES = [
    (100, 0.45, 0.45, SEMI_HONEST, 92, 46),
    (1000, 0.45, 0.45, SEMI_HONEST, 822, 417),
    (10000, 0.45, 0.45, SEMI_HONEST, 3494, 1771),
    (100000, 0.45, 0.45, SEMI_HONEST, 5508, 2788),
    (1000000, 0.45, 0.45, SEMI_HONEST, 6240, 3156),
    (10, 0.33, 0.33, SEMI_HONEST, 8, 4),
    (100, 0.33, 0.33, SEMI_HONEST, 68, 34),
    (1000, 0.33, 0.33, SEMI_HONEST, 286, 150),
    (10000, 0.33, 0.33, SEMI_HONEST, 422, 221),
    (100000, 0.33, 0.33, SEMI_HONEST, 480, 251),
    (1000000, 0.33, 0.33, SEMI_HONEST, 518, 270),
    (100, 0.3, 0.3, ACTIVE, 92, 62),
    (1000, 0.3, 0.3, ACTIVE, 872, 584),
    (10000, 0.3, 0.3, ACTIVE, 4822, 3230),
    (100000, 0.3, 0.3, ACTIVE, 9388, 6286),
    (1000000, 0.3, 0.3, ACTIVE, 11136, 7454),
    (10, 0.05, 0.33, SEMI_HONEST, 4, 2),
    (100, 0.05, 0.33, SEMI_HONEST, 28, 6),
    (1000, 0.05, 0.33, SEMI_HONEST, 72, 24),
    (10000, 0.05, 0.33, SEMI_HONEST, 86, 29),
    (100000, 0.05, 0.33, SEMI_HONEST, 96, 32),
    (1000000, 0.05, 0.33, SEMI_HONEST, 102, 34),
    (10, 0.05, 0.33, ACTIVE, 8, 5),
    (100, 0.05, 0.33, ACTIVE, 72, 39),
    (1000, 0.05, 0.33, ACTIVE, 398, 223),
    (10000, 0.05, 0.33, ACTIVE, 746, 420),
    (100000, 0.05, 0.33, ACTIVE, 882, 496),
    (1000000, 0.05, 0.33, ACTIVE, 970, 545),
    (10, 0.33, 0.05, SEMI_HONEST, 4, 4),
    (100, 0.33, 0.05, SEMI_HONEST, 34, 29),
    (1000, 0.33, 0.05, SEMI_HONEST, 78, 60),
    (10000, 0.33, 0.05, SEMI_HONEST, 92, 70),
    (100000, 0.33, 0.05, SEMI_HONEST, 102, 77),
    (1000000, 0.33, 0.05, SEMI_HONEST, 110, 83),
    (10, 0.33, 0.05, ACTIVE, 4, 4),
    (100, 0.33, 0.05, ACTIVE, 42, 37),
    (1000, 0.33, 0.05, ACTIVE, 132, 109),
    (10000, 0.33, 0.05, ACTIVE, 178, 146),
    (100000, 0.33, 0.05, ACTIVE, 196, 160),
    (1000000, 0.33, 0.05, ACTIVE, 212, 173),
    (10, 0.05, 0.05, SEMI_HONEST, 2, 2),
    (100, 0.05, 0.05, SEMI_HONEST, 12, 6),
    (1000, 0.05, 0.05, SEMI_HONEST, 30, 17),
    (10000, 0.05, 0.05, SEMI_HONEST, 34, 20),
    (100000, 0.05, 0.05, SEMI_HONEST, 36, 21),
    (1000000, 0.05, 0.05, SEMI_HONEST, 38, 22),
    (10, 0.05, 0.05, ACTIVE, 2, 2),
    (100, 0.05, 0.05, ACTIVE, 16, 11),
    (1000, 0.05, 0.05, ACTIVE, 52, 37),
    (10000, 0.05, 0.05, ACTIVE, 62, 44),
    (100000, 0.05, 0.05, ACTIVE, 68, 48),
    (1000000, 0.05, 0.05, ACTIVE, 74, 52),
    (10, 0.33, 0.0, SEMI_HONEST, 4, 4),
    (100, 0.33, 0.0, SEMI_HONEST, 26, 25),
    (1000, 0.33, 0.0, SEMI_HONEST, 38, 36),
    (10000, 0.33, 0.0, SEMI_HONEST, 42, 40),
    (100000, 0.33, 0.0, SEMI_HONEST, 46, 44),
    (1000000, 0.33, 0.0, SEMI_HONEST, 50, 47),
    (10, 0.33, 0.0, ACTIVE, 4, 4),
    (100, 0.33, 0.0, ACTIVE, 26, 26),
    (1000, 0.33, 0.0, ACTIVE, 38, 37),
    (10000, 0.33, 0.0, ACTIVE, 42, 41),
    (100000, 0.33, 0.0, ACTIVE, 46, 45),
    (1000000, 0.33, 0.0, ACTIVE, 50, 49),
    (10, 0.0, 0.33, SEMI_HONEST, 4, 2),
    (100, 0.0, 0.33, SEMI_HONEST, 26, 2),
    (1000, 0.0, 0.33, SEMI_HONEST, 38, 2),
    (10000, 0.0, 0.33, SEMI_HONEST, 42, 2),
    (100000, 0.0, 0.33, SEMI_HONEST, 46, 2),
    (1000000, 0.0, 0.33, SEMI_HONEST, 50, 2),
    (10, 0.0, 0.33, ACTIVE, 8, 5),
    (100, 0.0, 0.33, ACTIVE, 68, 35),
    (1000, 0.0, 0.33, ACTIVE, 228, 115),
    (10000, 0.0, 0.33, ACTIVE, 326, 164),
    (100000, 0.0, 0.33, ACTIVE, 372, 187),
    (1000000, 0.0, 0.33, ACTIVE, 410, 206),
    (10, 0.0, 0.0, SEMI_HONEST, 2, 2),
    (100, 0.0, 0.0, SEMI_HONEST, 2, 2),
    (1000, 0.0, 0.0, SEMI_HONEST, 2, 2),
    (10000, 0.0, 0.0, SEMI_HONEST, 2, 2),
    (100000, 0.0, 0.0, SEMI_HONEST, 2, 2),
    (1000000, 0.0, 0.0, SEMI_HONEST, 2, 2),
    (10, 0.0, 0.0, ACTIVE, 2, 2),
    (100, 0.0, 0.0, ACTIVE, 2, 2),
    (1000, 0.0, 0.0, ACTIVE, 2, 2),
    (10000, 0.0, 0.0, ACTIVE, 2, 2),
    (100000, 0.0, 0.0, ACTIVE, 2, 2),
    (1000000, 0.0, 0.0, ACTIVE, 2, 2),
]


def _case_id(case: tuple) -> str:
    clients, corrupted, dropout, active, _, _ = case
    model = "active" if active else "semihonest"
    return f"n{clients}-gamma{corrupted}-delta{dropout}-{model}"


# ---------------------------------------------------------------------------
# Reference values
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", GOOGLE_CASES, ids=_case_id)
def test_google_reference_values(case):
    clients, corrupted, dropout, active, degree, threshold = case

    parameters = find_graph_parameters(clients, corrupted, dropout, active=active)

    assert parameters.degree == degree
    assert parameters.threshold == threshold
    assert parameters.clients == clients
    assert not parameters.complete_graph


@pytest.mark.parametrize("case", GOOGLE_CASES, ids=_case_id)
def test_window_contains_threshold(case):
    clients, corrupted, dropout, active, _, _ = case

    parameters = find_graph_parameters(clients, corrupted, dropout, active=active)

    assert parameters.threshold == max(parameters.minimum_threshold, 2)
    assert parameters.minimum_threshold <= parameters.maximum_threshold
    assert parameters.threshold <= parameters.degree + 1
    if parameters.minimum_threshold >= 2:
        assert parameters.threshold <= parameters.maximum_threshold


def test_clamped_threshold_exceeds_window():
    # Google's rule raises the threshold to 2 even where correctness allows
    # only 1: 10 clients, no corruption, dropout fraction 0.33.
    parameters = find_graph_parameters(10, 0.0, 0.33)

    assert parameters.degree == 4
    assert parameters.threshold == 2
    assert parameters.maximum_threshold == 1


def test_share_holders_include_client():
    parameters = find_graph_parameters(1000, 0.05, 0.05)

    assert parameters.share_holders == 31


def test_stronger_security_needs_larger_degree():
    default = find_graph_parameters(1000, 0.05, 0.05)
    stronger = find_graph_parameters(1000, 0.05, 0.05, statistical_security=80)
    weaker = find_graph_parameters(1000, 0.05, 0.05, correctness=5)

    assert stronger.degree > default.degree
    assert weaker.degree <= default.degree


def test_fraction_rounding_counts_intended_clients():
    # 0.29 is stored below 0.29, but 0.29 of 100 clients must count as 29
    # corrupted clients, not 28.
    parameters = find_graph_parameters(100, 0.29, 0.0)
    with_29 = find_graph_parameters(100, 0.2900001, 0.0)
    with_28 = find_graph_parameters(100, 0.2899999, 0.0)

    assert parameters == with_29
    assert parameters != with_28


# ---------------------------------------------------------------------------
# Independent exact computation
# ---------------------------------------------------------------------------

def _exact_cdf(population: int, successes: int, draws: int, x: int) -> Fraction:
    total = math.comb(population, draws)
    favourable = sum(math.comb(successes, i) * math.comb(population - successes, draws - i)
                     for i in range(0, x + 1))
    return Fraction(favourable, total)


def _exact_lower_quantile(population: int, successes: int, draws: int,
                          level: Fraction) -> int:
    lowest = max(0, draws - (population - successes))
    x = lowest - 1
    while _exact_cdf(population, successes, draws, x + 1) < level:
        x += 1
    return x


def _exact_rule(clients, corrupted_fraction, dropout_fraction, active, sigma, eta):
    """Return (degree, threshold, complete_graph) by the rule in exact arithmetic."""
    corrupted = math.floor((corrupted_fraction + 1e-14) * clients)
    dropouts = math.floor((dropout_fraction + 1e-14) * clients)
    survivors = math.ceil((1 - dropout_fraction - 1e-14) * clients)
    removed = corrupted + dropouts
    event_bound = Fraction(1, 2 ** (sigma + 1))
    security_level = event_bound / clients
    correctness_level = Fraction(1, 2 ** eta * clients)

    load = corrupted_fraction + (2 if active else 1) * dropout_fraction
    degrees = range(2, clients - 1, 2) if load <= 0.9 else range(0)
    for degree in degrees:
        if degree <= removed:
            split = (Fraction(clients * (clients - degree - 1), 2)
                     * Fraction(math.comb(clients - degree, removed - degree),
                                math.comb(clients, removed)))
            if split >= event_bound:
                continue
        low = degree - _exact_lower_quantile(clients, clients - corrupted, degree,
                                             security_level) - 1
        if active:
            low = (low + degree) // 2
        high = _exact_lower_quantile(clients, survivors, degree, correctness_level) + 1
        if high > low:
            return degree, max(low + 1, 2), False
    return clients - 1, survivors, True


@pytest.mark.parametrize("active", [SEMI_HONEST, ACTIVE], ids=["semihonest", "active"])
@pytest.mark.parametrize("sigma,eta", [(40, 20), (8, 4)])
@pytest.mark.parametrize("corrupted,dropout",
                         [(0.05, 0.05), (0.1, 0.2), (0.33, 0.33), (0.0, 0.3),
                          (0.3, 0.0), (0.2, 0.25)])
def test_rule_matches_exact_arithmetic(corrupted, dropout, sigma, eta, active):
    for clients in range(2, 80, 3):
        expected = _exact_rule(clients, corrupted, dropout, active, sigma, eta)

        try:
            parameters = find_graph_parameters(
                clients, corrupted, dropout, active=active,
                statistical_security=sigma, correctness=eta)
        except ValueError:
            # Only the complete graph can be infeasible.
            assert expected[2], clients
            continue

        actual = (parameters.degree, parameters.threshold, parameters.complete_graph)
        assert actual == expected, clients


@settings(max_examples=300, deadline=None)
@given(population=st.integers(1, 120), data=st.data(), bits=st.integers(2, 70))
def test_quantile_matches_exact(population, data, bits):
    successes = data.draw(st.integers(0, population))
    draws = data.draw(st.integers(1, population))
    level = Fraction(1, 3 * 2 ** bits)
    expected = _exact_lower_quantile(population, successes, draws, level)
    # Skip near-ties, where double precision cannot decide the comparison.
    for x in (expected, expected + 1):
        cdf = _exact_cdf(population, successes, draws, x)
        assume(cdf == 0 or abs(cdf / level - 1) > 1e-9)

    actual = graph_parameters._hypergeometric_lower_quantile(
        population, successes, draws, -bits * math.log(2) - math.log(3))

    assert actual == expected


# ---------------------------------------------------------------------------
# Complete-graph fallback and infeasible inputs
# ---------------------------------------------------------------------------

def test_three_clients_use_complete_graph():
    parameters = find_graph_parameters(3, 0.05, 0.05)

    assert parameters == GraphParameters(clients=3, degree=2, threshold=3,
                                         minimum_threshold=3, maximum_threshold=3,
                                         complete_graph=True)


def test_two_clients_use_complete_graph():
    parameters = find_graph_parameters(2, 0.0, 0.0)

    assert parameters.complete_graph
    assert parameters.degree == 1
    assert parameters.threshold == 2


def test_four_clients_use_harary_graph():
    parameters = find_graph_parameters(4, 0.0, 0.0)

    assert not parameters.complete_graph
    assert parameters.degree == 2


def test_single_client_has_no_parameters():
    with pytest.raises(ValueError, match=r"no SecAgg\+ or SecAgg parameters exist "
                                         r"for clients=1"):
        find_graph_parameters(1, 0.0, 0.0)


def test_high_load_uses_complete_graph():
    # corrupted + dropout = 0.95 > 0.9: Google searches no Harary graph.
    parameters = find_graph_parameters(1000, 0.5, 0.45)

    assert parameters.complete_graph
    assert parameters.degree == 999
    assert parameters.threshold == 550


def test_active_high_load_uses_complete_graph():
    # Google's finder rejects 1000 clients at 0.33 / 0.33 for an active
    # server (0.33 + 2 * 0.33 > 0.9), and its server then runs SecAgg with
    # threshold ceil(0.67 * 1000) = 670 > ceil((1000 + 330) / 2) = 665.
    parameters = find_graph_parameters(1000, 0.33, 0.33, active=True)

    assert parameters.complete_graph
    assert parameters.threshold == 670


def test_active_complete_graph_insecure():
    # 70 survivors do not exceed ceil((100 + 40) / 2) = 70.
    with pytest.raises(ValueError, match=r"above 70 to be secure, but only 70 "
                                         r"clients are sure to survive"):
        find_graph_parameters(100, 0.4, 0.3, active=True)


def test_small_cohort_falls_back_to_complete_graph():
    parameters = find_graph_parameters(27, 0.3, 0.3, active=True)

    assert parameters.complete_graph
    assert parameters.threshold == 19


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,error,message", [
    (dict(clients=0), ValueError, r"clients must be >= 1, got 0"),
    (dict(clients=2.0), TypeError, r"clients must be an integer, got 2.0 \(float\)"),
    (dict(corrupted_fraction=1.0), ValueError,
     r"corrupted_fraction must be in \[0, 1\), got 1.0; pass the fraction"),
    (dict(dropout_fraction=-1.0), ValueError,
     r"dropout_fraction must be in \[0, 1\), got -1.0"),
    (dict(dropout_fraction=float("nan")), ValueError,
     r"dropout_fraction must be in \[0, 1\), got nan"),
    (dict(corrupted_fraction="0.1"), TypeError,
     r"corrupted_fraction must be a real number, got '0.1' \(str\)"),
    (dict(corrupted_fraction=True), TypeError,
     r"corrupted_fraction must be a real number, got True \(bool\)"),
    (dict(corrupted_fraction=0.5, dropout_fraction=0.5), ValueError,
     r"corrupted_fraction \+ dropout_fraction must be < 1, got 0.5 \+ 0.5"),
    (dict(active=1), TypeError, r"active must be a bool, got 1 \(int\)"),
    (dict(statistical_security=0), ValueError,
     r"statistical_security must be >= 1, got 0"),
    (dict(correctness=-3), ValueError, r"correctness must be >= 1, got -3"),
])
def test_invalid_arguments_rejected(kwargs, error, message):
    arguments = dict(clients=1000, corrupted_fraction=0.1, dropout_fraction=0.1)
    arguments.update(kwargs)

    with pytest.raises(error, match=message):
        find_graph_parameters(**arguments)


@pytest.mark.parametrize("clients,corrupted,dropout,active", [
    (0, 0.1, 0.1, SEMI_HONEST),
    (1000, 0.1, 1.0, SEMI_HONEST),
    (1000, 0.1, -1.0, SEMI_HONEST),
    (1000, 0.5, 0.5, SEMI_HONEST),
    (1000, 0.5, 0.5, ACTIVE),
])
def test_google_invalid_cases_rejected(clients, corrupted, dropout, active):
    with pytest.raises(ValueError):
        find_graph_parameters(clients, corrupted, dropout, active=active)


# ---------------------------------------------------------------------------
# Harary graph
# ---------------------------------------------------------------------------

def _adjacency(neighbors: np.ndarray) -> np.ndarray:
    clients = neighbors.shape[0]
    matrix = np.zeros((clients, clients), dtype=np.int64)
    np.add.at(matrix, (np.repeat(np.arange(clients), neighbors.shape[1]),
                       neighbors.ravel()), 1)
    return matrix


@pytest.mark.parametrize("clients,degree", [(10, 4), (11, 2), (50, 12), (7, 6),
                                            (8, 6), (5, 0)])
def test_harary_regular_and_symmetric(clients, degree):
    permutation = permutation_from_seed(bytes(range(32)), clients)

    neighbors = harary_neighbors(clients, degree, permutation)
    adjacency = _adjacency(neighbors)

    assert neighbors.shape == (clients, degree)
    assert neighbors.dtype == np.int64
    assert np.all(adjacency.sum(axis=1) == degree)
    assert np.all(adjacency <= 1)
    assert np.all(np.diag(adjacency) == 0)
    assert np.array_equal(adjacency, adjacency.T)


def test_harary_identity_ring():
    neighbors = harary_neighbors(10, 4)

    assert neighbors[0].tolist() == [8, 9, 1, 2]
    assert neighbors[5].tolist() == [3, 4, 6, 7]


def test_harary_google_permuted_example():
    # The example in Google's secret_sharing_harary_graph.h: 10 clients,
    # degree 5 there because Google counts a self edge, permutation below.
    permutation = np.array([3, 2, 5, 4, 1, 8, 9, 0, 6, 7])
    expected = {3: [6, 7, 2, 5], 2: [7, 3, 5, 4], 5: [3, 2, 4, 1], 4: [2, 5, 1, 8],
                1: [5, 4, 8, 9], 8: [4, 1, 9, 0], 9: [1, 8, 0, 6], 0: [8, 9, 6, 7],
                6: [9, 0, 7, 3], 7: [0, 6, 3, 2]}

    neighbors = harary_neighbors(10, 4, permutation)

    for client, row in expected.items():
        assert neighbors[client].tolist() == row, client


@pytest.mark.parametrize("clients", [1, 2, 5, 6])
def test_complete_graph_lists_all_others(clients):
    neighbors = harary_neighbors(clients, clients - 1,
                                 permutation_from_seed(bytes(32), clients))

    for client in range(clients):
        assert sorted(neighbors[client].tolist()) == [
            other for other in range(clients) if other != client]


def test_harary_connected_after_parameters():
    parameters = find_graph_parameters(200, 0.05, 0.05)
    neighbors = harary_neighbors(200, parameters.degree,
                                 permutation_from_seed(bytes(32), 200))

    reached = {0}
    frontier = [0]
    while frontier:
        client = frontier.pop()
        for other in neighbors[client].tolist():
            if other not in reached:
                reached.add(other)
                frontier.append(other)

    assert len(reached) == 200


@pytest.mark.parametrize("clients,degree,error,message", [
    (10, 3, ValueError, r"degree must be even unless it is clients - 1 = 9"),
    (10, 10, ValueError, r"degree must be between 0 and 9, got 10"),
    (10, -2, ValueError, r"degree must be between 0 and 9, got -2"),
    (0, 0, ValueError, r"clients must be >= 1, got 0"),
    (10, 2.0, TypeError, r"degree must be an integer"),
])
def test_harary_invalid_degree_rejected(clients, degree, error, message):
    with pytest.raises(error, match=message):
        harary_neighbors(clients, degree)


@pytest.mark.parametrize("permutation,message", [
    (np.array([0, 1, 2, 2]), r"must contain each of 0, \.\.\., 3 exactly once"),
    (np.array([0, 1, 2]), r"shape \(4,\), got dtype int64 and shape \(3,\)"),
    (np.array([0.0, 1.0, 2.0, 3.0]), r"integer array of shape \(4,\), got dtype float64"),
])
def test_harary_invalid_permutation_rejected(permutation, message):
    with pytest.raises(ValueError, match=message):
        harary_neighbors(4, 2, permutation)


# ---------------------------------------------------------------------------
# Permutation from a seed
# ---------------------------------------------------------------------------

def _reference_permutation(words: list[int], clients: int) -> list[int]:
    """Fisher-Yates with rejection sampling, one word at a time."""
    permutation = list(range(clients))
    stream = iter(words)
    for i in range(clients - 1, 0, -1):
        modulus = i + 1
        limit = (2**62 // modulus) * modulus
        word = next(stream)
        while word >= limit:
            word = next(stream)
        j = word % modulus
        permutation[i], permutation[j] = permutation[j], permutation[i]
    return permutation


def test_permutation_deterministic_per_seed():
    seed = hashlib.sha256(b"round-0 public keys").digest()

    first = permutation_from_seed(seed, 1000)
    second = permutation_from_seed(seed, 1000)
    other = permutation_from_seed(hashlib.sha256(b"other keys").digest(), 1000)

    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)
    assert sorted(first.tolist()) == list(range(1000))
    assert first.dtype == np.int64


def test_permutation_graph_differs_per_seed():
    first = harary_neighbors(100, 6, permutation_from_seed(bytes(32), 100))
    again = harary_neighbors(100, 6, permutation_from_seed(bytes(32), 100))
    other = harary_neighbors(100, 6, permutation_from_seed(b"\x01" * 32, 100))

    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_permutation_matches_reference():
    seed = bytes(range(32))
    words = prg.expand(seed, 600, 2**62, graph.PERMUTATION_DOMAIN).tolist()

    assert permutation_from_seed(seed, 500).tolist() == _reference_permutation(words, 500)


def test_permutation_skips_rejected_words(monkeypatch):
    # Words at or above the limit of their step must be skipped. Real
    # streams almost never contain one, so this test replaces the stream.
    clients = 6
    words = [2**62 - 1, 7, 2**62 - 2, 2**62 - 3, 11, 5, 2**62 - 1, 3, 9, 4, 8, 1]
    monkeypatch.setattr(graph, "_permutation_words",
                        lambda seed, count: np.array(
                            (words * (count // len(words) + 1))[:count],
                            dtype=np.uint64))

    permutation = permutation_from_seed(bytes(32), clients)

    assert permutation.tolist() == _reference_permutation(words, clients)


def test_permutation_single_client():
    assert permutation_from_seed(bytes(32), 1).tolist() == [0]


def test_permutation_roughly_uniform():
    # 3000 seeds over the 6 permutations of 3 clients: about 500 each, with
    # a standard deviation of about 20.
    counts = Counter(
        tuple(permutation_from_seed(hashlib.sha256(i.to_bytes(4, "big")).digest(), 3))
        for i in range(3000))

    assert len(counts) == 6
    assert all(400 <= count <= 600 for count in counts.values()), counts


@pytest.mark.parametrize("seed,clients,error,message", [
    (bytes(31), 10, ValueError, r"seed must be 32 bytes long, got 31 bytes"),
    ("seed", 10, TypeError, r"seed must be bytes"),
    (bytes(32), 0, ValueError, r"clients must be >= 1, got 0"),
])
def test_permutation_invalid_arguments_rejected(seed, clients, error, message):
    with pytest.raises(error, match=message):
        permutation_from_seed(seed, clients)
