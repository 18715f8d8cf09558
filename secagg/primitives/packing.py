"""Bit-packed serialization of vectors over Z_R.

A vector of ``count`` elements of Z_R, ``R <= 2**62``, is written at
``width = bit_width(R)`` bits per element, least significant bit first:
element ``i`` occupies bits ``[i * width, (i + 1) * width)`` of the output,
where bit ``j`` is bit ``j % 8`` of byte ``j // 8``. The output has
``ceil(count * width / 8)`` bytes and unused high bits of the last byte are
zero. The same layout turns a PRG keystream into ``width``-bit candidates.

The kernels are compiled with Numba; their ``py_func`` attribute runs the same
code in plain Python, which the tests compare against.
"""

from __future__ import annotations

import numba
import numpy as np

from secagg._validation import check_int

MAX_WIDTH = 62
"""Widest element these kernels pack: elements of Z_R with R <= 2**62."""


def bit_width(modulus: int) -> int:
    """Return ceil(log2(modulus)), the bits that hold any element of Z_modulus."""
    modulus = check_int("modulus", modulus, minimum=2, maximum=2**MAX_WIDTH)
    return (modulus - 1).bit_length()


def packed_size(count: int, width: int) -> int:
    """Return the number of bytes that ``count`` elements of ``width`` bits take."""
    return (count * width + 7) // 8


@numba.njit(cache=True, nogil=True)
def _pack_kernel(values, width, words):
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    for i in range(values.shape[0]):
        value = values[i] & mask
        bit = i * width
        word = bit >> 6
        offset = bit & 63
        words[word] |= value << np.uint64(offset)
        if offset + width > 64:
            words[word + 1] |= value >> np.uint64(64 - offset)


@numba.njit(cache=True, nogil=True)
def _unpack_kernel(words, width, out):
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    for i in range(out.shape[0]):
        bit = i * width
        word = bit >> 6
        offset = bit & 63
        value = words[word] >> np.uint64(offset)
        if offset + width > 64:
            value |= words[word + 1] << np.uint64(64 - offset)
        out[i] = value & mask


def _as_words(data: bytes | np.ndarray, nbytes: int) -> np.ndarray:
    """Copy ``data`` into zero-padded little-endian 64-bit words."""
    nwords = nbytes // 8 + 2
    words = np.zeros(nwords, dtype="<u8")
    words.view(np.uint8)[:nbytes] = np.frombuffer(data, dtype=np.uint8, count=nbytes)
    return words


def pack(values: np.ndarray, width: int) -> bytes:
    """Pack non-negative integers below ``2**width`` at ``width`` bits each.

    Raises ValueError if an element does not fit in ``width`` bits: packing
    never truncates.
    """
    width = check_int("width", width, minimum=1, maximum=MAX_WIDTH)
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"values must be a 1-D array, got shape {values.shape}")
    if values.size and values.dtype.kind not in "ui":
        raise TypeError(f"values must have an integer dtype, got {values.dtype}")
    if values.size and (values.min() < 0 or int(values.max()) >> width):
        bad = int(np.flatnonzero((values < 0) | (values.astype(np.uint64) >> np.uint64(width) != 0))[0])
        raise ValueError(f"values[{bad}] = {int(values[bad])} does not fit in "
                         f"{width} bits; reduce it modulo R before packing")
    values = values.astype(np.uint64, copy=False)
    nbytes = packed_size(values.size, width)
    words = np.zeros(nbytes // 8 + 2, dtype="<u8")
    _pack_kernel(values, width, words)
    return words.view(np.uint8)[:nbytes].tobytes()


def unpack(data: bytes, width: int, count: int) -> np.ndarray:
    """Unpack ``count`` elements of ``width`` bits, the inverse of :func:`pack`.

    Raises ValueError if ``data`` is not exactly ``packed_size(count, width)``
    bytes long or if the padding bits of the last byte are not zero.
    """
    width = check_int("width", width, minimum=1, maximum=MAX_WIDTH)
    count = check_int("count", count, minimum=0)
    expected = packed_size(count, width)
    if len(data) != expected:
        raise ValueError(f"packed data must be {expected} bytes for {count} elements of "
                         f"{width} bits, got {len(data)} bytes")
    spare = expected * 8 - count * width
    if spare and data[-1] >> (8 - spare):
        raise ValueError("packed data has non-zero padding bits in its last byte")
    out = np.empty(count, dtype=np.uint64)
    _unpack_kernel(_as_words(data, expected), width, out)
    return out


def unpack_stream(data: bytes | np.ndarray, width: int, count: int) -> np.ndarray:
    """Read the first ``count`` fields of ``width`` bits from a byte stream.

    Unlike :func:`unpack`, ``data`` may be longer than needed; this is how the
    PRG reads candidates from its keystream.
    """
    nbytes = packed_size(count, width)
    out = np.empty(count, dtype=np.uint64)
    _unpack_kernel(_as_words(data, nbytes), width, out)
    return out
