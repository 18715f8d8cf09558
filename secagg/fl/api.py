"""Aggregate per-client model updates with one protocol over the simulated network.

:func:`aggregate` takes one update per client (NumPy arrays, torch tensors,
lists of them or state_dicts), runs the chosen protocol through
:func:`secagg.simulation.run`, and returns the sum or weighted mean in the
structure, shapes and dtypes of the inputs, with the run's measurements.

Every party runs in this process, so the caller has every plaintext update:
the function measures what a secure aggregation costs and how quantization
and dropouts change its output. It does not keep updates private. To deploy,
run one :class:`secagg.protocols.masking.MaskingClient` on each client and
carry its messages over the real transport (see the README).

Weighted aggregation follows the usual scheme for secure aggregation with
public weights:

1. Client ``i`` clips its update to ``[-clip, clip]`` and multiplies it by
   ``r_i = w_i / max_j w_j``, which keeps the product inside ``[-clip, clip]``.
2. The protocol sums the encoded products of the clients it includes.
3. The server multiplies the sum by ``max_j w_j`` (``reduction="sum"``) or
   divides it by the sum of ``r_i`` over the included clients only
   (``reduction="mean"``), so dropped clients leave the denominator.
"""

from __future__ import annotations

import dataclasses

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from secagg._validation import check_choice
from secagg.fl.layout import UpdateKind, UpdateLayout, flatten_update, restore_update
from secagg.fl.quantization import QuantizationSettings
from secagg.simulation import PROTOCOLS, RunOutcome, RunSpec, run

REDUCTIONS = ("sum", "mean")
_RESERVED_SPEC_FIELDS = ("protocol", "clients", "dim", "bits", "inputs", "clip")


@dataclass
class AggregateOutcome:
    """The aggregate of one run, and what the run measured."""

    aggregate: Any
    """Sum or weighted mean in the inputs' structure; None when the run aborted."""
    protocol: str
    reduction: str
    included: list[int]
    """Clients whose updates are in ``aggregate``, ascending."""
    aborted: bool
    abort_reason: str | None
    """``"REASON: detail"`` when the run aborted, else None."""
    bytes_total: int
    """Bytes of every message sent by the server or a client in the run."""
    seconds_total: float
    """Measured critical path of the protocol, summed over its rounds (see SimulationReport)."""
    weight_total: float
    """Sum of the included clients' weights: the denominator of a mean."""
    clipped: dict[int, dict[str, int]] = field(default_factory=dict)
    """Number of elements beyond ``clip``, by client and tensor name; only nonzero counts."""
    error_bound: float = 0.0
    """Bound on each element's quantization error, before the cast to the output dtype."""
    run: RunOutcome | None = field(default=None, repr=False)
    """The full outcome of :func:`secagg.simulation.run`, with the network report."""

    @property
    def clipped_total(self) -> int:
        """Number of clipped elements over all clients and tensors."""
        return sum(sum(counts.values()) for counts in self.clipped.values())

    def to_json_dict(self) -> dict[str, Any]:
        """Return the measurements, without the aggregate, as plain values for ``json.dumps``."""
        return {
            "protocol": self.protocol, "reduction": self.reduction,
            "included": list(self.included), "aborted": self.aborted,
            "abort_reason": self.abort_reason, "bytes_total": self.bytes_total,
            "seconds_total": self.seconds_total, "weight_total": self.weight_total,
            "clipped": {str(client): dict(counts) for client, counts in self.clipped.items()},
            "clipped_total": self.clipped_total, "error_bound": self.error_bound,
        }


