"""Side-by-side timing of secagg's SecAgg+ and Flower's SecAgg+ (``flwr``) in one process.

Both protocols run with the same clients n, vector length m, neighbour count
k, threshold t and dropped clients, on the same integer inputs, with every
party in this process and messages relayed in Python:

- secagg: :class:`MaskingClient` and :class:`MaskingServer`, driven round by
  round as :mod:`secagg.network.simulator` drives them, with
  ``time.perf_counter`` around every client and server call.
- Flower: its own ``secaggplus_mod`` client mod and the stage methods of its
  ``SecAggPlusWorkflow`` server, unmodified. :class:`_InProcessGrid` takes the
  place of Flower's ``Grid``: it hands a copy of each server message to the
  destination node's mod and returns the replies. No Flower server, SuperLink
  or Ray runs.

The four stages are timed per client and for the server:

====================  ==========================  ===============================
stage                 Flower stage                client work
====================  ==========================  ===============================
``advertise_keys``    ``setup``                   generate two key pairs
``share_keys``        ``share_keys``              Shamir-share, encrypt shares
``masked_input``      ``collect_masked_vectors``  decrypt shares, mask the input
``unmasking``         ``unmask``                  reveal shares
====================  ==========================  ===============================

The server's time in the ``unmasking`` stage is the reconstruction of the
secrets and the removal of the masks. Server stage boundaries differ slightly:
secagg's server builds the next stage's messages when it closes a stage, and
Flower's workflow builds a stage's messages at the start of that stage.

Flower takes float vectors and quantizes them. Its inputs here are chosen so
that its quantization returns secagg's integers exactly: quantization range
T = 2**bits - 1, clipping range T / 2 and one example per client, so the
quantizer is ``x + T / 2`` with no rounding. Flower's modulus is set to
secagg's R, the smallest power of two above ``n * (2**bits - 1)``, which is
also large enough for Flower's weight element. Flower outputs the mean of the
survivors' values, which is converted back to an integer sum and compared
with the exact one.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
import time
from dataclasses import dataclass, field
from importlib import metadata
from types import SimpleNamespace
from typing import Any

import numpy as np

from secagg._validation import check_int
from secagg.primitives import shamir
from secagg.primitives.packing import bit_width
from secagg.protocols.base import Round
from secagg.protocols.masking import MaskingClient, MaskingConfig, MaskingServer
from secagg.protocols.masking.config import modulus_for
from secagg.simulation import RunSpec, choose_parameters, draw_inputs, dropout_ids

logger = logging.getLogger(__name__)

FLOWER_VERSION = "1.42.0"
"""The ``flwr`` version that the ``flower`` extra pins and this driver was written against."""

INSTALL_MESSAGE = ("Flower is not installed; install it in an environment of its own, as the "
                   "README's Benchmarks section shows: pip install -e \".[test,plots,he,flower]\"")

STAGES = ("advertise_keys", "share_keys", "masked_input", "unmasking")
FLOWER_STAGES = {"advertise_keys": "setup", "share_keys": "share_keys",
                 "masked_input": "collect_masked_vectors", "unmasking": "unmask"}
_STAGE_OF_FLOWER_STAGE = {flower_stage: stage for stage, flower_stage in FLOWER_STAGES.items()}

_STAGE_OF_ROUND = {Round.ADVERTISE_KEYS: "advertise_keys", Round.SHARE_KEYS: "share_keys",
                   Round.SHARE_RECEIPTS: "masked_input", Round.MASKED_INPUT_COLLECTION: "masked_input",
                   Round.UNMASKING: "unmasking"}
"""Flower's clients decrypt their shares in its masked-vector stage, so secagg's share
receipts, where its clients decrypt theirs, count in the same stage."""
_DROP_ROUND = Round.MASKED_INPUT_COLLECTION
"""Dropped clients send their shares, then nothing from this round on."""

_FLOWER_MAX_MODULUS = 2**32
"""Largest ``modulus_range`` passed to Flower, its default value.

