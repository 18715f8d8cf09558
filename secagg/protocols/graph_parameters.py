"""Degree and Shamir threshold of the SecAgg+ communication graph.

SecAgg+ (Bell, Bonawitz, Gascón, Lepoint and Raykova, "Secure Single-Server
Aggregation with (Poly)Logarithmic Overhead", CCS 2020) replaces the complete
graph of SecAgg by a Harary graph H(n, k) whose ring order is a random
permutation of the clients (:mod:`secagg.protocols.graph`). Each client
Shamir-shares its secrets among ``k + 1`` share holders, itself and its ``k``
neighbors, and any ``t`` of them can reconstruct.

:func:`find_graph_parameters` chooses ``k`` and ``t`` by the rule of Google's
SecAgg server (repository google-parfait/federated-compute, file
``fcp/secagg/server/graph_parameter_finder.cc``). It returns the same degree
and threshold for every case listed in that repository's
``graph_parameter_finder_test.cc``, 88 cases with up to 10**6 clients.

Probabilities are handled as natural logarithms, so a bound such as 2**-41 / n
never underflows, and hypergeometric tails are summed with
``numpy.logaddexp``.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from secagg._validation import check_int

_LN2 = math.log(2.0)

_RATE_SLACK = 1e-14
"""Added to a fraction before it is turned into a client count.

A fraction such as 0.29 is stored as 0.28999999999999998, and without the
slack 0.29 of 100 clients would count as 28. Google's rule uses the same
constant, and matching its counts is needed to match its degrees.
"""

_MAX_HARARY_LOAD = 0.9
"""Largest corrupted + dropout fraction (semi-honest) or corrupted + 2 *
dropout fraction (active) for which Google's rule searches for a Harary graph.
Above it Google's server uses the complete graph, and so does this module."""

_TAIL_MARGIN_BITS = 64
"""A tail window leaves out less than ``q * 2**-64`` of probability mass,
far below the rounding error of a double-precision comparison with ``q``."""


@dataclass(frozen=True)
class GraphParameters:
    """Communication graph and Shamir threshold of one SecAgg+ instance.

    Attributes:
        clients: Number of clients n, the nodes of the graph.
        degree: Number of neighbors k of each client. It is even for a Harary
            graph and ``clients - 1`` for the complete graph.
        threshold: Shamir threshold t: the number of shares, out of
            ``degree + 1``, that reconstruct a client's secret.
        minimum_threshold: Smallest threshold that the security bound allows.
        maximum_threshold: Largest threshold that the correctness bound
            allows.
        complete_graph: True when no Harary graph met the bounds and every
            client neighbors all the others, as in SecAgg.

    ``threshold`` is ``max(minimum_threshold, 2)`` because Shamir sharing
    needs at least two shares. In a few small cases, for example 10 clients
    with no corruption and a dropout fraction of 0.33, this exceeds
    ``maximum_threshold``. Google's rule returns it anyway, and so does
    :func:`find_graph_parameters`.
    """

    clients: int
    degree: int
    threshold: int
    minimum_threshold: int
    maximum_threshold: int
    complete_graph: bool

    @property
    def share_holders(self) -> int:
        """Number of clients holding a share of one client's secrets."""
        return self.degree + 1


