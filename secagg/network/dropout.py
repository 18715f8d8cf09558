"""Dropout models: which clients leave a simulated run, and at which stage.

A stage is a :class:`~secagg.protocols.base.Round` value from 0 to 4. A client
that drops at stage S sends nothing from round S on and handles no server
message from the one that opens round S on. Stage 0 means it never sends
anything. A client dropping at stage 2 of SecAgg sent its round-0 and round-1
messages, share receipt included (:attr:`Round.stage` of SHARE_RECEIPTS is
1), but not its masked input.

The simulator calls the model's ``select`` once per stage, in increasing
order, for every stage up to the round it is about to run, passing the
clients still active. Stages after the protocol's last round are skipped,
because a client has nothing left to withhold. A protocol that starts at
round 2 (the plaintext baseline) therefore applies stages 0, 1 and 2 before
its only upload.

Every model draws its randomness from the generator that the simulator
passes in, seeded from the simulation seed, so a run is reproducible.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol, Union

import numpy as np

from secagg._validation import check_int
from secagg.protocols.base import Round

STAGES = tuple(Round(value) for value in range(Round.FINISHED))
"""Stages at which a client can drop: ADVERTISE_KEYS (0) to UNMASKING (4)."""


class DropoutModel(Protocol):
    """Chooses the clients that drop at one stage."""

    def select(self, stage: Round, active: Sequence[int], rng: np.random.Generator) -> set[int]:
        """Return the ids among ``active`` (sorted ascending) that drop at ``stage``."""


class NoDropout:
    """No client drops."""

    def select(self, stage: Round, active: Sequence[int], rng: np.random.Generator) -> set[int]:
        return set()


class FixedDropout:
    """Fixed client ids per stage, for example ``{2: {0, 5}}``.

    An id that already dropped at an earlier stage, or that is not a client
    of the run, is ignored.
    """

    def __init__(self, stages: Mapping[int, Collection[int]]):
        self.stages = {_check_stage(stage): frozenset(check_int("dropout client id", client)
                                                      for client in clients)
                       for stage, clients in stages.items()}

    def select(self, stage: Round, active: Sequence[int], rng: np.random.Generator) -> set[int]:
        return self.stages.get(stage, frozenset()) & set(active)


class RateDropout:
    """A fraction of the clients still active drops at each stage, for example ``{0: 0.1}``.

    At a stage with rate ``p`` and ``n`` active clients, ``floor(p * n + 0.5)``
    clients chosen uniformly without replacement drop.
    """

    def __init__(self, rates: Mapping[int, float]):
        self.rates = {_check_stage(stage): _check_rate(stage, rate) for stage, rate in rates.items()}

    def select(self, stage: Round, active: Sequence[int], rng: np.random.Generator) -> set[int]:
        count = math.floor(self.rates.get(stage, 0.0) * len(active) + 0.5)
        if count == 0:
            return set()
        return {int(client) for client in rng.choice(np.asarray(active), size=count, replace=False)}


class CallableDropout:
    """A user function ``drops(stage, client_id, rng) -> bool``.

    It is called for each active client in increasing id order, so a
    function that draws from ``rng`` gives the same clients for the same seed.
    """

    def __init__(self, drops: Callable[[Round, int, np.random.Generator], bool]):
        if not callable(drops):
            raise TypeError(f"drops must be callable, got {type(drops).__name__}")
        self.drops = drops

    def select(self, stage: Round, active: Sequence[int], rng: np.random.Generator) -> set[int]:
        return {client for client in active if self.drops(stage, client, rng)}


DropoutSpec = Union[DropoutModel, Mapping[int, Collection[int]], Mapping[int, float],
                    Callable[[Round, int, np.random.Generator], bool], None]


def as_dropout_model(spec: DropoutSpec) -> DropoutModel:
    """Return the model that ``spec`` describes.

    None means no dropout. A mapping from stage to collections of ids becomes
    a :class:`FixedDropout`, a mapping from stage to numbers a
    :class:`RateDropout`, and a plain function a :class:`CallableDropout`.
    Any object with a ``select`` method is returned unchanged.
    """
    if spec is None:
        return NoDropout()
    if hasattr(spec, "select"):
        return spec
    if isinstance(spec, Mapping):
        values = list(spec.values())
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            return RateDropout(spec)
        if all(isinstance(v, Collection) and not isinstance(v, (str, bytes)) for v in values):
            return FixedDropout(spec)
        raise TypeError("dropout mapping values must be all rates (numbers) or all collections "
                        f"of client ids, got {sorted({type(v).__name__ for v in values})}")
    if callable(spec):
        return CallableDropout(spec)
    raise TypeError("dropout must be None, a mapping from stage to ids or rates, a callable "
                    f"(stage, client_id, rng) -> bool, or a DropoutModel; got {type(spec).__name__}")


def _check_stage(stage: int) -> Round:
    return Round(check_int("dropout stage", stage, minimum=0, maximum=len(STAGES) - 1,
                           hint="stages are the Round values ADVERTISE_KEYS (0) to UNMASKING (4)"))


def _check_rate(stage: int, rate: float) -> float:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"dropout rate of stage {stage} must be a number, got {type(rate).__name__}")
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout rate of stage {stage} must be between 0 and 1, got {rate}")
    return rate