Flower's docstring asks for a modulus below 2**32, but its default is 2**32 itself.
"""

_WARMUP = {"clients": 6, "dim": 256, "neighbours": 4, "threshold": 3, "dropout": 0.2}
"""A tiny run, still with one dropped client, that loads both sides' code before timing."""


def compare_with_flower(clients: int = 100, dim: int = 100_000, neighbours: int | None = None,
                        threshold: int | None = None, dropout: float = 0.1, bits: int = 24,
                        seed: int = 0, *, warmup: bool = True) -> dict[str, Any]:
    """Run secagg's and Flower's SecAgg+ on the same inputs and return the timings and ratios.

    ``neighbours`` (k, even) and ``threshold`` (t) default to the values that
    :func:`secagg.simulation.choose_parameters` picks for this dropout rate.
    Flower gets ``num_shares = k + 1`` (the neighbours and the client itself)
    and ``reconstruction_threshold = t``. ``round(dropout * clients)`` clients,
    drawn from ``seed``, drop after sending their shares. ``warmup`` first runs
    both sides once at a tiny size, so Numba's kernel loading and Flower's lazy
    imports are not timed. Flower's masks are drawn by NumPy on one core;
    secagg's mask expansion uses a second thread for large jobs on idle cores
    (see :func:`secagg.primitives.mask_expansion.accumulate`).

    Ratios are Flower's seconds divided by secagg's. Raises ImportError when
    ``flwr`` is missing, and ValueError for parameters that Flower rejects.
    """
    flower = _import_flower()
    plan = _plan(clients, dim, neighbours, threshold, dropout, bits, seed)

    if warmup:
        small = _plan(bits=bits, seed=seed, **_WARMUP)
        _run_secagg(small)
        _run_flower(flower, small)
    ours = _run_secagg(plan)
    theirs = _run_flower(flower, plan)

    from secagg.bench.machine import describe

    return {
        "parameters": _describe_plan(plan),
        "machine": describe(),
        "secagg": ours,
        "flower": theirs,
        "ratios": _ratios(ours, theirs),
        "correct": ours["correct"] and theirs["correct"],
        "primitives": describe_primitives(),
    }


def _import_flower() -> SimpleNamespace:
    try:
        import flwr
        from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
        from flwr.client.mod import secaggplus_mod
        from flwr.common import Code, FitIns, FitRes, Parameters, Status
        from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
        from flwr.common.secure_aggregation.quantization import quantize
        from flwr.common.secure_aggregation.secaggplus_constants import (RECORD_KEY_CONFIGS,
                                                                         Key, Stage)
        from flwr.compat.common import recorddict_compat
        from flwr.server.compat.legacy_context import LegacyContext
        from flwr.server.workflow import SecAggPlusWorkflow
        from flwr.server.workflow.secure_aggregation.secaggplus_workflow import WorkflowState
        from flwr.supercore.task_identity import TaskIdentity
    except ImportError as error:
        raise ImportError(INSTALL_MESSAGE) from error

    if flwr.__version__ != FLOWER_VERSION:
        logger.warning("flwr %s is installed, but this driver was written for flwr %s",
                       flwr.__version__, FLOWER_VERSION)
    return SimpleNamespace(**{name: value for name, value in locals().items() if name != "error"})


# ---------------------------------------------------------------- parameters


@dataclass(frozen=True)
class _Plan:
    """The shared parameters, inputs and dropped clients of one comparison."""

    clients: int
    dim: int
    bits: int
    neighbours: int
    """k: neighbours of each client, the client itself not counted."""
    threshold: int
    dropout: float
    seed: int
    modulus: int
    inputs: np.ndarray
    """(clients, dim) uint64 values below 2**bits."""
    dropped: tuple[int, ...]

    @property
    def survivors(self) -> list[int]:
        return sorted(set(range(self.clients)) - set(self.dropped))

    @property
    def quantization_range(self) -> int:
        """Flower's T: quantized values lie in [0, T], which covers every input."""
        return 2**self.bits - 1

    @property
    def clipping_range(self) -> float:
        """Flower's clipping range T / 2, which makes its quantizer ``x + T / 2``."""
        return self.quantization_range / 2


