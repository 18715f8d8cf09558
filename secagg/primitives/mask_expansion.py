"""Fused, chunked, two-threaded expansion and accumulation of PRG masks.

:func:`accumulate` computes, in place,

    total = total + sum_s sign_s * PRG(seed_s, domain_s)   (mod R)

and returns the same bits as calling :func:`secagg.primitives.prg.expand`
once per stream and adding the results (:func:`accumulate_reference`, which
the tests compare against). It never materializes a whole mask:

The vector is cut into equal chunks that fit a core's L2 cache, and the
streams into batches. For each batch and chunk, the keystream of the batch
is written into a reused buffer with ``update_into`` (one OpenSSL call per
stream and chunk), then one Numba kernel adds it into the chunk of ``total``:

- R = 2**w: element i of a stream is bit field i of its keystream. The
  kernels add fields modulo 2**64, bits above the field included, and keep
  the low w bits once at the end: the result modulo 2**w is the same.
  Three kernels read the fields: whole words for w = 8, 16 and 32; for
  w = b + d with b = 8, 16 or 32, d dividing b and at least 8 fields per
  group (w = 9, 17, 18, 33, 34, 36), field j of a group of b / d fields is
  the 2b-bit window at word j of the group shifted right by j * d, which
  vectorizes; other widths shift two 64-bit words per field.
- Other R: rejection sampling makes the position of element i unknowable
  without reading the fields before it. Each stream keeps its cipher and
  its unread fields between chunks. The kernel reads a stream's fields in
  runs: a run without a field >= R is added as a whole, which vectorizes
  and is the common case for R close to 2**w; a run with one is read field
  by field, skipping the fields >= R.

The kernels release the GIL, and so does ``update_into`` from
``cryptography`` 50 on (measured: two threads wrote 14 to 16 GB/s of
keystream on 2 cores, one thread 8 GB/s; with ``cryptography`` 48, two
threads were no faster than one). For large jobs :func:`accumulate`
therefore runs two threads, the calling one and a helper.
They take batches in turn, and each writes and adds its own keystream, so
one thread writes keystream while the other runs a kernel, and each reads
the keystream it wrote from its own core's cache. A kernel holds the lock
of its chunk of ``total``, so no two kernels write the same elements at
once. Additions modulo R commute, so the result is bit-identical to one
thread's.

Extra memory is a keystream buffer and the unread fields of a batch per
thread, O(chunk x batch x threads), independent of the vector length and the
number of streams. The calling thread keeps this memory for its next call,
because touching fresh memory costs more than writing keystream into it.
"""

from __future__ import annotations

import functools
import math
import os
import queue
import threading
from typing import NamedTuple, Sequence

import numba
import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from secagg._validation import check_int
from secagg.primitives import prg
from secagg.primitives.packing import MAX_WIDTH, bit_width, unpack_stream

DEFAULT_CHUNK = 1 << 15
"""Maximum elements per chunk: 256 KiB of uint64 accumulator, sized for a core's L2 cache."""

_BATCH = 32
"""Most streams whose keystream one kernel call consumes.

NOTE: with two threads, each kernel call hands the GIL to the other thread,
which took 20 to 30 microseconds to wake in measurements on a 2-core virtual
machine. So a batch and chunk should take far longer: 32 streams x 32768
elements of 33 bits are 4 MiB of keystream, about 0.5 ms of AES.
"""

PARALLEL_MIN_WORK = 1 << 22
"""Stream elements (streams x vector length) from which :func:`accumulate` uses two threads.

NOTE: chosen from measurements on a 2-core machine, as was the need for two
chunks (see :func:`_parallel_pays`). Smaller jobs ran as fast or slower.
"""


class MaskStream(NamedTuple):
    """One PRG mask to add (``sign`` = +1) or subtract (``sign`` = -1)."""

    seed: bytes
    domain: bytes
    sign: int


