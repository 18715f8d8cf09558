"""Keystream buffers, scratch memory and the two-thread job shared by the kernels' drivers."""

from __future__ import annotations

import functools
import math
import queue
import threading
from typing import NamedTuple

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from secagg.primitives import prg

_BATCH = 32
"""Most streams whose keystream one kernel call consumes.

NOTE: with two threads, each kernel call hands the GIL to the other thread,
which took 20 to 30 microseconds to wake in measurements on a 2-core virtual
machine. So a batch and chunk should take far longer: 32 streams x 32768
elements of 33 bits are 4 MiB of keystream, about 0.5 ms of AES.
"""
class MaskStream(NamedTuple):
    """One PRG mask to add (``sign`` = +1) or subtract (``sign`` = -1)."""

    seed: bytes
    domain: bytes
    sign: int

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
