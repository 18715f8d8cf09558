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
``cryptography`` 50 on. Measured on 2 cores, two threads wrote 14 to 16 GB/s
of keystream and one thread 8 GB/s, while with ``cryptography`` 48 two
threads were no faster than one. For large jobs :func:`accumulate`
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

Modules: :mod:`.jobs` (keystream buffers, scratch memory, the two-thread
job), :mod:`.power_of_two` and :mod:`.rejection` (the kernels and driver of
each kind of modulus).
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from secagg._validation import check_int
from secagg.primitives import prg
from secagg.primitives.mask_expansion.jobs import MaskStream
from secagg.primitives.mask_expansion.power_of_two import accumulate_power_of_two
from secagg.primitives.mask_expansion.rejection import accumulate_rejection
from secagg.primitives.packing import MAX_WIDTH, bit_width

__all__ = ["DEFAULT_CHUNK", "PARALLEL_MIN_WORK", "MaskStream", "accumulate", "accumulate_reference"]

DEFAULT_CHUNK = 1 << 15
"""Maximum elements per chunk: 256 KiB of uint64 accumulator, sized for a core's L2 cache."""
PARALLEL_MIN_WORK = 1 << 22
"""Stream elements (streams x vector length) from which :func:`accumulate` uses two threads.

NOTE: chosen from measurements on a 2-core machine, as was the need for two
chunks (see :func:`_parallel_pays`). Smaller jobs ran as fast or slower.
"""

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
        accumulate_power_of_two(total, streams, width, _span(total.size, chunk, 128), threads)
    else:
        accumulate_rejection(total, streams, modulus, width, _span(total.size, chunk, 64),
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