def accumulate(total: np.ndarray, streams: Sequence[MaskStream], modulus: int, *,
               chunk: int = DEFAULT_CHUNK, parallel: bool | None = None) -> None:
    """Add ``sign * PRG(seed, domain)`` of every stream to ``total`` modulo ``modulus``.

    ``total`` must be a writeable, C-contiguous uint64 vector with elements
    below ``modulus``. ``parallel`` runs a second thread (see the module
    docstring). None chooses it for large jobs on idle cores (see
    :func:`_parallel_pays`). The result does not depend on ``chunk`` or
    ``parallel``.
    """
    modulus = check_int("modulus", modulus, minimum=2, maximum=2**MAX_WIDTH)
    chunk = check_int("chunk", chunk, minimum=128)
    if not (isinstance(total, np.ndarray) and total.dtype == np.uint64 and total.ndim == 1
            and total.flags.c_contiguous and total.flags.writeable):
        raise TypeError("total must be a writeable, C-contiguous 1-D uint64 array")
    streams = [_check_stream(index, stream) for index, stream in enumerate(streams)]
    if not streams or total.size == 0:
        return

    if parallel is None:
        parallel = _parallel_pays(len(streams), total.size, chunk)
    threads = 2 if parallel else 1
    width = bit_width(modulus)
    if modulus == 1 << width:
        _accumulate_power_of_two(total, streams, width, _span(total.size, chunk, 128), threads)
    else:
        _accumulate_rejection(total, streams, modulus, width, _span(total.size, chunk, 64),
                              threads)


def _parallel_pays(streams: int, size: int, chunk: int) -> bool:
    """Return True if two threads are likely faster for ``streams`` masks of ``size`` elements.

    They need a large job, at least two chunks (with one, the kernels of
    both threads wait for the same chunk), and an idle core: the 1-minute
    load average must be below the core count minus 0.5.
    """
    if size <= chunk or streams * size < PARALLEL_MIN_WORK:
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS and Windows
        cores = os.cpu_count() or 1
    if cores < 2:
        return False
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on Windows
        return True
    return busy < cores - 0.5