def aggregate(updates: Sequence[Any], quantization: QuantizationSettings, *,
              protocol: str = "secagg+", weights: Sequence[float] | None = None,
              reduction: str = "sum", drop_clients: Sequence[int] = (), drop_stage: int = 2,
              seed: int | None = None, **spec_options: Any) -> AggregateOutcome:
    """Aggregate ``updates``, one per client, with ``protocol``; see the module docstring.

    ``weights`` (default: all 1) are public positive numbers, one per client.
    ``reduction="sum"`` returns the weighted sum over the included clients,
    ``"mean"`` the weighted mean. Clients in ``drop_clients`` stop sending
    from round ``drop_stage`` (2: before uploading their masked input).
    ``seed`` drives stochastic rounding and the simulator's draws; keys come
    from the OS unless ``deterministic=True`` is passed. Further keyword
    arguments go to :class:`secagg.simulation.RunSpec` (for example
    ``threshold``, ``degree``, ``active``, ``dropout_fraction``, or
    ``key_holder`` for ckks).

    An aborted run is not an exception: the outcome has ``aborted`` True and
    ``aggregate`` None. Raises TypeError or ValueError for invalid arguments,
    naming the client and tensor for mismatched or invalid updates.
    """
    check_choice("protocol", protocol, PROTOCOLS)
    check_choice("reduction", reduction, REDUCTIONS)
    if not isinstance(quantization, QuantizationSettings):
        raise TypeError(f"quantization must be a QuantizationSettings, got "
                        f"{type(quantization).__name__}; for example QuantizationSettings(clip=1.0)")
    unknown = sorted(set(spec_options) - {f.name for f in dataclasses.fields(RunSpec)})
    if unknown:
        hint = ("; strict belongs to QuantizationSettings(..., strict=True)" if "strict" in unknown
                else "; see the RunSpec fields in secagg.simulation")
        raise TypeError(f"aggregate() got unknown keyword arguments {', '.join(unknown)}{hint}")
    reserved = sorted(set(spec_options) & set(_RESERVED_SPEC_FIELDS))
    if reserved:
        raise TypeError(f"aggregate() sets {', '.join(reserved)} itself; remove "
                        f"{'it' if len(reserved) == 1 else 'them'} from the keyword arguments")

    vectors, layout = flatten_clients(updates)
    clients = len(vectors)
    weight_values = _check_weights(weights, clients)
    if protocol != "ckks":
        quantization.check_clients(clients)  # CKKS encrypts floats, so bits sets no modulus
    clipped = _clip(vectors, layout, quantization)

    relative = weight_values / weight_values.max()
    inputs = np.stack(vectors) * relative[:, None]
    spec = RunSpec(protocol, clients, layout.size, quantization.bits, inputs=inputs,
                   clip=quantization.clip, drop_clients=tuple(drop_clients),
                   drop_stage=drop_stage, seed=seed, **spec_options)
    outcome = run(spec)
    return _finish(outcome, layout, quantization, weight_values, reduction, clipped)


def flatten_clients(updates: Sequence[Any]) -> tuple[list[np.ndarray], UpdateLayout]:
    """Flatten each client's update in client 0's tensor order; return the vectors and client 0's layout.

    Raises TypeError or ValueError when an update is empty, differs from
    client 0's in structure, names, shapes or dtypes, or contains NaN or an
    infinity, naming the client and the tensor.
    """
    if isinstance(updates, (str, bytes)) or not isinstance(updates, Sequence):
        hint = ("; list(array) splits a stacked array along its first axis"
                if isinstance(updates, np.ndarray) else "")
        raise TypeError(f"updates must be a list or tuple with one update per client, "
                        f"got {type(updates).__name__}{hint}")
    if len(updates) < 2:
        raise ValueError(f"updates must contain at least 2 clients' updates, got {len(updates)}; "
                         "aggregating a single update protects nothing")

    reference: UpdateLayout | None = None
    vectors = []
    for client, update in enumerate(updates):
        vector, layout = flatten_update(update, client=client)
        if layout.size == 0:
            raise ValueError(f"client {client}'s update is empty: it has no tensors or only "
                             "tensors with zero elements")
        if reference is None:
            reference = layout
        else:
            vector = _align(vector, layout, reference, client)
        _check_finite(vector, reference, client)
        vectors.append(vector)
    return vectors, reference


def _align(vector: np.ndarray, layout: UpdateLayout, reference: UpdateLayout,
           client: int) -> np.ndarray:
    """Check ``layout`` against client 0's; return ``vector`` in client 0's tensor order."""
    if layout.kind is not reference.kind or layout.container is not reference.container:
        raise TypeError(f"client {client}'s update is a {_container_name(layout)}, but client 0's "
                        f"is a {_container_name(reference)}; every client must send the same structure")

    own = {tensor.name: tensor for tensor in layout.tensors}
    expected = [tensor.name for tensor in reference.tensors]
    missing = [name for name in expected if name not in own]
    if missing:
        raise ValueError(f"client {client}'s update has no tensor {missing[0]!r}, which client 0's "
                         f"has ({len(missing)} missing in all)")
    extra = [name for name in own if name not in set(expected)]
    if extra:
        raise ValueError(f"client {client}'s update has a tensor {extra[0]!r} that client 0's lacks "
                         f"({len(extra)} extra in all)")

    pieces = []
    for wanted in reference.tensors:
        tensor = own[wanted.name]
        where = f"client {client}, tensor {wanted.name!r}"
        if tensor.is_torch != wanted.is_torch or tensor.dtype != wanted.dtype:
            raise TypeError(f"{where} has dtype {tensor.describe_type()}, but client 0's has "
                            f"{wanted.describe_type()}; cast every client's tensors to one dtype")
        if tensor.shape != wanted.shape:
            raise ValueError(f"{where} has shape {tensor.shape}, but client 0's has shape "
                             f"{wanted.shape}; every client must send the same model")
        pieces.append(vector[tensor.offset:tensor.offset + tensor.size])
    return np.concatenate(pieces)


