"""One aggregation run over the simulated network, from parameters to report.

The ``secagg simulate`` command, the benchmarks and the paper reproductions
all call :func:`run`, so their numbers come from the same code path.
"""

from __future__ import annotations

import functools
import logging
import os
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from secagg._validation import check_choice, check_int, check_positive_float
from secagg.primitives.encoding import FixedPointEncoder
from secagg.primitives.packing import packed_size
from secagg.primitives.randomness import DeterministicRandom, RandomSource
from secagg.protocols.base import AggregationResult
from secagg.protocols.masking import MaskingClient, MaskingConfig, MaskingServer, make_pki
from secagg.protocols.masking.config import modulus_for

logger = logging.getLogger(__name__)

PROTOCOLS = ("secagg", "secagg+", "plaintext", "ckks")
BACKENDS = ("local", "ray")
"""Places where the clients can run: this process, or Ray actors (:mod:`secagg.simulation_ray`)."""
DEFAULT_CORRUPTED_FRACTION = 0.05
DEFAULT_DROPOUT_FRACTION = 0.05


@dataclass
class RunSpec:
    """Parameters of one simulated aggregation. Build with :meth:`create`."""

    protocol: str
    clients: int
    dim: int
    bits: int
    threshold: int | None = None
    degree: int | None = None
    active: bool = False
    drop_stage: int = 2
    drop_clients: tuple[int, ...] = ()
    dropout_rate: float = 0.0
    inputs: np.ndarray | None = None
    clip: float | None = None
    seed: int | None = None
    deterministic: bool = False
    """Draw keys and seeds from the seed: reproducible, and insecure."""
    corrupted_fraction: float = DEFAULT_CORRUPTED_FRACTION
    dropout_fraction: float | None = None
    deadline_s: float | None = None
    latency: Any = None
    naive_unmasking: bool = False
    key_holder: int | str = 0
    """CKKS only: the client id that generates the keys and decrypts the sum, or "authority"."""
    progress: Callable | None = field(default=None, repr=False)
    backend: str = "local"
    ray_address: str | None = None
    """Ray backend only: the cluster to join, "HOST:PORT" or "auto"; None starts a local instance."""

    def __post_init__(self) -> None:
        check_choice("protocol", self.protocol, PROTOCOLS)
        check_choice("backend", self.backend, BACKENDS)
        if self.ray_address is not None and self.backend != "ray":
            raise ValueError("ray_address applies to the ray backend only; choose backend 'ray' "
                             "(--backend ray) or remove it")
        self.clients = check_int("clients", self.clients, minimum=2)
        self.dim = check_int("dim", self.dim, minimum=1)
        self.bits = check_int("bits", self.bits, minimum=1, maximum=52)
        self.drop_stage = check_int("drop_stage", self.drop_stage, minimum=0, maximum=4)
        if not 0.0 <= float(self.dropout_rate) < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {self.dropout_rate}")
        bad = [c for c in self.drop_clients if not 0 <= c < self.clients]
        if bad:
            raise ValueError(f"drop_clients must be ids in 0..{self.clients - 1}, got {bad}")
        if len(set(self.drop_clients)) != len(self.drop_clients):
            raise ValueError(f"drop_clients lists a client twice: {list(self.drop_clients)}")
        if self.seed is not None:
            self.seed = check_int("seed", self.seed, minimum=0, hint="seeds are non-negative")
        if self.protocol in ("secagg", "secagg+"):
            _check_masking_options(self)
        elif self.protocol == "plaintext":
            for name, value in (("degree", self.degree), ("threshold", self.threshold)):
                if value is not None:
                    raise ValueError(f"{name} does not apply to the plaintext protocol; remove it")
            if self.active:
                raise ValueError("active does not apply to the plaintext protocol; remove it")
        if self.protocol == "ckks":
            _check_ckks_options(self)
        elif self.key_holder != 0:
            raise ValueError(f"key_holder applies to ckks only, not to {self.protocol}; remove it")
        if self.inputs is not None:
            self.inputs = check_inputs(self.inputs, self.clients, self.dim, self.bits, self.clip)
            if self.protocol == "ckks":
                self.inputs = self.inputs.astype(np.float64)


def _check_masking_options(spec: "RunSpec") -> None:
    if spec.threshold is not None:
        check_int("threshold", spec.threshold, minimum=1, maximum=spec.clients)
    if spec.degree is None:
        return
    if spec.protocol == "secagg":
        raise ValueError("degree applies to secagg+ only; SecAgg uses the complete graph, so "
                         "remove it or choose protocol secagg+")
    check_int("degree", spec.degree, minimum=2, maximum=spec.clients - 1,
              hint="a client has at most clients - 1 neighbours")