def _span(size: int, chunk: int, align: int) -> int:
    """Return the length of the equal chunks, a multiple of ``align``, that cover ``size``.

    Equal chunks avoid a small last chunk, which would cost a kernel call per batch for
    little work.
    """
    chunk -= chunk % align
    chunks = -(-size // chunk)
    span = -(-size // chunks)
    return span + (-span % align)


def accumulate_reference(total: np.ndarray, streams: Sequence[MaskStream], modulus: int) -> None:
    """Do what :func:`accumulate` does, one whole mask at a time; for tests."""
    for stream in streams:
        mask = prg.expand(stream.seed, total.size, modulus, stream.domain)
        if stream.sign > 0:
            total += mask
        else:
            total += np.uint64(modulus) - mask
        total %= np.uint64(modulus)


def _check_stream(index: int, stream) -> MaskStream:
    seed, domain, sign = stream
    if not isinstance(seed, bytes) or len(seed) != prg.SEED_BYTES:
        raise ValueError(f"streams[{index}].seed must be {prg.SEED_BYTES} bytes")
    if sign not in (1, -1):
        raise ValueError(f"streams[{index}].sign must be +1 or -1, got {sign!r}")
    return MaskStream(seed, bytes(domain), sign)


def _cipher(seed: bytes, domain: bytes):
    return Cipher(algorithms.AES(seed), _counter_mode(domain)).encryptor()


@functools.lru_cache(maxsize=64)
def _counter_mode(domain: bytes) -> modes.CTR:
    """Return the CTR mode of ``domain``, built once: the streams of a job share few domains."""
    return modes.CTR(prg.counter_block(domain))


_scratch = threading.local()


def _scratch_array(name: str, shape: tuple, dtype) -> np.ndarray:
    """Return an uninitialized array in this thread's scratch memory ``name``.

    The memory is kept for the next call: fresh memory costs a page fault
    per 4 KiB on first use, which took longer than writing keystream into
    it (0.6 ms per MB in measurements on a 2-core virtual machine).
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    memory = getattr(_scratch, name, None)
    if memory is None or memory.size < nbytes:
        memory = np.empty(nbytes, dtype=np.uint8)
        setattr(_scratch, name, memory)
    return memory[:nbytes].view(dtype).reshape(shape)


@functools.lru_cache(maxsize=8)
def _zeros(nbytes: int) -> memoryview:
    """Return ``nbytes`` zero bytes, the plaintext of a keystream row, as a view.

    Slicing the view copies nothing.
    """
    return memoryview(bytes(nbytes))


class _KeystreamBuffer:
    """One keystream row per stream of a batch, in scratch memory number ``slot``."""

    def __init__(self, slot: int, row_bytes: int):
        self.row_stride = (row_bytes // 8 + 2) * 8
        self.buffer = _scratch_array(f"keystream{slot}", (_BATCH * self.row_stride + 16,),
                                     np.uint8)
        self.view = memoryview(self.buffer)
        self.zeros = _zeros(row_bytes)

    def fill(self, row: int, cipher, nbytes: int) -> None:
        offset = row * self.row_stride
        cipher.update_into(self.zeros[:nbytes], self.view[offset:offset + nbytes + 15])

    def rows(self, dtype, count: int) -> np.ndarray:
        rows = self.buffer[:_BATCH * self.row_stride].view(dtype)
        return rows.reshape(_BATCH, -1)[:count]


class _Job:
    """The batches of streams still to add, and a lock per chunk of ``total``.

    The threads of a job take batches in turn. A kernel adds into a chunk
    only while it holds the chunk's lock, so no two kernels write the same
    part of ``total`` at once.
    """

    def __init__(self, total: np.ndarray, streams: list[MaskStream], span: int, threads: int):
        self.total = total
        self.span = span
        # Equal batches, as many for each thread, so that the threads end together.
        batches = threads * -(-len(streams) // (threads * _BATCH))
        size = -(-len(streams) // batches)
        self.batches: queue.SimpleQueue = queue.SimpleQueue()
        for b in range(0, len(streams), size):
            self.batches.put(streams[b:b + size])
        self.locks = [threading.Lock() for _ in range(0, total.size, span)]
        self.failed = threading.Event()

    def next_batch(self) -> list[MaskStream] | None:
        """Return the next batch to add, or None when all are taken or a thread failed."""
        if self.failed.is_set():
            return None
        try:
            return self.batches.get_nowait()
        except queue.Empty:
            return None

    def chunks(self):
        """Yield each chunk of ``total`` with its lock."""
        for index, lock in enumerate(self.locks):
            start = index * self.span
            yield self.total[start:start + self.span], lock


def _run_threads(work, threads: int, job: _Job) -> None:
    """Run ``work(0)`` in this thread and ``work(1) .. work(threads - 1)`` in new ones.

    Raises the first error of any thread, after every thread has ended.
    """
    errors: list[BaseException] = []

    def run(slot: int) -> None:
        try:
            work(slot)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)
            job.failed.set()

    helpers = [threading.Thread(target=run, args=(slot,), name="secagg-masks", daemon=True)
               for slot in range(1, threads)]
    for helper in helpers:
        helper.start()
    try:
        work(0)
    except BaseException:
        job.failed.set()
        raise
    finally:
        for helper in helpers:
            helper.join()
    if errors:
        raise errors[0]


# Power-of-two moduli ------------------------------------------------------------------

_BLOCK = 1024
"""Elements the kernels add from every stream of a batch before moving on (L1-sized)."""


@numba.njit(cache=True, nogil=True)
def _keep_low_bits(target, width):
    """Reduce every element of ``target`` modulo 2**width."""
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    for i in range(target.shape[0]):
        target[i] &= mask


@numba.njit(cache=True, nogil=True)
def _add_words(target, words, signs, width):
    """Add fields of 8, 16 or 32 bits that are the words of ``words``."""
    count = target.shape[0]
    for first in range(0, count, _BLOCK):
        part = target[first:min(first + _BLOCK, count)]
        for s in range(words.shape[0]):
            row = words[s, first:first + part.shape[0]]
            if signs[s] < 0:
                for i in range(part.shape[0]):
                    part[i] -= np.uint64(row[i])
            else:
                for i in range(part.shape[0]):
                    part[i] += np.uint64(row[i])
    _keep_low_bits(target, width)


@numba.njit(cache=True, nogil=True)
def _add_windows(target, words, signs, width):
    """Add fields of ``width`` = b + d bits, with b the bits of a word of ``words`` and d | b.

    A group of b / d fields spans b / d + 1 words: field j of the group is
    the 2b-bit window of its words j and j + 1 shifted right by j * d.
    """
    bits = words.itemsize * 8
    step = width - bits
    group = bits // step
    count = target.shape[0]
    for first in range(0, count, _BLOCK):  # _BLOCK is a multiple of every group size
        last = min(first + _BLOCK, count)
        for s in range(words.shape[0]):
            row = words[s]
            negate = signs[s] < 0
            for start in range(first, last, group):
                part = target[start:min(start + group, last)]
                base = start // group * (group + 1)
                low = row[base:base + part.shape[0]]
                high = row[base + 1:base + 1 + part.shape[0]]
                if negate:
                    for j in range(part.shape[0]):
                        part[j] -= ((np.uint64(low[j]) | (np.uint64(high[j]) << np.uint64(bits)))
                                    >> np.uint64(j * step))
                else:
                    for j in range(part.shape[0]):
                        part[j] += ((np.uint64(low[j]) | (np.uint64(high[j]) << np.uint64(bits)))
                                    >> np.uint64(j * step))
    _keep_low_bits(target, width)


@numba.njit(cache=True, nogil=True)
def _add_fields(target, words, signs, width):
    """Add fields of any ``width`` up to 64 bits from 64-bit ``words``."""
    one = np.uint64(1)
    top = np.uint64(63)
    w = np.uint64(width)
    count = target.shape[0]
    for first in range(0, count, _BLOCK):
        # A slice, not an offset, lets LLVM vectorize the inner loops.
        part = target[first:min(first + _BLOCK, count)]
        for s in range(words.shape[0]):
            row = words[s]
            negate = signs[s] < 0
            for i in range(part.shape[0]):
                bit = np.uint64(first + i) * w
                index = bit >> np.uint64(6)
                offset = bit & top
                # (x << 1) << (63 - offset) is x << (64 - offset), and 0 when offset is 0.
                value = (row[index] >> offset) | ((row[index + one] << one) << (top - offset))
                if negate:
                    part[i] -= value
                else:
                    part[i] += value
    _keep_low_bits(target, width)


def _power_of_two_kernel(width: int):
    """Return the kernel for fields of ``width`` bits and the word type it reads."""
    if width in (8, 16, 32):
        return _add_words, np.dtype(f"<u{width // 8}")
    for bits in (8, 16, 32):
        step = width - bits
        if 0 < step and bits % step == 0 and bits // step >= 8:
            return _add_windows, np.dtype(f"<u{bits // 8}")
    return _add_fields, np.dtype("<u8")


def _accumulate_power_of_two(total, streams, width, span, threads) -> None:
    kernel, dtype = _power_of_two_kernel(width)
    job = _Job(total, streams, span, threads)
    buffers = [_KeystreamBuffer(slot, span * width // 8) for slot in range(threads)]

    def work(slot: int) -> None:
        keystreams = buffers[slot]
        while (batch := job.next_batch()) is not None:
            signs = np.array([s.sign for s in batch], dtype=np.int8)
            ciphers = [_cipher(s.seed, s.domain) for s in batch]
            for part, lock in job.chunks():
                for row, cipher in enumerate(ciphers):
                    keystreams.fill(row, cipher, (part.size * width + 7) // 8)
                with lock:
                    kernel(part, keystreams.rows(dtype, len(batch)), signs, width)

    _run_threads(work, threads, job)


# Other moduli: rejection sampling ------------------------------------------------------

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


def _accumulate_rejection(total, streams, modulus, width, span, threads) -> None:
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