def _container_name(layout: UpdateLayout) -> str:
    if layout.kind is UpdateKind.ARRAY:
        return "single tensor" if layout.tensors[0].is_torch else "single array"
    return layout.container.__name__


def _check_finite(vector: np.ndarray, layout: UpdateLayout, client: int) -> None:
    bad = np.flatnonzero(~np.isfinite(vector))
    if bad.size:
        tensor, index = layout.tensor_at(int(bad[0]))
        raise ValueError(f"client {client}, tensor {tensor.name!r}: element {index} is "
                         f"{vector[bad[0]]} ({bad.size} non-finite values in this update); "
                         "updates must be finite, so check the client's training for divergence")


def _check_weights(weights: Sequence[float] | None, clients: int) -> np.ndarray:
    """Return ``weights`` as a float64 array after checking each entry; all ones for None."""
    if weights is None:
        return np.ones(clients)
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
        raise TypeError(f"weights must be a sequence of {clients} numbers, got {type(weights).__name__}")
    if len(weights) != clients:
        raise ValueError(f"weights must have one entry per client ({clients}), got {len(weights)}")
    values = []
    for client, weight in enumerate(weights):
        if hasattr(weight, "item") and getattr(weight, "ndim", 0) == 0:
            weight = weight.item()
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise TypeError(f"weights[{client}] must be a real number, got {weight!r} "
                            f"({type(weight).__name__})")
        if not np.isfinite(weight) or weight <= 0:
            raise ValueError(f"weights[{client}] must be a finite number > 0, got {weight}; "
                             "leave a client with no data out of the round instead")
        values.append(float(weight))
    return np.array(values)


def _clip(vectors: list[np.ndarray], layout: UpdateLayout,
          quantization: QuantizationSettings) -> dict[int, dict[str, int]]:
    """Clip each vector in place to [-clip, clip]; return the counts by client and tensor."""
    counts: dict[int, dict[str, int]] = {}
    for client, vector in enumerate(vectors):
        outside = np.abs(vector) > quantization.clip
        if not outside.any():
            continue
        if quantization.strict:
            first = int(np.flatnonzero(outside)[0])
            tensor, index = layout.tensor_at(first)
            raise ValueError(f"client {client}, tensor {tensor.name!r}: element {index} = "
                             f"{vector[first]} is outside [-{quantization.clip}, {quantization.clip}] "
                             f"({int(outside.sum())} such values in this update); raise clip or "
                             "scale the updates, or pass strict=False to clip and count them")
        counts[client] = {}
        for tensor in layout.tensors:
            count = int(outside[tensor.offset:tensor.offset + tensor.size].sum())
            if count:
                counts[client][tensor.name] = count
        np.clip(vector, -quantization.clip, quantization.clip, out=vector)
    return counts


def _finish(outcome: RunOutcome, layout: UpdateLayout, quantization: QuantizationSettings,
            weights: np.ndarray, reduction: str,
            clipped: dict[int, dict[str, int]]) -> AggregateOutcome:
    result, report = outcome.result, outcome.report
    included = sorted(int(c) for c in result.included)
    scale = float(weights.max())
    relative = weights / scale
    weight_total = float(weights[included].sum())
    aborted = bool(result.aborted) or not included
    abort_reason = None
    if result.aborted:
        abort_reason = f"{result.abort_reason.name}: {result.abort_detail}"
    elif not included:
        abort_reason = "no client included"

    value, error_bound = None, 0.0
    if not aborted:
        error_bound = quantization.sum_error_bound(len(included))
        protocol_bound = getattr(outcome, "error_bound", None)
        if protocol_bound is not None:
            error_bound = protocol_bound  # ckks: the bound of its precision analysis
        if reduction == "sum":
            total = np.asarray(outcome.aggregate, dtype=np.float64) * scale
            error_bound *= scale
        else:
            denominator = float(relative[included].sum())
            total = np.asarray(outcome.aggregate, dtype=np.float64) / denominator
            error_bound /= denominator
        value = restore_update(total, layout)

    return AggregateOutcome(
        aggregate=value, protocol=outcome.spec.protocol, reduction=reduction, included=included,
        aborted=aborted, abort_reason=abort_reason,
        bytes_total=int(sum(report.bytes_by_round().values())),
        seconds_total=float(sum(stats.seconds for stats in report.rounds)),
        weight_total=weight_total, clipped=clipped, error_bound=error_bound, run=outcome)
