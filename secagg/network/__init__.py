"""A simulated network that runs any protocol of :mod:`secagg.protocols.base`.

:func:`simulate` carries every message as bytes between one server and its
clients, applies a dropout model, per-round deadlines and an optional
latency model, and returns the protocol's result with a
:class:`SimulationReport` of bytes, seconds and dropouts.
"""

from secagg.network.dropout import (CallableDropout, DropoutModel, FixedDropout, NoDropout,
                                    RateDropout, as_dropout_model)
from secagg.network.latency import ClientLinks, LatencyModel, Link
from secagg.network.report import ByteCounts, DropCause, Dropout, RoundStats, SimulationReport
from secagg.network.simulator import MAX_ROUNDS, RoundProgress, simulate

__all__ = [
    "ByteCounts", "CallableDropout", "ClientLinks", "DropCause", "Dropout", "DropoutModel",
    "FixedDropout", "LatencyModel", "Link", "MAX_ROUNDS", "NoDropout", "RateDropout",
    "RoundProgress", "RoundStats", "SimulationReport", "as_dropout_model", "simulate",
]
