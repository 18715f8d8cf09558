"""Kernels and driver for other R: w-bit fields read with rejection of those >= R."""

from __future__ import annotations

import numba
import numpy as np

from secagg.primitives.mask_expansion.jobs import (_BATCH, MaskStream, _cipher, _Job,
                                                   _KeystreamBuffer, _run_threads, _scratch_array)
from secagg.primitives.packing import unpack_stream

_RUN = 256
"""Fields the rejection kernel checks at once. A run with no field >= R is added as a whole."""


@numba.njit(cache=True, nogil=True)
def _field(words, index, width):
    """Return bit field ``index`` of ``width`` bits of a little-endian 64-bit word array."""
    bit = np.uint64(index) * np.uint64(width)
    word = bit >> np.uint64(6)
    offset = bit & np.uint64(63)
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    high = (words[word + np.uint64(1)] << np.uint64(1)) << (np.uint64(63) - offset)
    return ((words[word] >> offset) | high) & mask


@numba.njit(cache=True, nogil=True)
def _unpack_fields(words, first, width, out):
    """Write fields ``first .. first + out.size - 1`` of ``words`` into ``out``.

    ``words`` contains 32-bit words when ``width`` is 32, and 64-bit words otherwise.
    """
    if width == 32:
        fields = words[first:first + out.shape[0]]
        for k in range(out.shape[0]):
            out[k] = np.uint64(fields[k])
    else:
        for k in range(out.shape[0]):
            out[k] = _field(words, first + k, width)


@numba.njit(cache=True, nogil=True)
def _all_below(values, modulus):
    largest = np.uint64(0)
    for k in range(values.shape[0]):
        largest = max(largest, values[k])
    return largest < modulus


@numba.njit(cache=True, nogil=True)
def _add_mod(current, value, modulus, negate):
    """Return ``current`` plus (or minus) ``value`` modulo ``modulus``, both below it."""
    if negate:
        value = modulus - value
    updated = current + value
    return updated - modulus if updated >= modulus else updated


@numba.njit(cache=True, nogil=True)
def _add_all(part, values, modulus, negate):
    """Add (or subtract) ``values`` < ``modulus`` to ``part`` modulo ``modulus``."""
    for k in range(part.shape[0]):
        part[k] = _add_mod(part[k], values[k], modulus, negate)


@numba.njit(cache=True, nogil=True)
def _add_accepted_values(part, fill, values, modulus, negate):
    """Add the values below ``modulus`` at ``part[fill:]`` until it is full.

    Returns the new fill and the number of values consumed.
    """
    count = values.shape[0]
    if count <= part.shape[0] - fill and _all_below(values, modulus):
        _add_all(part[fill:fill + count], values, modulus, negate)
        return fill + count, count
    index = 0
    while index < count and fill < part.shape[0]:
        if values[index] < modulus:
            part[fill] = _add_mod(part[fill], values[index], modulus, negate)
            fill += 1
        index += 1
    return fill, index


@numba.njit(cache=True, nogil=True)
def _add_accepted_fields(part, fill, words, width, count, modulus, negate):
    """Like :func:`_add_accepted_values`, reading the first ``count`` fields of a keystream."""
    values = np.empty(_RUN, dtype=np.uint64)
    index = 0
    while index < count and fill < part.shape[0]:
        length = min(_RUN, count - index)
        if width == 32:  # the words are the fields
            fill, used = _add_accepted_values(part, fill, words[index:index + length], modulus,
                                              negate)
        else:
            _unpack_fields(words, index, width, values[:length])
            fill, used = _add_accepted_values(part, fill, values[:length], modulus, negate)
        index += used
    return fill, index


@numba.njit(cache=True, nogil=True)
def _add_accepted_batch(part, fills, unread, unread_counts, words, counts, signs, width,
                        modulus):
    """Add each stream's next elements into ``part``: its unread fields, then its keystream.

    Stream ``s`` reads the first ``counts[s]`` fields of ``words[s]`` and
    keeps those it did not need in ``unread[s]``. ``fills[s]`` gets the
    number of elements it added, and fewer than ``part.size`` means that
    its fields fell short.
    """
    for s in range(words.shape[0]):
        negate = signs[s] < 0
        stream_unread = unread[s]
        fill, used = _add_accepted_values(part, 0, stream_unread[:unread_counts[s]], modulus,
                                          negate)
        left = unread_counts[s] - used
        for k in range(left):  # moves the fields still unread to the front
            stream_unread[k] = stream_unread[used + k]
        if counts[s] > 0:
            fill, used = _add_accepted_fields(part, fill, words[s], width, counts[s], modulus,
                                              negate)
            _unpack_fields(words[s], used, width, stream_unread[left:left + counts[s] - used])
            left += counts[s] - used
        unread_counts[s] = left
        fills[s] = fill