def _plan(clients: int, dim: int, neighbours: int | None, threshold: int | None, dropout: float,
          bits: int, seed: int) -> _Plan:
    """Validate the parameters for both sides, then draw the inputs and the dropped clients.

    The inputs and dropped clients are those that ``simulation.run`` draws
    for the same RunSpec and seed.
    """
    spec = RunSpec("secagg+", clients, dim, bits, threshold=threshold, degree=neighbours,
                   dropout_rate=dropout, drop_stage=int(_DROP_ROUND),
                   seed=check_int("seed", seed, minimum=0))
    degree, threshold = choose_parameters(spec)
    neighbours = clients - 1 if degree is None else degree
    MaskingConfig.create(clients, dim, bits, threshold, degree)  # raises for invalid (k, t)

    modulus = modulus_for(clients, bits)
    if modulus > _FLOWER_MAX_MODULUS:
        raise ValueError(f"bits must keep the modulus at most 2**32, Flower's limit, but "
                         f"{clients} inputs of {bits} bits need 2**{bit_width(modulus)}; "
                         "use fewer bits")
    check_int("threshold", threshold, minimum=2, maximum=neighbours,
              hint="Flower reads a threshold of 1 as a fraction and requires "
                   "threshold < neighbours + 1 (its num_shares)")

    generator = np.random.default_rng(seed)
    inputs = draw_inputs(spec, generator)
    dropped = tuple(dropout_ids(spec, generator))
    return _Plan(clients, dim, bits, neighbours, threshold, float(dropout), seed, modulus,
                 inputs, dropped)


def _describe_plan(plan: _Plan) -> dict[str, Any]:
    return {
        "clients": plan.clients, "dim": plan.dim, "bits": plan.bits,
        "neighbours": plan.neighbours, "shares_per_secret": plan.neighbours + 1,
        "threshold": plan.threshold, "dropout": plan.dropout, "dropped": list(plan.dropped),
        "seed": plan.seed, "modulus": plan.modulus,
        "flower_quantization_range": plan.quantization_range,
        "flower_clipping_range": plan.clipping_range,
    }


# ------------------------------------------------------------------- timing


@dataclass
class _StageTimes:
    """Seconds of each client call and of the server, by stage name."""

    client_s: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    server_s: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in STAGES})

    def summary(self, wall_s: float) -> dict[str, Any]:
        """Return per-stage and end-to-end seconds.

        ``sequential_s`` is all the work done one call after another: the
        server plus every client. ``parallel_s`` assumes that clients work in
        parallel: per stage, the server plus the slowest client.
        """
        stages = {}
        for stage in STAGES:
            times = self.client_s[stage]
            stages[stage] = {
                "clients": len(times),
                "client_mean_s": sum(times) / len(times) if times else 0.0,
                "client_max_s": max(times, default=0.0),
                "client_total_s": sum(times),
                "server_s": self.server_s[stage],
            }
        sequential = sum(s["server_s"] + s["client_total_s"] for s in stages.values())
        parallel = sum(s["server_s"] + s["client_max_s"] for s in stages.values())
        return {"stages": stages,
                "end_to_end": {"sequential_s": sequential, "parallel_s": parallel},
                "wall_s": wall_s}


def _ratio(flower_s: float, secagg_s: float) -> float | None:
    return flower_s / secagg_s if secagg_s > 0 else None


