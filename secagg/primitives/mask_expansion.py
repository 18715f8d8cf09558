"""Fused, chunked, multi-threaded expansion and accumulation of PRG masks.

:func:`accumulate` computes, in place,

    total = total + sum_s sign_s * PRG(seed_s, domain_s)   (mod R)

and returns the same bits as calling :func:`secagg.primitives.prg.expand`
once per stream and adding the results (:func:`accumulate_reference`, which
the tests compare against). It never materializes a whole mask:

The vector is walked in chunks that fit a core's L2 cache. For each chunk,
the keystream of a batch of streams is written into one reused buffer with
``update_into`` (one OpenSSL call per stream and chunk), then one Numba
kernel adds it into the chunk of ``total``:

- R = 2**w: element i of a stream is bit field i of its keystream, so the
  kernel splits the chunk's elements among the cores (``prange``) and each
  core adds every stream's fields for its elements. For w = 8, 16 and 32
  the fields are whole words and one core adds them faster than OpenSSL
  produces them.
- Other R: rejection sampling makes the position of element i unknowable
  without reading the fields before it. Each stream keeps its cipher and its
  unconsumed candidates between chunks; a kernel filters each stream's
  candidates into a row of accepted values in parallel over the streams, and
  a second kernel sums the rows into the chunk in parallel over elements.

The parallel kernels run only for large jobs (see :func:`accumulate`).
Either way each element of ``total`` is written by one core, so results are
bit-identical for any core count. Extra memory is O(chunk x batch), plus a
cipher context per stream on the rejection path, and does not grow with the
vector.

NOTE: ``cryptography`` 48 holds the GIL during ``update_into`` (measured:
two Python threads encrypt no faster than one), so the AES keystream is
produced on one core and only the Numba kernels use all cores.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numba
import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from secagg._validation import check_int
from secagg.primitives import prg
from secagg.primitives.packing import MAX_WIDTH, bit_width, unpack_stream

DEFAULT_CHUNK = 1 << 15
"""Elements per chunk: 256 KiB of uint64 accumulator, sized for a core's L2 cache."""

_BATCH = 8
"""Streams whose keystream one kernel call consumes."""