def find_graph_parameters(clients: int, corrupted_fraction: float,
                          dropout_fraction: float, *, active: bool = False,
                          statistical_security: int = 40,
                          correctness: int = 20) -> GraphParameters:
    """Choose the SecAgg+ degree and threshold by the rule of Google's SecAgg.

    Args:
        clients: Number of clients n, at least 1.
        corrupted_fraction: Fraction gamma of clients the adversary controls,
            in [0, 1).
        dropout_fraction: Fraction delta of clients that may drop out, in
            [0, 1). The two fractions must sum to less than 1.
        active: False for a semi-honest server (Google's CURIOUS_SERVER);
            True for the actively secure variant, in which the server may
            send honest clients false drop-out lists (Google's
            SEMI_MALICIOUS_SERVER).
        statistical_security: sigma. The adversary learns a secret, or the
            honest survivors split into disconnected parts, with probability
            at most 2**-sigma.
        correctness: eta. Some dropped client's secret cannot be
            reconstructed with probability at most 2**-eta.

    Returns:
        The parameters. Results are cached, so repeated calls are cheap.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range, or if not even the
            complete graph admits a threshold that is both secure and
            correct.

    Steps (all probabilities are over the random ring order):

    1. Count the worst case: ``A = floor(gamma n)`` corrupted clients,
       ``D = floor(delta n)`` dropouts and ``S = ceil((1 - delta) n)``
       survivors.
    2. If ``gamma + delta`` (``gamma + 2 delta`` when active) exceeds 0.9,
       skip to step 4.
    3. For each even ``k`` from 2 up to ``n - 2``, in order, return the first
       ``k`` that passes all of these checks:

       a. Connectivity. Removing clients splits H(n, k) only if two disjoint
          runs of ``k / 2`` consecutive ring positions are all removed. A
          union bound over the ``n (n - k - 1) / 2`` pairs of runs, each
          removed with probability ``C(n - k, A + D - k) / C(n, A + D)``,
          must be below ``2**-(sigma + 1)``.
       b. Security. ``t1`` is the smallest x with ``P[X > x] < 2**-(sigma +
          1) / n`` for X ~ Hypergeometric(n, A, k), the number of corrupted
          neighbors of a client. Any ``t > t1`` keeps every client's secrets
          from the adversary except with probability ``2**-(sigma + 1)``.
          Steps a and b thus split the failure probability 2**-sigma evenly.
       c. Active security. For each peer, an honest client reveals its
          share of either the peer's self-mask seed or the peer's key, never
          both. A server that lies about who dropped can still ask some
          honest neighbors for one kind and the rest for the other, and with
          X corrupted neighbors it obtains t shares of each kind when
          ``2 (t - X) <= k - X``. Requiring ``2 t - k > t1`` closes this and
          raises ``t1`` to ``floor((t1 + k) / 2)``. Google computes the same
          value as ``ceil((t1 + k - 1.25) / 2)``.
       d. Correctness. ``t2`` is the smallest s with ``P[Y <= s] >=
          2**-eta / n`` for Y ~ Hypergeometric(n, S, k), the number of
          surviving neighbors. Any ``t <= t2`` leaves every dropped client
          with at least t surviving share holders except with probability
          ``2**-eta``.
       e. Window. If ``t1 < t2``, return ``k`` with threshold
          ``max(t1 + 1, 2)``. Google returns this lower end of the window
          ``(t1, t2]`` to keep reconstruction cheap, and the thresholds in its
          test file are exactly this lower end.

    4. Fall back to the complete graph (``k = n - 1``, plain SecAgg) with
       ``t = S``, as Google's server does when its Harary search fails. This
       happens for n <= 3, after step 2, and for a few dozen clients at large
       fractions (up to 29 clients at gamma = delta = 0.45). Google's server
       also requires ``t >= S``, so that every sum includes at least S
       inputs, and ``t > ceil(gamma n)`` (``t > ceil((n + gamma n) / 2)``
       when active). If ``S`` violates either or is below 2, the parameters
       do not exist and ValueError is raised.
    """
    clients = check_int("clients", clients, minimum=1)
    corrupted_fraction = _check_fraction("corrupted_fraction", corrupted_fraction)
    dropout_fraction = _check_fraction("dropout_fraction", dropout_fraction)
    if not corrupted_fraction + dropout_fraction < 1:
        raise ValueError(
            f"corrupted_fraction + dropout_fraction must be < 1, got "
            f"{corrupted_fraction} + {dropout_fraction}; when corrupted and "
            f"dropped clients can make up every client, no threshold is both "
            f"secure and correct, so lower one of the fractions")
    if not isinstance(active, bool):
        raise TypeError(f"active must be a bool, got {active!r} "
                        f"({type(active).__name__})")
    statistical_security = check_int("statistical_security", statistical_security,
                                     minimum=1)
    correctness = check_int("correctness", correctness, minimum=1)

    return _find_cached(clients, corrupted_fraction, dropout_fraction, active,
                        statistical_security, correctness)


def _check_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}; pass the "
                         f"fraction of clients, not a percentage or a count")
    return value


@functools.lru_cache(maxsize=1024)
def _find_cached(clients: int, corrupted_fraction: float, dropout_fraction: float,
                 active: bool, statistical_security: int,
                 correctness: int) -> GraphParameters:
    # 1. Worst-case counts, with the same rounding as Google's rule.
    corrupted = math.floor((corrupted_fraction + _RATE_SLACK) * clients)
    dropouts = math.floor((dropout_fraction + _RATE_SLACK) * clients)
    survivors = math.ceil((1 - dropout_fraction - _RATE_SLACK) * clients)

    # 2. Loads that Google's rule does not search.
    load = corrupted_fraction + (2 if active else 1) * dropout_fraction
    if load > _MAX_HARARY_LOAD:
        return _complete_graph_parameters(clients, corrupted_fraction, survivors,
                                          active)

    # 3. The first even degree that passes every check.
    log_event_bound = -(statistical_security + 1) * _LN2
    log_security_level = log_event_bound - math.log(clients)
    log_correctness_level = -correctness * _LN2 - math.log(clients)
    for degree in range(2, clients - 1, 2):
        # 3a. Connectivity of the honest survivors.
        log_split = _log_disconnection_bound(clients, degree, corrupted + dropouts)
        if log_split >= log_event_bound:
            continue

        # 3b. Security: corrupted neighbors, counted through the honest ones.
        honest_quantile = _hypergeometric_lower_quantile(
            clients, clients - corrupted, degree, log_security_level)
        lowest_insecure = degree - honest_quantile - 1

        # 3c. Active security.
        if active:
            lowest_insecure = (lowest_insecure + degree) // 2

        # 3d. Correctness: surviving neighbors.
        highest_correct = _hypergeometric_lower_quantile(
            clients, survivors, degree, log_correctness_level) + 1

        # 3e. A non-empty window (t1, t2].
        if highest_correct > lowest_insecure:
            return GraphParameters(
                clients=clients, degree=degree,
                threshold=max(lowest_insecure + 1, 2),
                minimum_threshold=lowest_insecure + 1,
                maximum_threshold=highest_correct, complete_graph=False)

    # 4. No Harary graph: the complete graph.
    return _complete_graph_parameters(clients, corrupted_fraction, survivors, active)