def _ratios(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Return Flower's seconds over secagg's, per stage and end to end."""
    stages = {}
    for stage in STAGES:
        secagg, flower = ours["stages"][stage], theirs["stages"][stage]
        stages[stage] = {
            "client_mean": _ratio(flower["client_mean_s"], secagg["client_mean_s"]),
            "server": _ratio(flower["server_s"], secagg["server_s"]),
            "sequential": _ratio(flower["server_s"] + flower["client_total_s"],
                                 secagg["server_s"] + secagg["client_total_s"]),
        }
    end_to_end = {name: _ratio(theirs["end_to_end"][name], ours["end_to_end"][name])
                  for name in ("sequential_s", "parallel_s")}
    return {"stages": stages, "end_to_end": end_to_end}


# ------------------------------------------------------------------- secagg


def _run_secagg(plan: _Plan) -> dict[str, Any]:
    """Run secagg's SecAgg+ with every call timed, and return the stage times and the check."""
    degree = None if plan.neighbours == plan.clients - 1 else plan.neighbours
    config = MaskingConfig.create(plan.clients, plan.dim, plan.bits, plan.threshold, degree)
    clients = [MaskingClient(config, i, plan.inputs[i]) for i in range(plan.clients)]
    server = MaskingServer(config)
    dropped = set(plan.dropped)
    times = _StageTimes()
    began = time.perf_counter()

    outgoing = {}
    for client in clients:
        outgoing[client.client_id] = _timed(times.client_s["advertise_keys"], client.start)
    while server.result is None:
        stage = _STAGE_OF_ROUND[server.round]
        started = time.perf_counter()
        for sender, message in outgoing.items():
            if message is not None:
                server.receive(sender, message)
        requests = server.close_round()
        times.server_s[stage] += time.perf_counter() - started

        outgoing = {}
        if server.result is not None:
            break
        stage = _STAGE_OF_ROUND[server.round]
        for client_id, message in requests.items():
            if client_id in dropped and server.round.order >= _DROP_ROUND.order:
                continue
            outgoing[client_id] = _timed(times.client_s[stage], clients[client_id].handle, message)

    wall = time.perf_counter() - began
    result = server.result
    expected = plan.inputs[plan.survivors].sum(axis=0, dtype=np.uint64) % np.uint64(plan.modulus)
    correct = (not result.aborted and result.included == plan.survivors
               and bool(np.array_equal(result.aggregate, expected)))
    return {**times.summary(wall), "included": len(result.included), "correct": correct,
            "abort_detail": result.abort_detail}


def _timed(sink: list[float], function, *args):
    """Call ``function(*args)``, append its seconds to ``sink`` and return its result."""
    started = time.perf_counter()
    result = function(*args)
    sink.append(time.perf_counter() - started)
    return result


# ------------------------------------------------------------------- Flower


class _InProcessGrid:
    """Stands in for Flower's ``Grid``: delivers messages to each node's ``secaggplus_mod``.

    A real transport serializes every message, so each node gets its own
    copy, and the workflow relies on that: its setup stage sends one content
    object to every node, and the mod removes the stage key from it. Copying
    and the client app's training step are timed apart, so that the caller
    can subtract them from the server's stage time.
    """

    def __init__(self, flower: SimpleNamespace, plan: _Plan, node_ids: list[int],
                 times: _StageTimes):
        self.flower = flower
        self.times = times
        self.contexts = {node: flower.Context(run_id=0, node_id=node, node_config={},
                                              state=flower.RecordDict(), run_config={})
                         for node in node_ids}
        self.values = {node: plan.inputs[i].astype(np.float64) - plan.clipping_range
                       for i, node in enumerate(node_ids)}
        self.dropped = {node_ids[i] for i in plan.dropped}
        self.outside_s = 0.0
        """Seconds spent copying messages and in the training step, which are not protocol work."""
        self.training_s = 0.0

    def send_and_receive(self, messages, *, timeout: float | None = None) -> list:
        flower = self.flower
        replies = []
        for message in messages:
            node = message.metadata.dst_node_id
            configs = message.content.config_records[flower.RECORD_KEY_CONFIGS]
            flower_stage = configs[flower.Key.STAGE]
            if node in self.dropped and flower_stage in (flower.Stage.COLLECT_MASKED_VECTORS,
                                                         flower.Stage.UNMASK):
                continue
            started = time.perf_counter()
            delivered = copy.deepcopy(message)
            copied = time.perf_counter()
            self.training_s = 0.0
            reply = flower.secaggplus_mod(delivered, self.contexts[node], self._train)
            finished = time.perf_counter()
            stage = _STAGE_OF_FLOWER_STAGE[flower_stage]
            self.times.client_s[stage].append(finished - copied - self.training_s)
            self.outside_s += copied - started + self.training_s
            replies.append(reply)
        return replies

    def _train(self, message, context):
        """Return the node's input vector as the result of training, with one example."""
        started = time.perf_counter()
        flower = self.flower
        parameters = flower.ndarrays_to_parameters([self.values[message.metadata.dst_node_id]])
        result = flower.FitRes(flower.Status(flower.Code.OK, ""), parameters, 1, {})
        reply = flower.Message(flower.recorddict_compat.fitres_to_recorddict(result, False),
                               reply_to=message)
        self.training_s = time.perf_counter() - started
        return reply


class _FixedStrategy:
    """The part of Flower's ``Strategy`` interface that ``SecAggPlusWorkflow`` calls."""

    def __init__(self, flower: SimpleNamespace, node_ids: list[int]):
        self.flower = flower
        self.node_ids = node_ids
        self.aggregate: list[np.ndarray] | None = None

    def configure_fit(self, server_round, parameters, client_manager):
        # Empty global parameters: sending a model to the clients is not part of SecAgg+.
        instructions = self.flower.FitIns(self.flower.Parameters([], "numpy.ndarray"), {})
        return [(SimpleNamespace(node_id=node), instructions) for node in self.node_ids]

    def aggregate_fit(self, server_round, results, failures):
        parameters = results[0][1].parameters
        self.aggregate = self.flower.parameters_to_ndarrays(parameters)
        return parameters, {}


def _run_flower(flower: SimpleNamespace, plan: _Plan) -> dict[str, Any]:
    """Run Flower's client mod and workflow stages in process, and return the stage times."""
    node_ids = [i + 1 for i in range(plan.clients)]
    times = _StageTimes()
    grid = _InProcessGrid(flower, plan, node_ids, times)
    strategy = _FixedStrategy(flower, node_ids)
    workflow = flower.SecAggPlusWorkflow(
        num_shares=plan.neighbours + 1, reconstruction_threshold=plan.threshold,
        max_weight=1.0, clipping_range=plan.clipping_range,
        quantization_range=plan.quantization_range, modulus_range=plan.modulus)
    context = _server_context(flower, strategy)
    state = flower.WorkflowState()
    steps = (workflow.setup_stage, workflow.share_keys_stage,
             workflow.collect_masked_vectors_stage, workflow.unmask_stage)

    began = time.perf_counter()
    with _server_process(flower.TaskIdentity, plan.seed):
        for stage, step in zip(STAGES, steps):
            client_before = sum(times.client_s[stage])
            outside_before = grid.outside_s
            started = time.perf_counter()
            completed = step(grid, context, state)
            elapsed = time.perf_counter() - started
            times.server_s[stage] = (elapsed - (sum(times.client_s[stage]) - client_before)
                                     - (grid.outside_s - outside_before))
            if not completed:
                logger.warning("Flower's workflow stopped in its %s stage", FLOWER_STAGES[stage])
                break
    wall = time.perf_counter() - began

    summary = times.summary(wall)
    summary.update(_check_flower(plan, strategy.aggregate if completed else None))
    summary["quantize_one_client_s"] = _time_quantize(flower, plan, grid.values[node_ids[0]])
    return summary


@contextlib.contextmanager
def _server_process(task_identity, seed: int):
    """Give this process a ServerApp task's identity and seed ``random``, restoring both after.

    Flower's ``Message`` reads the run, node and task ids of the process,
    which a SuperLink assigns in a deployment. The workflow shuffles the
    nodes with the global ``random``, seeded here so that runs repeat.
    """
    saved_ids = {name: vars(task_identity)[name] for name in ("_run_id", "_node_id", "_task_id")}
    saved_random = random.getstate()
    task_identity.run_id, task_identity.node_id, task_identity.task_id = 0, 0, 0
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved_random)
        for name, value in saved_ids.items():
            setattr(task_identity, name, value)