PARALLEL_MIN_WORK = 1 << 25
"""Stream elements (streams x vector length) from which the kernels use all cores.

NOTE: chosen from measurements on a 2-core machine: below it, and on a
machine busy with other work, starting Numba's threads cost more than it
saved.
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
    below ``modulus``. ``parallel`` spreads the kernels over Numba's threads;
    None chooses it when more than one thread is available and the job has
    at least :data:`PARALLEL_MIN_WORK` stream elements. The result does not
    depend on ``chunk``, ``parallel`` or the number of threads.
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
        parallel = numba.get_num_threads() > 1 and len(streams) * total.size >= PARALLEL_MIN_WORK
    width = bit_width(modulus)
    if modulus == 1 << width:
        _accumulate_power_of_two(total, streams, width, chunk - chunk % 128, parallel)
    else:
        _accumulate_rejection(total, streams, modulus, width, chunk - chunk % 64, parallel)


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
    return Cipher(algorithms.AES(seed), modes.CTR(prg.counter_block(domain))).encryptor()


class _KeystreamBuffer:
    """A reused buffer holding one keystream row per stream of a batch."""

    def __init__(self, row_bytes: int):
        self.row_stride = (row_bytes // 8 + 2) * 8
        self.buffer = bytearray(_BATCH * self.row_stride + 16)
        self.view = memoryview(self.buffer)
        self.zeros = memoryview(bytes(row_bytes))  # a view, so slicing copies nothing

    def fill(self, row: int, cipher, nbytes: int) -> None:
        offset = row * self.row_stride
        cipher.update_into(self.zeros[:nbytes], self.view[offset:offset + nbytes + 15])

    def rows(self, dtype, count: int) -> np.ndarray:
        itemsize = np.dtype(dtype).itemsize
        flat = np.frombuffer(self.buffer, dtype=dtype, count=_BATCH * self.row_stride // itemsize)
        return flat.reshape(_BATCH, -1)[:count]


# Power-of-two moduli ------------------------------------------------------------------

_BLOCK = 1024
"""Elements per parallel work item in the kernels."""


@numba.njit(cache=True, nogil=True)
def _add_fields_block(part, first, words, signs, width):
    """Add fields ``first ..`` of each row of ``words`` into ``part``, modulo 2**width."""
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    one = np.uint64(1)
    top = np.uint64(63)
    w = np.uint64(width)
    for s in range(words.shape[0]):
        row = words[s]
        negate = signs[s] < 0
        for i in range(part.shape[0]):
            bit = np.uint64(first + i) * w
            index = bit >> np.uint64(6)
            offset = bit & top
            # (x << 1) << (63 - offset) is x << (64 - offset), and 0 when offset is 0.
            value = ((row[index] >> offset) | ((row[index + one] << one) << (top - offset))) & mask
            if negate:
                part[i] = (part[i] - value) & mask
            else:
                part[i] = (part[i] + value) & mask


@numba.njit(cache=True, nogil=True)
def _add_fields_serial(target, words, signs, width):
    """Add the first ``target.size`` w-bit fields of each row of ``words`` into ``target``."""
    count = target.shape[0]
    for block in range((count + _BLOCK - 1) // _BLOCK):
        first = block * _BLOCK
        # A slice, not an offset, lets LLVM vectorize the inner loop.
        _add_fields_block(target[first:min(first + _BLOCK, count)], first, words, signs, width)


@numba.njit(cache=True, nogil=True, parallel=True)
def _add_fields_parallel(target, words, signs, width):
    """Run :func:`_add_fields_serial` with the blocks spread over the cores."""
    count = target.shape[0]
    for block in numba.prange((count + _BLOCK - 1) // _BLOCK):
        first = block * _BLOCK
        _add_fields_block(target[first:min(first + _BLOCK, count)], first, words, signs, width)


@numba.njit(cache=True, nogil=True)
def _add_words_batch(target, words, signs, mask):
    """Add whole 8-, 16- or 32-bit words: the fast path for those widths.

    It runs on one core: it is faster than the keystream it reads, and a
    parallel launch cost more than it saved in measurements at 32 bits.
    """
    count = target.shape[0]
    for block in range((count + _BLOCK - 1) // _BLOCK):
        first = block * _BLOCK
        last = min(first + _BLOCK, count)
        part = target[first:last]
        for s in range(words.shape[0]):
            row = words[s, first:last]
            if signs[s] < 0:
                for i in range(part.shape[0]):
                    part[i] = (part[i] - np.uint64(row[i])) & mask
            else:
                for i in range(part.shape[0]):
                    part[i] = (part[i] + np.uint64(row[i])) & mask


def _accumulate_power_of_two(total, streams, width, chunk, parallel) -> None:
    add_fields = _add_fields_parallel if parallel else _add_fields_serial
    narrow = {8: np.uint8, 16: np.uint16, 32: np.uint32}.get(width)
    span = min(chunk, total.size)
    keystreams = _KeystreamBuffer((span * width + 7) // 8)
    mask = np.uint64((1 << width) - 1)

    for b in range(0, len(streams), _BATCH):
        batch = streams[b:b + _BATCH]
        signs = np.array([s.sign for s in batch], dtype=np.int8)
        ciphers = [_cipher(s.seed, s.domain) for s in batch]
        for a in range(0, total.size, span):
            count = min(span, total.size - a)
            for row, cipher in enumerate(ciphers):
                keystreams.fill(row, cipher, (count * width + 7) // 8)
            target = total[a:a + count]
            if narrow is not None:
                _add_words_batch(target, keystreams.rows(narrow, len(batch)), signs, mask)
            else:
                add_fields(target, keystreams.rows(np.uint64, len(batch)), signs, width)


# Other moduli: rejection sampling ------------------------------------------------------

@numba.njit(cache=True, nogil=True)
def _keep_accepted(row, filled, candidates, modulus):
    """Append candidates below ``modulus`` to ``row[filled:]`` until it is full.

    Returns the new fill and the number of candidates consumed.
    """
    index = 0
    while index < candidates.shape[0] and filled < row.shape[0]:
        value = np.uint64(candidates[index])
        index += 1
        if value < modulus:
            row[filled] = value
            filled += 1
    return filled, index


@numba.njit(cache=True, nogil=True)
def _field(words, index, width):
    """Return bit field ``index`` of ``width`` bits of a little-endian word array."""
    bit = np.uint64(index) * np.uint64(width)
    word = bit >> np.uint64(6)
    offset = bit & np.uint64(63)
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    high = (words[word + np.uint64(1)] << np.uint64(1)) << (np.uint64(63) - offset)
    return ((words[word] >> offset) | high) & mask


@numba.njit(cache=True, nogil=True)
def _fields_range(words, first, width, out):
    """Write fields ``first .. first + out.size - 1`` of ``words`` into ``out``."""
    for i in range(out.shape[0]):
        out[i] = _field(words, first + i, width)


@numba.njit(cache=True, nogil=True)
def _keep_accepted_row(rows, filled, words, width, counts, used, modulus, s):
    row = rows[s]
    fill = filled[s]
    index = 0
    while index < counts[s] and fill < row.shape[0]:
        if width == 32:
            value = np.uint64(words[s, index])
        else:
            value = _field(words[s], index, width)
        index += 1
        if value < modulus:
            row[fill] = value
            fill += 1
    filled[s] = fill
    used[s] = index


@numba.njit(cache=True, nogil=True)
def _keep_accepted_serial(rows, filled, words, width, counts, used, modulus):
    """Filter each stream's keystream fields straight into its row.

    ``words`` holds each stream's keystream as 32-bit words when ``width`` is
    32, and as 64-bit words otherwise.
    """
    for s in range(rows.shape[0]):
        _keep_accepted_row(rows, filled, words, width, counts, used, modulus, s)


@numba.njit(cache=True, nogil=True, parallel=True)
def _keep_accepted_parallel(rows, filled, words, width, counts, used, modulus):
    """Run :func:`_keep_accepted_serial` with the rows spread over the cores."""
    for s in numba.prange(rows.shape[0]):
        _keep_accepted_row(rows, filled, words, width, counts, used, modulus, s)


@numba.njit(cache=True, nogil=True)
def _add_rows_block(target, rows, signs, modulus, first, last):
    for s in range(rows.shape[0]):
        negate = signs[s] < 0
        for i in range(first, last):
            value = rows[s, i]
            if negate and value != 0:
                value = modulus - value
            updated = target[i] + value
            if updated >= modulus:
                updated -= modulus
            target[i] = updated


@numba.njit(cache=True, nogil=True)
def _add_rows_serial(target, rows, signs, modulus):
    """Add ``sign * row`` of every row into ``target`` modulo ``modulus``."""
    count = target.shape[0]
    for block in range((count + _BLOCK - 1) // _BLOCK):
        first = block * _BLOCK
        _add_rows_block(target, rows, signs, modulus, first, min(first + _BLOCK, count))


@numba.njit(cache=True, nogil=True, parallel=True)
def _add_rows_parallel(target, rows, signs, modulus):
    """Run :func:`_add_rows_serial` with the blocks spread over the cores."""
    count = target.shape[0]
    for block in numba.prange((count + _BLOCK - 1) // _BLOCK):
        first = block * _BLOCK
        _add_rows_block(target, rows, signs, modulus, first, min(first + _BLOCK, count))


class _RejectionBatch:
    """Ciphers and unconsumed candidates of a batch of streams, kept between chunks."""

    def __init__(self, batch: list[MaskStream], width: int, modulus: int, span: int,
                 parallel: bool):
        self.parallel = parallel
        self.ciphers = [_cipher(s.seed, s.domain) for s in batch]
        self.signs = np.array([s.sign for s in batch], dtype=np.int8)
        self.width = width
        self.modulus = np.uint64(modulus)
        self.acceptance = modulus / float(1 << width)
        self.carry = [np.empty(0, dtype=np.uint64) for _ in batch]
        self.keystreams = _KeystreamBuffer(self._fields_for(span) * width // 8)

    def _fields_for(self, needed: int) -> int:
        # 2% above the expected need; a shortfall is topped up stream by stream.
        fields = int(needed / self.acceptance * 1.02) + 64
        return fields + (-fields % 64)  # keeps every keystream request byte aligned

    def fill(self, rows: np.ndarray) -> None:
        """Write each stream's next ``rows.shape[1]`` elements into its row."""
        count = rows.shape[1]
        filled = np.zeros(len(self.ciphers), dtype=np.int64)
        for s, carry in enumerate(self.carry):
            filled[s], used = _keep_accepted(rows[s], 0, carry, self.modulus)
            self.carry[s] = carry[used:]

        fields = self._fields_for(count)
        counts = np.zeros(len(self.ciphers), dtype=np.int64)
        for s, cipher in enumerate(self.ciphers):
            if filled[s] < count:
                counts[s] = fields
                self.keystreams.fill(s, cipher, fields * self.width // 8)
        words = self.keystreams.rows(np.dtype("<u4") if self.width == 32 else np.uint64,
                                     len(self.ciphers))
        used = np.zeros_like(counts)
        keep = _keep_accepted_parallel if self.parallel else _keep_accepted_serial
        keep(rows, filled, words, self.width, counts, used, self.modulus)

        for s in range(len(self.ciphers)):
            if counts[s]:
                self.carry[s] = self._leftover(s, int(used[s]), int(counts[s]))
            while filled[s] < count:
                self._top_up(s, rows[s], filled)

    def _leftover(self, s: int, first: int, last: int) -> np.ndarray:
        """Return stream ``s``'s unconsumed fields ``first .. last - 1`` as values."""
        if self.width == 32:
            return self.keystreams.rows(np.dtype("<u4"), s + 1)[s, first:last].astype(np.uint64)
        out = np.empty(last - first, dtype=np.uint64)
        _fields_range(self.keystreams.rows(np.uint64, s + 1)[s], first, self.width, out)
        return out

    def _top_up(self, s: int, row: np.ndarray, filled: np.ndarray) -> None:
        fields = self._fields_for(row.size - filled[s])
        keystream = self.ciphers[s].update(bytes(fields * self.width // 8))
        candidates = np.concatenate([self.carry[s], unpack_stream(keystream, self.width, fields)])
        filled[s], used = _keep_accepted(row, filled[s], candidates, self.modulus)
        self.carry[s] = candidates[used:]


def _accumulate_rejection(total, streams, modulus, width, chunk, parallel) -> None:
    add_rows = _add_rows_parallel if parallel else _add_rows_serial
    span = min(chunk, total.size)
    rows = np.empty((_BATCH, span), dtype=np.uint64)
    for b in range(0, len(streams), _BATCH):
        batch = _RejectionBatch(streams[b:b + _BATCH], width, modulus, span, parallel)
        used_rows = rows[:len(batch.ciphers)]
        for a in range(0, total.size, span):
            count = min(span, total.size - a)
            batch.fill(used_rows[:, :count])
            add_rows(total[a:a + count], used_rows[:, :count], batch.signs, batch.modulus)