def _log_disconnection_bound(clients: int, degree: int, removed: int) -> float:
    """Return ln of Google's union bound on H(n, k) losing connectivity.

    ``removed`` clients, placed uniformly on the ring, are deleted.
    """
    if degree > removed:
        return -math.inf
    log_run_pairs = math.log(clients) + math.log(clients - degree - 1) - _LN2
    # C(n - k, r - k) / C(n, r) = r! / (r - k)! * (n - k)! / n!
    log_pair_removed = (math.lgamma(removed + 1) - math.lgamma(removed - degree + 1)
                        + math.lgamma(clients - degree + 1) - math.lgamma(clients + 1))
    return log_run_pairs + log_pair_removed


def _hypergeometric_lower_quantile(population: int, successes: int, draws: int,
                                   log_level: float) -> int:
    """Return the largest x with ``P[X <= x] < q``, where ``ln q = log_level``.

    X ~ Hypergeometric(population, successes, draws), and q must be below
    1/2. If no value of X is that unlikely, the result is the smallest value
    of X minus one. This matches Google's ``FindQuantile``.
    """
    lowest = max(0, draws - (population - successes))
    highest = min(draws, successes)
    mean = draws * successes / population

    # Hoeffding's bound, which also holds for draws without replacement:
    # P[X <= mean - s] <= exp(-2 s**2 / draws). The spread below makes the
    # mass under `start` smaller than q * 2**-_TAIL_MARGIN_BITS.
    spread = math.sqrt(draws * (_TAIL_MARGIN_BITS * _LN2 - log_level) / 2)
    start = max(lowest, math.floor(mean - spread))

    # The quantile of a level below 1/2 lies under the median, which for
    # these laws sits next to the mean. If the CDF has not reached q by
    # ceil(mean) + 1 anyway, the window grows to the whole support.
    stop = min(highest, math.ceil(mean) + 1)
    log_cdf = _log_cdf_window(population, successes, draws, start, stop)
    if log_cdf[-1] < log_level and stop < highest:
        log_cdf = _log_cdf_window(population, successes, draws, start, highest)

    index = int(np.searchsorted(log_cdf, log_level, side="left"))
    return start + index - 1


def _log_cdf_window(population: int, successes: int, draws: int, start: int,
                    stop: int) -> np.ndarray:
    """Return ``ln P[start <= X <= x]`` for x = start, ..., stop.

    The probability at ``start`` comes from log-gamma functions, and each
    next one from the ratio ``p(x + 1) / p(x)``. The running sums stay in
    log space, so tails far below 2**-1000 keep full relative precision.
    """
    failures = population - successes
    log_first = (_log_binomial(successes, start)
                 + _log_binomial(failures, draws - start)
                 - _log_binomial(population, draws))
    x = np.arange(start, stop, dtype=np.float64)
    log_ratio = (np.log(successes - x) + np.log(draws - x)
                 - np.log(x + 1) - np.log(failures - draws + x + 1))

    log_pmf = np.empty(stop - start + 1)
    log_pmf[0] = log_first
    log_pmf[1:] = log_first + np.cumsum(log_ratio)
    return np.logaddexp.accumulate(log_pmf)


def _log_binomial(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _complete_graph_parameters(clients: int, corrupted_fraction: float,
                               survivors: int, active: bool) -> GraphParameters:
    """Return plain SecAgg parameters after Google's full-graph checks."""
    # NOTE: Google's server takes ceil((1 - delta) n) without the slack,
    # which for a fraction such as 0.07 of 100 clients gives 94 where the
    # 93 used here is the intended count.
    if active:
        secure_above = math.ceil((clients + corrupted_fraction * clients) / 2)
        model = "an active server"
    else:
        secure_above = math.ceil(corrupted_fraction * clients)
        model = "a semi-honest server"
    if survivors < 2 or survivors <= secure_above:
        raise ValueError(
            f"no SecAgg+ or SecAgg parameters exist for clients={clients}, "
            f"corrupted_fraction={corrupted_fraction} and {model}: the complete "
            f"graph needs a threshold of at least 2 and above {secure_above} "
            f"to be secure, but only {survivors} clients are sure to survive "
            f"the dropouts; add clients or lower the fractions")
    return GraphParameters(clients=clients, degree=clients - 1, threshold=survivors,
                           minimum_threshold=survivors, maximum_threshold=survivors,
                           complete_graph=True)
