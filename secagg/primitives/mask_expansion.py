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
  unconsumed candidates between chunks, and one kernel pass reads its fields,
  skips those >= R and adds the rest into the chunk. In parallel, each core
  adds its share of the streams into a private row, and the rows are summed
  into the chunk at the end.

The parallel kernels run only for large jobs on idle cores (see :func:`accumulate`).
Either way each element of ``total`` is written by one core, so results are
bit-identical for any core count. Extra memory is O(chunk x cores) plus
one keystream buffer per batch of streams, and does not grow with the vector
or the number of streams.

NOTE: ``cryptography`` 48 holds the GIL during ``update_into`` (measured:
two Python threads encrypt no faster than one), so the AES keystream is
produced on one core and only the Numba kernels use all cores.
"""

from __future__ import annotations

import os
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
    below ``modulus``. ``parallel`` spreads the kernels over Numba's threads.
    None chooses it when more than one thread is configured, the job has at
    least :data:`PARALLEL_MIN_WORK` stream elements, and the cores are idle:
    the 1-minute load average is below the thread count minus 0.5. The result does not
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
        parallel = _parallel_pays(len(streams) * total.size)
    width = bit_width(modulus)
    if modulus == 1 << width:
        _accumulate_power_of_two(total, streams, width, chunk - chunk % 128, parallel)
    else:
        _accumulate_rejection(total, streams, modulus, width, chunk - chunk % 64, parallel)


def _parallel_pays(work: int) -> bool:
    """Return True if the parallel kernels are likely faster for ``work`` stream elements.

    They need a large job and idle cores. On a machine whose other processes
    already keep the cores busy, Numba's threads wait for one another and
    the parallel kernels ran 10 to 50 times slower than the serial ones in
    measurements on a 2-core machine.
    """
    if work < PARALLEL_MIN_WORK:
        return False
    # numba.get_num_threads() would start Numba's thread pool, whose OpenMP
    # threads then spin and slow other work (torch training, measured 3 to 5
    # times slower), so read the configured count instead.
    threads = numba.config.NUMBA_NUM_THREADS
    if threads < 2:
        return False
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on Windows
        return True
    return busy < threads - 0.5


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
def _field(words, index, width):
    """Return bit field ``index`` of ``width`` bits of a little-endian word array."""
    bit = np.uint64(index) * np.uint64(width)
    word = bit >> np.uint64(6)
    offset = bit & np.uint64(63)
    mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    high = (words[word + np.uint64(1)] << np.uint64(1)) << (np.uint64(63) - offset)
    return ((words[word] >> offset) | high) & mask


@numba.njit(cache=True, nogil=True)
def _add_candidate(part, fill, value, modulus, negate):
    """Add an accepted candidate at ``part[fill]`` modulo ``modulus``."""
    if negate and value != 0:
        value = modulus - value
    updated = part[fill] + value
    if updated >= modulus:
        updated -= modulus
    part[fill] = updated


@numba.njit(cache=True, nogil=True)
def _add_accepted_values(part, fill, values, modulus, negate):
    """Add the values below ``modulus`` at ``part[fill:]`` until it is full.

    Returns the new fill and the number of values consumed.
    """
    index = 0
    while index < values.shape[0] and fill < part.shape[0]:
        value = np.uint64(values[index])
        index += 1
        if value < modulus:
            _add_candidate(part, fill, value, modulus, negate)
            fill += 1
    return fill, index


@numba.njit(cache=True, nogil=True)
def _add_accepted_fields(part, fill, words, width, count, modulus, negate):
    """Like :func:`_add_accepted_values`, reading the first ``count`` fields of a keystream.

    ``words`` is the keystream as 32-bit words when ``width`` is 32, and as
    64-bit words otherwise.
    """
    index = 0
    while index < count and fill < part.shape[0]:
        if width == 32:
            value = np.uint64(words[index])
        else:
            value = _field(words, index, width)
        index += 1
        if value < modulus:
            _add_candidate(part, fill, value, modulus, negate)
            fill += 1
    return fill, index


@numba.njit(cache=True, nogil=True)
def _add_accepted_group(partials, fills, words, width, counts, used, signs, modulus, group):
    """Filter and add the fields of streams ``group, group + groups, ...`` into ``partials[group]``."""
    groups = partials.shape[0]
    part = partials[group]
    for s in range(group, words.shape[0], groups):
        if counts[s] > 0:
            fill, consumed = _add_accepted_fields(part, fills[s], words[s], width, counts[s],
                                                  modulus, signs[s] < 0)
            fills[s] = fill
            used[s] = consumed


@numba.njit(cache=True, nogil=True)
def _add_accepted_serial(partials, fills, words, width, counts, used, signs, modulus):
    """Filter and add every stream's fields; stream ``s`` adds into ``partials[s % groups]``."""
    for group in range(partials.shape[0]):
        _add_accepted_group(partials, fills, words, width, counts, used, signs, modulus, group)