def _fields_for(needed: int, acceptance: float) -> int:
    """Return how many fields to read for ``needed`` elements: 2% above the expected need."""
    fields = int(needed / acceptance * 1.02) + 64
    return fields + (-fields % 64)  # keeps every keystream request byte aligned


class _RejectionBatch:
    """Ciphers and unread fields of a batch of streams, kept between chunks."""

    def __init__(self, batch: list[MaskStream], width: int, modulus: int, unread: np.ndarray):
        self.ciphers = [_cipher(s.seed, s.domain) for s in batch]
        self.signs = np.array([s.sign for s in batch], dtype=np.int8)
        self.width = width
        self.modulus = np.uint64(modulus)
        self.acceptance = modulus / float(1 << width)
        self.unread = unread
        self.unread_counts = np.zeros(len(batch), dtype=np.int64)
        self.counts = np.zeros(len(batch), dtype=np.int64)
        self.fills = np.zeros(len(batch), dtype=np.int64)

    def fill(self, keystreams: _KeystreamBuffer, count: int) -> np.ndarray:
        """Write the keystream that each stream needs for its next ``count`` elements.

        A stream whose unread fields may suffice gets none. Those that are
        rejected are made up for in :meth:`add_into`. Returns the keystream rows.
        """
        for s, cipher in enumerate(self.ciphers):
            needed = count - int(self.unread_counts[s])
            self.counts[s] = _fields_for(needed, self.acceptance) if needed > 0 else 0
            if needed > 0:
                keystreams.fill(s, cipher, int(self.counts[s]) * self.width // 8)
        return keystreams.rows(np.dtype("<u4") if self.width == 32 else np.uint64,
                               len(self.ciphers))

    def add_into(self, part: np.ndarray, words: np.ndarray) -> None:
        """Add each stream's next ``part.size`` elements, read from ``words``, into ``part``."""
        _add_accepted_batch(part, self.fills, self.unread, self.unread_counts, words,
                            self.counts, self.signs, self.width, self.modulus)
        for s in np.flatnonzero(self.fills < part.size):
            self._top_up(s, part)

    def _top_up(self, s: int, part: np.ndarray) -> None:
        """Read more of stream ``s``'s keystream until its elements fill ``part``.

        Its unread fields are all used up when this runs.
        """
        fill = int(self.fills[s])
        while fill < part.size:
            fields = _fields_for(part.size - fill, self.acceptance)
            keystream = self.ciphers[s].update(bytes(fields * self.width // 8))
            values = unpack_stream(keystream, self.width, fields)
            fill, used = _add_accepted_values(part, fill, values, self.modulus,
                                              self.signs[s] < 0)
        self.unread[s, :fields - used] = values[used:]
        self.unread_counts[s] = fields - used


def accumulate_rejection(total, streams, modulus, width, span, threads) -> None:
    acceptance = modulus / float(1 << width)
    fields = _fields_for(span, acceptance)
    job = _Job(total, streams, span, threads)
    buffers = [_KeystreamBuffer(slot, fields * width // 8) for slot in range(threads)]
    # A stream keeps at most the surplus of one keystream request, and the
    # surplus of a request for ``span`` elements is the largest but for rounding.
    unread = [_scratch_array(f"unread{slot}", (_BATCH, fields - span + 64), np.uint64)
              for slot in range(threads)]

    def work(slot: int) -> None:
        while (batch := job.next_batch()) is not None:
            state = _RejectionBatch(batch, width, modulus, unread[slot][:len(batch)])
            for part, lock in job.chunks():
                words = state.fill(buffers[slot], part.size)
                with lock:
                    state.add_into(part, words)

    _run_threads(work, threads, job)
