"""Every TenSEAL call of the package: lazy import, silenced C++ output, contexts and vectors.

TenSEAL is an optional dependency (the ``he`` extra), so it is imported on
first use, never when ``secagg`` or ``secagg.he`` is imported.

TenSEAL 0.3.18 splits a vector longer than N/2 values into several
ciphertexts, and its C++ code then prints a warning to standard output.
:func:`quiet_stdout` discards it around every TenSEAL call that builds a
vector from values or multiplies one. Loading and adding vectors print
nothing, and the server's add path runs without it, because it is on the
path whose overhead over raw TenSEAL the benchmarks hold to 10%.

Contexts travel in TenSEAL's own serialization (protocol buffers holding
SEAL objects); nothing is pickled. Relinearization and Galois keys are never
serialized, because aggregation only adds and multiplies by plaintexts.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib
import os
import sys
import struct
from types import ModuleType

import numpy as np

from secagg.errors import WireFormatError
from secagg.he.params import CkksParameters

_tenseal: ModuleType | None = None
_libc: ctypes.CDLL | None = None
_sink = None


def load_tenseal() -> ModuleType:
    """Import and return ``tenseal``; raise a one-line ImportError with the install command if missing."""
    global _tenseal
    if _tenseal is None:
        try:
            _tenseal = importlib.import_module("tenseal")
        except ImportError:
            raise ImportError("the ckks protocol needs TenSEAL, which is not installed; install the "
                              "extras with: pip install -e \".[all]\"") from None
    return _tenseal


def _flush_c_stdout() -> None:
    """Flush the C library's stdout buffer, where C++ output may wait while fd 1 is a pipe or file."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None)
        _libc.fflush(None)
    except (OSError, AttributeError):  # no C library handle on this platform: nothing to flush
        pass


@contextlib.contextmanager
def quiet_stdout():
    """Discard standard output inside the block, at the Python and at the file-descriptor level.

    TenSEAL's bindings (``binding.cpp``) route C++ ``std::cout`` through
    pybind11's ``scoped_ostream_redirect`` into Python's ``sys.stdout``, and
    other native code writes to file descriptor 1, so both point at
    ``os.devnull`` inside the block. Output printed before the block is
    flushed first. Not thread safe: what other threads print during the
    block is discarded too.
    """
    global _sink
    if _sink is None:
        _sink = open(os.devnull, "w")  # kept open for the life of the process
    sys.stdout.flush()
    _flush_c_stdout()
    saved = os.dup(1)
    try:
        os.dup2(_sink.fileno(), 1)
        with contextlib.redirect_stdout(_sink):
            yield
    finally:
        _flush_c_stdout()
        os.dup2(saved, 1)
        os.close(saved)


def create_context(parameters: CkksParameters):
    """Generate a fresh CKKS key pair; return the TenSEAL context that contains it.

    Keys come from SEAL's own generator, which cannot be seeded from Python.
    """
    ts = load_tenseal()
    context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=parameters.poly_modulus_degree,
                         coeff_mod_bit_sizes=list(parameters.coeff_mod_bit_sizes))
    context.global_scale = parameters.scale
    return context


def serialize_secret_context(context) -> bytes:
    """Serialize the parameters, public key and secret key: what every key holder receives."""
    return context.serialize(save_public_key=True, save_secret_key=True,
                             save_galois_keys=False, save_relin_keys=False)


def serialize_server_context(context) -> bytes:
    """Serialize the parameters only, without any key: enough to add and scale ciphertexts."""
    return context.serialize(save_public_key=False, save_secret_key=False,
                             save_galois_keys=False, save_relin_keys=False)


def load_context(data: bytes):
    """Load a serialized context. Raises ValueError if ``data`` is not one."""
    ts = load_tenseal()
    try:
        return ts.context_from(data)
    except (ValueError, RuntimeError, TypeError) as error:
        raise ValueError(f"not a TenSEAL context: {error}") from None


def encrypt(context, values: np.ndarray) -> bytes:
    """Encrypt a float64 vector with the context's public key; return TenSEAL's serialization."""
    ts = load_tenseal()
    with quiet_stdout():
        return ts.ckks_vector(context, values).serialize()


def load_vector(context, data: bytes, parameters: CkksParameters, dim: int, *, start: int = 0):
    """Load a serialized CKKS vector after checking its layout.

    ``data[start:]`` is TenSEAL's serialization. ``data[:start]`` may be a
    secagg message header, which TenSEAL's parser skips as an unknown field
    (see :data:`secagg.protocols.wire.MAGIC`), so a whole CKKS_CIPHERTEXT
    message loads without a copy.

    Raises WireFormatError unless the serialization contains ``dim`` values
    in ``ceil(dim / slots)`` ciphertexts with encoding scale
    ``parameters.scale``, because TenSEAL checks only the declared size
    before it adds two vectors chunk by chunk. The scale field stays the
    encoding scale after a plaintext multiplication; SEAL keeps the actual
    scale inside each ciphertext.
    """
    view = memoryview(data)[start:]
    if not _has_canonical_layout(view, parameters, dim):
        _check_layout(view, parameters, dim)
    ts = load_tenseal()
    try:
        # Loading prints nothing (tests/he/test_quiet.py), and quiet_stdout would cost
        # more than the server adds to TenSEAL's own time for an upload.
        return ts.ckks_vector_from(context, data)
    except (ValueError, RuntimeError, TypeError) as error:
        raise WireFormatError(f"not a TenSEAL CKKS vector: {error}") from None


