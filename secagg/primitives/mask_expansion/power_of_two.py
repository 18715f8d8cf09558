"""Kernels and driver for R = 2**w: element i of a stream is bit field i of its keystream."""

from __future__ import annotations

import numba
import numpy as np

from secagg.primitives.mask_expansion.jobs import _cipher, _Job, _KeystreamBuffer, _run_threads

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


def accumulate_power_of_two(total, streams, width, span, threads) -> None:
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