def _server_context(flower: SimpleNamespace, strategy: _FixedStrategy):
    """Build the LegacyContext that the workflow reads: round 1 and empty global parameters."""
    state = flower.RecordDict()
    state.config_records["config"] = flower.ConfigRecord({"current_round": 1})
    state.array_records["parameters"] = flower.ArrayRecord()
    base = flower.Context(run_id=0, node_id=0, node_config={}, state=state, run_config={})
    return flower.LegacyContext(base, strategy=strategy)


def _check_flower(plan: _Plan, aggregate: list[np.ndarray] | None) -> dict[str, Any]:
    """Compare Flower's output with the exact sum of the survivors' inputs.

    Flower outputs the weighted mean ``sum(x) / n'`` over the n' survivors,
    with ``x = value - T / 2``. Multiplying back gives the integer sum, which
    must match exactly because the quantization was exact.
    """
    survivors = plan.survivors
    if aggregate is None:
        return {"included": None, "correct": False, "max_abs_error_of_mean": None}
    mean = aggregate[0]
    count = len(survivors)
    expected = plan.inputs[survivors].sum(axis=0, dtype=np.uint64)
    recovered = np.rint(mean * count + count * plan.clipping_range)
    expected_mean = expected.astype(np.float64) / count - plan.clipping_range
    return {
        "included": count,
        "correct": bool(np.array_equal(recovered, expected.astype(np.float64))),
        "max_abs_error_of_mean": float(np.max(np.abs(mean - expected_mean))),
    }