@numba.njit(cache=True, nogil=True, parallel=True)
def _add_accepted_parallel(partials, fills, words, width, counts, used, signs, modulus):
    """Run :func:`_add_accepted_serial` with the groups of streams spread over the cores."""
    for group in numba.prange(partials.shape[0]):
        _add_accepted_group(partials, fills, words, width, counts, used, signs, modulus, group)


@numba.njit(cache=True, nogil=True, parallel=True)
def _sum_partials(target, partials, modulus):
    """Add every row of ``partials`` into ``target`` modulo ``modulus``."""
    count = target.shape[0]
    for block in numba.prange((count + _BLOCK - 1) // _BLOCK):
        for i in range(block * _BLOCK, min((block + 1) * _BLOCK, count)):
            updated = target[i]
            for group in range(partials.shape[0]):
                updated += partials[group, i]
                if updated >= modulus:
                    updated -= modulus
            target[i] = updated


class _RejectionBatch:
    """Ciphers and unconsumed candidates of a batch of streams, kept between chunks."""

    def __init__(self, batch: list[MaskStream], width: int, modulus: int, span: int, groups: int):
        self.ciphers = [_cipher(s.seed, s.domain) for s in batch]
        self.signs = np.array([s.sign for s in batch], dtype=np.int8)
        self.width = width
        self.modulus = np.uint64(modulus)
        self.acceptance = modulus / float(1 << width)
        self.groups = groups
        self.carry = [np.empty(0, dtype=np.uint64) for _ in batch]
        self.keystreams = _KeystreamBuffer(self._fields_for(span) * width // 8)

    def _fields_for(self, needed: int) -> int:
        # 2% above the expected need; a shortfall is topped up stream by stream.
        fields = int(needed / self.acceptance * 1.02) + 64
        return fields + (-fields % 64)  # keeps every keystream request byte aligned

    def add_into(self, partials: np.ndarray) -> None:
        """Add each stream's next ``partials.shape[1]`` elements into its group's row."""
        count = partials.shape[1]
        streams = len(self.ciphers)
        fills = np.zeros(streams, dtype=np.int64)
        for s in range(streams):
            fills[s], used = _add_accepted_values(partials[s % self.groups], 0, self.carry[s],
                                                  self.modulus, self.signs[s] < 0)
            self.carry[s] = self.carry[s][used:]

        fields = self._fields_for(count)
        counts = np.zeros(streams, dtype=np.int64)
        for s, cipher in enumerate(self.ciphers):
            if fills[s] < count:
                counts[s] = fields
                self.keystreams.fill(s, cipher, fields * self.width // 8)
        words = self.keystreams.rows(np.dtype("<u4") if self.width == 32 else np.uint64, streams)
        used = np.zeros_like(counts)
        add = _add_accepted_parallel if self.groups > 1 else _add_accepted_serial
        add(partials, fills, words, self.width, counts, used, self.signs, self.modulus)

        for s in range(streams):
            if counts[s]:
                self.carry[s] = self._leftover(words[s], int(used[s]), int(counts[s]))
            while fills[s] < count:
                self._top_up(s, partials[s % self.groups], fills)

    def _leftover(self, words: np.ndarray, first: int, last: int) -> np.ndarray:
        """Return the unconsumed fields ``first .. last - 1`` of one stream as values."""
        if self.width == 32:
            return words[first:last].astype(np.uint64)
        out = np.empty(last - first, dtype=np.uint64)
        _fields_range(words, first, self.width, out)
        return out

    def _top_up(self, s: int, part: np.ndarray, fills: np.ndarray) -> None:
        fields = self._fields_for(part.size - fills[s])
        keystream = self.ciphers[s].update(bytes(fields * self.width // 8))
        candidates = np.concatenate([self.carry[s], unpack_stream(keystream, self.width, fields)])
        fills[s], used = _add_accepted_values(part, fills[s], candidates, self.modulus,
                                              self.signs[s] < 0)
        self.carry[s] = candidates[used:]


@numba.njit(cache=True, nogil=True)
def _fields_range(words, first, width, out):
    """Write fields ``first .. first + out.size - 1`` of ``words`` into ``out``."""
    for i in range(out.shape[0]):
        out[i] = _field(words, first + i, width)


def _accumulate_rejection(total, streams, modulus, width, chunk, parallel) -> None:
    # In parallel, each core sums its share of the streams into its own row, and
    # the rows are added into ``total`` at the end of the chunk. Serially, the
    # chunk of ``total`` itself is the only row.
    groups = min(numba.get_num_threads(), _BATCH) if parallel else 1
    span = min(chunk, total.size)
    partials = np.zeros((groups, span), dtype=np.uint64) if parallel else None
    modulus_u64 = np.uint64(modulus)
    for b in range(0, len(streams), _BATCH):
        batch = _RejectionBatch(streams[b:b + _BATCH], width, modulus, span, groups)
        for a in range(0, total.size, span):
            count = min(span, total.size - a)
            if parallel:
                rows = partials[:, :count]
                rows.fill(0)
                batch.add_into(rows)
                _sum_partials(total[a:a + count], rows, modulus_u64)
            else:
                batch.add_into(total[a:a + count].reshape(1, count))