def _check_layout(view: memoryview, parameters: CkksParameters, dim: int) -> None:
    """Raise WireFormatError unless the vector in ``view`` has the layout :func:`load_vector` requires."""
    sizes, ciphertexts, scale = vector_layout(view)
    expected = parameters.ciphertexts_for(dim)
    if sum(sizes) != dim or len(sizes) != expected or ciphertexts != expected:
        raise WireFormatError(f"ciphertext contains {sum(sizes)} values in {ciphertexts} ciphertexts "
                              f"({len(sizes)} chunk sizes), expected {dim} values in {expected}")
    if max(sizes) > parameters.slots:
        raise WireFormatError(f"ciphertext has a chunk of {max(sizes)} values, more than the "
                              f"{parameters.slots} slots of a ciphertext")
    if scale != parameters.scale:
        raise WireFormatError(f"ciphertext has scale {scale!r}, expected 2**{parameters.scale_bits}")


def _has_canonical_layout(view: memoryview, parameters: CkksParameters, dim: int) -> bool:
    """Return True if ``view`` is a vector of the required layout in TenSEAL's field order.

    TenSEAL writes the chunk sizes, then each ciphertext, then the scale.
    Comparing the sizes and scale fields with their expected bytes and
    skipping over the ciphertexts is much faster than :func:`vector_layout`.
    False sends the vector to the full check, which accepts any field order
    and names the problem.
    """
    head, tail = _canonical_fields(parameters.slots, parameters.scale, dim)
    if view[:len(head)] != head or view[len(view) - len(tail):] != tail:
        return False
    offset, end = len(head), len(view) - len(tail)
    for _ in range(parameters.ciphertexts_for(dim)):
        if offset >= end or view[offset] != 0x12:  # field 2, length-delimited
            return False
        try:
            length, offset = _read_varint(view, offset + 1)
        except WireFormatError:
            return False
        offset += length
    return offset == end


@functools.lru_cache(maxsize=8)
def _canonical_fields(slots: int, scale: float, dim: int) -> tuple[bytes, bytes]:
    """Return the expected bytes of the chunk-size field and of the scale field."""
    full, rest = divmod(dim, slots)
    packed = b"".join(_varint(size) for size in [slots] * full + ([rest] if rest else []))
    return b"\x0a" + _varint(len(packed)) + packed, b"\x19" + struct.pack("<d", scale)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decrypt(vector) -> np.ndarray:
    """Decrypt with the secret key of the vector's context; return float64 values."""
    with quiet_stdout():
        return np.asarray(vector.decrypt(), dtype=np.float64)


def vector_layout(data: bytes | memoryview) -> tuple[list[int], int, float]:
    """Return (chunk sizes, number of ciphertexts, scale) of a serialized TenSEAL CKKS vector.

    Reads the top-level fields of TenSEAL 0.3's ``CKKSVectorProto``
    (``tenseal/proto/tensors.proto``): 1 = packed uint32 chunk sizes,
    2 = one serialized SEAL ciphertext per chunk, 3 = the scale as a double.
    Ciphertext bytes are skipped, not copied. Raises WireFormatError on any
    other structure.
    """
    view = memoryview(data)
    sizes: list[int] = []
    ciphertexts = 0
    scale = float("nan")
    offset = 0
    while offset < len(view):
        key, offset = _read_varint(view, offset)
        number, wire_type = key >> 3, key & 7
        if number == 3 and wire_type == 1:
            if offset + 8 > len(view):
                raise WireFormatError("CKKS vector is truncated in its scale field")
            scale = struct.unpack_from("<d", view, offset)[0]
            offset += 8
            continue
        if wire_type != 2 or number not in (1, 2):
            raise WireFormatError(f"CKKS vector has an unexpected field {number} of wire type {wire_type}")
        length, offset = _read_varint(view, offset)
        end = offset + length
        if end > len(view):
            raise WireFormatError("CKKS vector is truncated inside a field")
        if number == 1:
            while offset < end:
                size, offset = _read_varint(view, offset)
                sizes.append(size)
            if offset != end:
                raise WireFormatError("CKKS vector has a malformed chunk-size list")
        else:
            ciphertexts += 1
        offset = end
    if not sizes:
        raise WireFormatError("CKKS vector declares no chunks")
    return sizes, ciphertexts, scale


def _read_varint(view: memoryview, offset: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 64, 7):
        if offset >= len(view):
            raise WireFormatError("CKKS vector is truncated inside a varint")
        byte = view[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
    raise WireFormatError("CKKS vector has a varint longer than 64 bits")