def _time_quantize(flower: SimpleNamespace, plan: _Plan, values: np.ndarray) -> float:
    """Return the seconds of Flower's quantization of one vector, part of its masked_input stage.

    secagg's clients take integers, so this work has no counterpart in its timings.
    """
    started = time.perf_counter()
    flower.quantize([values], plan.clipping_range, plan.quantization_range)
    return time.perf_counter() - started


# --------------------------------------------------------------- primitives


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def describe_primitives() -> dict[str, Any]:
    """Describe the PRG, key agreement, share encryption and Shamir field of each side.

    The Flower entries describe flwr 1.42.0 (``secaggplus_mod``,
    ``SecAggPlusWorkflow`` and ``flwr.common.secure_aggregation``).
    """
    return {
        "secagg": {
            "version": _version("secagg"),
            "prg": "AES-256-CTR keystream (OpenSSL through cryptography), with the 32-byte seed "
                   "as the key and a counter block from SHA-256 of the session, round and "
                   "purpose. The keystream is read as ceil(log2 R)-bit fields with rejection, "
                   "so masks are uniform over Z_R.",
            "key_agreement": "X25519, then HKDF-SHA256 with an info string binding the purpose, "
                             "session id and both client ids, giving 32-byte keys.",
            "share_encryption": "AES-256-GCM with the session, sender, recipient and round as "
                                "associated data.",
            "shamir": f"GF(p), p = 2**31 + 11 = {shamir.PRIME}, over 31-bit limbs of the secret, "
                      "in Numba kernels. The shared secrets are the 32-byte self-mask seed and "
                      "the 32-byte X25519 mask private key.",
        },
        "flower": {
            "version": _version("flwr"),
            "pycryptodome": _version("pycryptodome"),
            "prg": "numpy.random.RandomState (MT19937) seeded with the XOR of the seed's "
                   "4-byte little-endian words, a 32-bit value. The self-mask seed is 32 random "
                   "bytes and a pairwise seed is the 44-byte base64url text of the HKDF key. "
                   "Mask elements come from randint(0, mod_range - 1), so lie in "
                   "[0, mod_range - 2].",
            "key_agreement": "ECDH on NIST P-384 (SECP384R1) through cryptography, then "
                             "HKDF-SHA256 with no salt and no info, giving 32 bytes that are "
                             "base64url-encoded. Keys are sent and stored as PEM and parsed "
                             "again for each exchange.",
            "share_encryption": "Fernet (AES-128-CBC and HMAC-SHA256) under the HKDF key.",
            "shamir": "PyCryptodome Crypto.Protocol.SecretSharing.Shamir over GF(2**128) "
                      "(x**128 + x**7 + x**2 + x + 1) on 16-byte chunks of the PKCS#7-padded "
                      "secret, in pure Python with a thread pool over the chunks. The shared "
                      "secrets are the 32-byte self-mask seed (3 chunks) and the PEM PKCS#8 "
                      "P-384 private key (306 bytes, 20 chunks).",
        },
    }
