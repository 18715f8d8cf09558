"""Federated-learning adapters: aggregate model updates with any protocol, and the FedAvg job.

:func:`aggregate` and the flatten and restore helpers need only NumPy; torch
tensors work when the caller has imported torch. :mod:`secagg.fl.fedavg`,
:mod:`secagg.fl.data` and :mod:`secagg.fl.plot` import torch, scikit-learn
or matplotlib when called, and raise ImportError naming the extra if missing.
"""

from secagg.fl.api import AggregateOutcome, aggregate
from secagg.fl.layout import TensorLayout, UpdateKind, UpdateLayout, flatten_update, restore_update
from secagg.fl.quantization import QuantizationSettings

__all__ = [
    "AggregateOutcome", "QuantizationSettings", "TensorLayout", "UpdateKind", "UpdateLayout",
    "aggregate", "flatten_update", "restore_update",
]