def _check_memory(clients: int, dim: int) -> None:
    """Reject runs whose inputs alone, 8 bytes per element, exceed the machine's memory."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not available on every platform
        return
    needed = clients * dim * 8
    if needed > physical:
        raise ValueError(f"{clients} clients x dim {dim} need {needed / 2**30:.1f} GiB for the inputs "
                         f"alone, more than this machine's {physical / 2**30:.1f} GiB; use fewer "
                         "clients or a shorter vector")


def _check_ckks_options(spec: "RunSpec") -> None:
    """Reject the masking-only options and set the CKKS clipping bound.

    Without ``clip``, drawn inputs lie in [-1, 1] and integer inputs below
    2**bits, so the bound is 1.0 or 2**bits - 1. Float inputs need ``clip``.
    """
    for name, value, default in (("degree", spec.degree, None), ("active", spec.active, False),
                                 ("naive_unmasking", spec.naive_unmasking, False)):
        if value != default:
            raise ValueError(f"{name} applies to the masking protocols, not to ckks; remove it")
    if spec.deterministic:
        raise ValueError("deterministic is not available for ckks, because SEAL generates the CKKS "
                         "keys and cannot be seeded; remove it")
    if spec.threshold is not None:
        check_int("threshold", spec.threshold, minimum=1, maximum=spec.clients,
                  hint="for ckks it is the fewest included clients whose sum the key holder decrypts")
    if spec.clip is None:
        integer_inputs = spec.inputs is not None and np.asarray(spec.inputs).dtype.kind in "ui"
        if spec.inputs is None or integer_inputs:
            spec.clip = float(2**spec.bits - 1) if integer_inputs else 1.0
    else:
        spec.clip = check_positive_float("clip", spec.clip)


def check_inputs(inputs: Any, clients: int, dim: int, bits: int, clip: float | None) -> np.ndarray:
    """Validate an (clients, dim) input array: integers below 2**bits, or finite floats."""
    array = np.asarray(inputs)
    if array.shape != (clients, dim):
        raise ValueError(f"inputs must have shape ({clients}, {dim}), got {array.shape}")
    if array.dtype.kind == "f":
        bad = np.argwhere(~np.isfinite(array))
        if bad.size:
            i, j = bad[0]
            raise ValueError(f"inputs[{i}, {j}] is {array[i, j]}; inputs must be finite")
        if clip is None:
            raise ValueError("float inputs need a clipping range: pass clip (--clip C)")
        return array.astype(np.float64)
    if array.dtype.kind not in "ui":
        raise TypeError(f"inputs must be integers or floats, got dtype {array.dtype}")
    out_of_range = (array < 0) | (array >= 2**bits)
    if out_of_range.any():
        i, j = np.argwhere(out_of_range)[0]
        raise ValueError(f"inputs[{i}, {j}] = {int(array[i, j])} is outside [0, 2**{bits}); "
                         "raise --bits or pass smaller integers")
    return array.astype(np.uint64)


@dataclass
class RunOutcome:
    """The result, the network report and the ground truth of one run."""

    spec: RunSpec
    config: Any
    result: AggregationResult
    report: Any
    aggregate: np.ndarray | None
    """The decoded sum: integers for integer inputs, floats for float inputs."""
    correct: bool
    """The protocol's integer sum equals the plaintext sum over ``result.included``; for ckks,
    ``max_abs_error <= error_bound``."""
    max_abs_error: float | None = None
    """ckks only: max |decrypted sum - float64 sum of the clipped inputs| over ``result.included``."""
    error_bound: float | None = None
    """ckks only: the predicted bound of :mod:`secagg.he.precision`."""
    clipped: int = 0
    """Float inputs outside [-clip, clip] that were clipped before encoding (masking protocols)."""

    def to_json_dict(self) -> dict[str, Any]:
        spec, config = self.spec, self.config
        report = self.report.to_json_dict()
        # CKKS inputs are floats, compared with float32 at 4 bytes per parameter.
        plaintext_upload = 4 * spec.dim if spec.protocol == "ckks" else packed_size(spec.dim, spec.bits)
        expansion = report["bytes"]["client_upload_mean"] / plaintext_upload
        return {
            "protocol": spec.protocol, "clients": spec.clients, "dim": spec.dim,
            "bits": spec.bits, "modulus": getattr(config, "modulus", None),
            "threshold": getattr(config, "threshold", None),
            "degree": _degree(config) if spec.protocol in ("secagg", "secagg+") else None,
            "active": spec.active,
            "included": self.result.included, "aborted": self.result.aborted,
            "abort_reason": _reason(self.result),
            "exclusions": [{"client": e.client, "round": e.round.name, "reason": e.reason.name,
                            "detail": e.detail} for e in self.result.exclusions],
            "bytes": report["bytes"], "expansion": expansion, "seconds": report["seconds"],
            "correct": self.correct, "seed": spec.seed, "deterministic": spec.deterministic,
            "backend": spec.backend,
            "estimated_wall_clock_s": report["estimated_wall_clock_s"],
            "clipped": self.clipped,
            "max_abs_error": self.max_abs_error, "error_bound": self.error_bound,
            "ckks": _ckks_settings(config) if spec.protocol == "ckks" else None,
        }


def _ckks_settings(config) -> dict[str, Any]:
    parameters = config.parameters
    return {"poly_modulus_degree": parameters.poly_modulus_degree,
            "coeff_mod_bit_sizes": list(parameters.coeff_mod_bit_sizes),
            "scale_bits": parameters.scale_bits, "clip": config.clip,
            "key_holder": "authority" if config.authority else config.key_holder,
            "min_clients": config.min_clients, "ciphertexts_per_client": config.ciphertexts_per_client}


def _degree(config) -> int:
    return config.clients - 1 if config.degree is None else config.degree


def _reason(result: AggregationResult) -> str | None:
    if not result.aborted:
        return None
    return f"{result.abort_reason.name}: {result.abort_detail}"


def choose_parameters(spec: RunSpec) -> tuple[int | None, int]:
    """Return (degree, threshold): the given ones, or defaults for the protocol.

    SecAgg defaults to ``t = floor(n / 2) + 1`` (semi-honest) or
    ``floor(2n / 3) + 1`` (active), the bounds of Bonawitz et al.; SecAgg+
    takes (k, t) from the rule of Bell et al. with the corrupted and dropout
    fractions of the spec.
    """
    n = spec.clients
    if spec.protocol == "secagg":
        default_t = (2 * n) // 3 + 1 if spec.active else n // 2 + 1
        return None, default_t if spec.threshold is None else spec.threshold
    degree = spec.degree
    threshold = spec.threshold
    if degree is None or threshold is None:
        from secagg.protocols.graph_parameters import find_graph_parameters

        delta = spec.dropout_fraction
        if delta is None:
            delta = max(DEFAULT_DROPOUT_FRACTION, spec.dropout_rate)
        found = find_graph_parameters(n, spec.corrupted_fraction, delta, active=spec.active)
        if degree is None and not found.complete_graph:
            degree = found.degree
        threshold = found.threshold if threshold is None else threshold
    if degree is not None and degree >= n - 1:
        degree = None
    return degree, threshold


def draw_inputs(spec: RunSpec, generator: np.random.Generator) -> np.ndarray:
    if spec.protocol == "ckks":
        return generator.uniform(-spec.clip, spec.clip, size=(spec.clients, spec.dim))
    return generator.integers(0, 2**spec.bits, size=(spec.clients, spec.dim), dtype=np.uint64)


def dropout_ids(spec: RunSpec, generator: np.random.Generator) -> list[int]:
    """Return the clients that drop: the given ids plus round(rate * n) drawn from the seed."""
    chosen = set(spec.drop_clients)
    count = int(round(spec.dropout_rate * spec.clients))
    remaining = np.array(sorted(set(range(spec.clients)) - chosen))
    count = min(count, remaining.size)
    if count:
        chosen |= set(generator.choice(remaining, size=count, replace=False).tolist())
    return sorted(chosen)


def run(spec: RunSpec) -> RunOutcome:
    """Run one aggregation as ``spec`` describes; see the module docstring."""
    from secagg.network.simulator import simulate

    _check_memory(spec.clients, spec.dim)
    if spec.protocol in ("secagg", "secagg+"):
        warm_up_kernels(modulus_for(spec.clients, spec.bits))
    generator = np.random.default_rng(spec.seed)
    inputs = spec.inputs if spec.inputs is not None else draw_inputs(spec, generator)
    encoder, levels = _encode(spec, inputs, generator)
    dropped = dropout_ids(spec, generator)
    rng: RandomSource | None = DeterministicRandom(spec.seed or 0) if spec.deterministic else None

    network = dict(dropout={spec.drop_stage: dropped} if dropped else None, latency=spec.latency,
                   deadline_s=spec.deadline_s, seed=spec.seed, progress=spec.progress)
    if spec.backend == "ray":
        from secagg.simulation_ray import simulate_on_ray

        config, result, report = simulate_on_ray(spec, levels, rng, **network)
    else:
        config, server, clients = _build_parties(spec, levels, rng)
        result, report = simulate(server, clients, **network)
    aggregate, correct = None, False
    if spec.protocol == "ckks":
        from secagg.he.parties import measure_sum_error

        if result.aborted:
            return RunOutcome(spec, config, result, report, None, False)
        max_abs_error, error_bound = measure_sum_error(config, result, inputs)
        return RunOutcome(spec, config, result, report, result.aggregate, max_abs_error <= error_bound,
                          max_abs_error, error_bound)
    if not result.aborted:
        expected = levels[result.included].sum(axis=0, dtype=np.uint64) % np.uint64(config.modulus)
        correct = bool(np.array_equal(result.aggregate, expected))
        aggregate = result.aggregate
        if encoder is not None and result.included:
            aggregate = encoder.decode_sum(result.aggregate, len(result.included))
    outcome = RunOutcome(spec, config, result, report, aggregate, correct)
    outcome.clipped = _count_clipped(spec, inputs)
    return outcome


@functools.lru_cache(maxsize=8)
def warm_up_kernels(modulus: int) -> None:
    """Load the compiled Numba kernels with a tiny SecAgg run, so timings exclude it.

    The first call of each kernel in a process loads it from Numba's cache (or
    compiles it), which takes about a second and would otherwise be charged to
    the first client's first round. It runs once per process and modulus,
    because callers such as ``secagg fedavg`` run an aggregation every round.
    """
    from secagg.network.simulator import simulate

    config = MaskingConfig.create(3, 8, 1, 2, modulus=modulus, rng=DeterministicRandom(0))
    clients = [MaskingClient(config, i, np.zeros(8, np.uint64), rng=DeterministicRandom(i + 1))
               for i in range(3)]
    simulate(MaskingServer(config), clients, dropout={2: [2]})


def _count_clipped(spec: RunSpec, inputs: np.ndarray) -> int:
    """Return how many float inputs lie outside [-clip, clip]; the encoder clips them."""
    if inputs.dtype.kind != "f" or spec.clip is None:
        return 0
    return int(np.count_nonzero(np.abs(inputs) > spec.clip))


def _encode(spec: RunSpec, inputs: np.ndarray, generator: np.random.Generator):
    if inputs.dtype.kind != "f" or spec.protocol == "ckks":
        return None, inputs
    modulus = modulus_for(spec.clients, spec.bits)
    encoder = FixedPointEncoder.create(spec.clip, spec.bits, modulus, spec.clients)
    encoded = [encoder.encode(row, generator) for row in inputs]
    clipped = sum(report.clipped for _, report in encoded)
    if clipped:
        logger.info("clipped %d input values to [-%g, %g]", clipped, spec.clip, spec.clip)
    return encoder, np.stack([levels for levels, _ in encoded])


def _build_parties(spec: RunSpec, levels: np.ndarray, rng: RandomSource | None):
    # secagg.simulation_ray.build_ray_parties builds the same parties for the Ray backend.
    n = spec.clients
    if spec.protocol == "ckks":
        from secagg.he.parties import parties_for_spec

        return parties_for_spec(spec, levels)
    if spec.protocol == "plaintext":
        from secagg.protocols.plaintext import PlaintextClient, PlaintextConfig, PlaintextServer

        config = PlaintextConfig(n, spec.dim, modulus_for(n, spec.bits))
        clients = [PlaintextClient(config, i, levels[i]) for i in range(n)]
        return config, PlaintextServer(config), clients

    degree, threshold = choose_parameters(spec)
    config = MaskingConfig.create(n, spec.dim, spec.bits, threshold, degree,
                                  active=spec.active, rng=rng)
    keys, pki = make_pki(n, rng) if spec.active else ([None] * n, None)
    clients = [MaskingClient(config, i, levels[i], rng=rng.child(f"client/{i}") if rng else None,
                             signing_key=keys[i], pki=pki, naive_unmasking=spec.naive_unmasking)
               for i in range(n)]
    logger.debug("built %s with n=%d, k=%s, t=%d", config.protocol_name, n, degree, threshold)
    return config, MaskingServer(config, pki=pki), clients


def expected_float_error(spec: RunSpec, included: int) -> float:
    """Return the bound on the decoded float sum's error: one step per client."""
    if spec.clip is None:
        return 0.0
    return included * 2.0 * spec.clip / (2**spec.bits - 1) + 1e-9 * math.fabs(spec.clip)
