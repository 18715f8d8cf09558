"""Flatten a model update to one float64 vector, and restore it afterwards.

An update is one of:

* a NumPy array or a torch tensor;
* a list or tuple of them, the form Flower calls ``NDArrays``;
* a mapping from names to them, such as a torch ``state_dict``.

:func:`flatten_update` concatenates the tensors in order (mapping order for a
mapping) into one float64 vector and returns an :class:`UpdateLayout`, which
records the structure, names, shapes, dtypes and devices that
:func:`restore_update` needs to rebuild the same structure from an aggregated
vector. Only floating-point tensors are accepted, because a mean of integer
counters or boolean masks has no single right rounding.

torch is never imported here. A value counts as a tensor only if torch is
already imported by the caller, so this module works without the ``fl`` extra.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


class UpdateKind(enum.Enum):
    """The container of an update."""

    ARRAY = "array"
    """A single array or tensor."""
    SEQUENCE = "sequence"
    """A list or tuple of arrays or tensors."""
    MAPPING = "mapping"
    """A mapping from names to arrays or tensors, such as a ``state_dict``."""


@dataclass(frozen=True)
class TensorLayout:
    """Position and type of one tensor inside the flat vector."""

    name: str
    """Name used in messages: the mapping key, ``[i]`` for a sequence, ``update`` for a single array."""
    key: Any
    """Mapping key or sequence index used to rebuild the container; None for a single array."""
    shape: tuple[int, ...]
    dtype: Any
    """``numpy.dtype`` for arrays, ``torch.dtype`` for tensors."""
    device: Any
    """``torch.device`` of a tensor; None for a NumPy array."""
    offset: int
    """Index of the tensor's first element in the flat vector."""

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def is_torch(self) -> bool:
        """True for a torch tensor, False for a NumPy array."""
        return self.device is not None

    def describe_type(self) -> str:
        """Return the dtype as its library spells it, for example ``torch.float32`` or ``numpy float32``."""
        return str(self.dtype) if self.is_torch else f"numpy {self.dtype}"


@dataclass(frozen=True)
class UpdateLayout:
    """Structure of a flattened update: what :func:`restore_update` needs to rebuild it."""

    kind: UpdateKind
    container: type | None
    """Type of the list, tuple or mapping to rebuild; None for a single array."""
    tensors: tuple[TensorLayout, ...]

    @property
    def size(self) -> int:
        """Length of the flat vector: the total number of elements."""
        return sum(tensor.size for tensor in self.tensors)

    def tensor_at(self, index: int) -> tuple[TensorLayout, tuple[int, ...]]:
        """Return the tensor holding flat element ``index`` and the element's index inside it."""
        for tensor in self.tensors:
            if tensor.offset <= index < tensor.offset + tensor.size:
                local = int(index - tensor.offset)
                return tensor, tuple(int(i) for i in np.unravel_index(local, tensor.shape))
        raise IndexError(f"index {index} is outside the flat vector of {self.size} elements")


def _torch_tensor_type() -> type | None:
    torch = sys.modules.get("torch")
    return None if torch is None else torch.Tensor


def _is_tensor(value: Any) -> bool:
    tensor_type = _torch_tensor_type()
    return isinstance(value, np.ndarray) or (tensor_type is not None and isinstance(value, tensor_type))


def _where(client: int | None) -> str:
    return "update" if client is None else f"client {client}'s update"


def flatten_update(update: Any, *, client: int | None = None) -> tuple[np.ndarray, UpdateLayout]:
    """Flatten ``update`` to a 1-D float64 vector; return it with the layout that restores it.

    ``client`` only names the owner in error messages. Raises TypeError for a
    container or element type that is not supported, or a tensor whose dtype
    is not floating point, naming the tensor.
    """
    if _is_tensor(update):
        kind, container, items = UpdateKind.ARRAY, None, [(None, "update", update)]
    elif isinstance(update, Mapping):
        kind, container = UpdateKind.MAPPING, type(update)
        items = [(key, str(key), value) for key, value in update.items()]
    elif isinstance(update, (list, tuple)):
        kind, container = UpdateKind.SEQUENCE, type(update)
        items = [(index, f"[{index}]", value) for index, value in enumerate(update)]
    else:
        raise TypeError(f"{_where(client)} must be a NumPy array, a torch tensor, a list or tuple "
                        f"of them, or a mapping of names to them (a state_dict), got "
                        f"{type(update).__name__}")

    tensors, pieces, offset = [], [], 0
    for key, name, value in items:
        values, tensor = _flatten_tensor(value, key, name, offset, client)
        tensors.append(tensor)
        pieces.append(values)
        offset += tensor.size
    vector = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float64)
    return vector, UpdateLayout(kind, container, tuple(tensors))


def _flatten_tensor(value: Any, key: Any, name: str, offset: int,
                    client: int | None) -> tuple[np.ndarray, TensorLayout]:
    where = f"{_where(client)}, tensor {name!r}"
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            raise TypeError(f"{where} has dtype {value.dtype}; only floating-point tensors can be "
                            "averaged, so leave integer and boolean entries out of the update")
        tensor = TensorLayout(name, key, tuple(value.shape), value.dtype, None, offset)
        return value.astype(np.float64).reshape(-1), tensor

    tensor_type = _torch_tensor_type()
    if tensor_type is not None and isinstance(value, tensor_type):
        if not value.is_floating_point():
            raise TypeError(f"{where} has dtype {value.dtype}; only floating-point tensors can be "
                            "averaged, so leave integer and boolean entries (such as "
                            "num_batches_tracked) out of the update")
        tensor = TensorLayout(name, key, tuple(value.shape), value.dtype, value.device, offset)
        values = value.detach().to(device="cpu", dtype=sys.modules["torch"].float64)
        return values.numpy().reshape(-1), tensor

    raise TypeError(f"{where} must be a NumPy array or a torch tensor, got {type(value).__name__}; "
                    "convert plain lists with numpy.asarray and flatten nested containers first")


def restore_update(vector: np.ndarray, layout: UpdateLayout) -> Any:
    """Rebuild an update with ``layout``'s structure, shapes, dtypes and devices from ``vector``.

    The float64 values are cast to each tensor's dtype, so a float32 or
    float16 tensor gets that type's rounding. Raises ValueError if the vector
    length differs from ``layout.size``.
    """
    vector = np.asarray(vector, dtype=np.float64)
    if vector.shape != (layout.size,):
        raise ValueError(f"vector must have shape ({layout.size},) to match the layout, "
                         f"got {vector.shape}")

    values = [_restore_tensor(vector, tensor) for tensor in layout.tensors]
    if layout.kind is UpdateKind.ARRAY:
        return values[0]
    if layout.kind is UpdateKind.SEQUENCE:
        return layout.container(values) if layout.container in (list, tuple) else list(values)
    pairs = [(tensor.key, value) for tensor, value in zip(layout.tensors, values)]
    try:
        return layout.container(pairs)
    except TypeError:
        return dict(pairs)


def _restore_tensor(vector: np.ndarray, tensor: TensorLayout) -> Any:
    piece = vector[tensor.offset:tensor.offset + tensor.size].reshape(tensor.shape)
    if not tensor.is_torch:
        return piece.astype(tensor.dtype)
    torch = sys.modules["torch"]
    return torch.from_numpy(piece.copy()).to(device=tensor.device, dtype=tensor.dtype)
