import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg.primitives import mask_expansion as me
from secagg.primitives.mask_expansion import jobs, power_of_two, rejection
from secagg.primitives.packing import unpack_stream
from secagg.primitives.randomness import DeterministicRandom

# Powers of two for each power-of-two kernel: words (8, 16, 32), windows (9,
# 17, 18, 33, 34, 36) and fields (the rest). The other moduli reject from five
# in 2**32 fields (2**32 - 5) to almost half of them (2**32 + 1).
MODULI = [2, 2**7, 2**8, 2**9, 2**16, 2**17, 2**18, 2**32, 2**33, 2**34, 2**36, 2**40, 2**61,
          2**62, 3, 1000, 2**32 - 5, 2**32 - 2**20, 3 * 2**30, 2**32 + 1, 2**62 - 57]
REJECTING = [3, 1000, 2**32 - 5, 2**32 - 2**20, 3 * 2**30, 2**33 - 2**21, 2**62 - 57]


def make_streams(count, seed=0):
    rng = DeterministicRandom(seed)
    return [me.MaskStream(rng.bytes(32), b"domain-%d" % (i % 3), 1 if i % 2 else -1)
            for i in range(count)]


def start_vector(modulus, size):
    return np.random.default_rng(size).integers(0, modulus, size, dtype=np.uint64)


def expected_total(start, streams, modulus):
    expected = start.copy()
    me.accumulate_reference(expected, streams, modulus)
    return expected


@pytest.mark.parametrize("modulus", MODULI)
@pytest.mark.parametrize("size", [1, 127, 128, 129, 5000])
def test_matches_reference(modulus, size):
    streams = make_streams(11)
    got = start_vector(modulus, size)
    expected = expected_total(got, streams, modulus)
    me.accumulate(got, streams, modulus, chunk=256)
    assert np.array_equal(got, expected)


@settings(max_examples=30)
@given(st.sampled_from(MODULI), st.integers(1, 3000), st.integers(128, 2048), st.integers(0, 20))
def test_chunk_size_never_changes_result(modulus, size, chunk, count):
    streams = make_streams(count, seed=size)
    first, second = np.zeros(size, np.uint64), np.zeros(size, np.uint64)
    me.accumulate(first, streams, modulus, chunk=chunk)
    me.accumulate(second, streams, modulus, chunk=me.DEFAULT_CHUNK)
    assert np.array_equal(first, second)


@pytest.mark.parametrize("modulus", [2**33, 2**32, 2**36, 2**35, 2**32 - 5, 2**32 - 2**20, 1000])
@pytest.mark.parametrize("count", [1, 2, 33, 70])
def test_two_threads_match_one(modulus, count):
    streams = make_streams(count, seed=count)
    one_thread = start_vector(modulus, 20_001)
    two_threads = one_thread.copy()
    expected = expected_total(one_thread, streams, modulus)
    me.accumulate(one_thread, streams, modulus, chunk=4096, parallel=False)
    me.accumulate(two_threads, streams, modulus, chunk=4096, parallel=True)
    assert np.array_equal(one_thread, expected)
    assert np.array_equal(two_threads, expected)


def exactly(needed, acceptance):
    return needed + (-needed % 64)  # a multiple of 64 fields is whole bytes


def three_times(needed, acceptance):
    return 3 * exactly(needed, acceptance) + 64


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("fields_for", [exactly, three_times])
@pytest.mark.parametrize("modulus", REJECTING)
def test_short_and_long_requests_match(monkeypatch, modulus, fields_for, parallel):
    # Reading only as many fields as elements makes every stream with a
    # rejected field fall short, so it tops up from its cipher, also in the
    # helper thread. Reading three times as many leaves more unread fields
    # than a chunk needs, so the next chunk uses only some of them.
    monkeypatch.setattr(rejection, "_fields_for", fields_for)
    streams = make_streams(9, seed=5)
    for size, chunk in ((3000, 128), (60_000, 16_384)):
        got = start_vector(modulus, size)
        expected = expected_total(got, streams, modulus)
        me.accumulate(got, streams, modulus, chunk=chunk, parallel=parallel)
        assert np.array_equal(got, expected)


def test_masks_cancel():
    rng = DeterministicRandom(3)
    seed = rng.bytes(32)
    total = np.arange(1000, dtype=np.uint64)
    me.accumulate(total, [me.MaskStream(seed, b"d", 1), me.MaskStream(seed, b"d", -1)], 2**33)
    assert np.array_equal(total, np.arange(1000, dtype=np.uint64))


@pytest.mark.parametrize("width", [1, 8, 9, 13, 16, 17, 18, 32, 33, 34, 36, 40, 61, 62])
def test_power_of_two_kernels(width):
    count = 3000
    rng = np.random.default_rng(width)
    keystreams = rng.integers(0, 256, (3, count * 8 + 16), dtype=np.uint8)
    signs = np.array([1, -1, 1], dtype=np.int8)
    start = rng.integers(0, 2**width, count, dtype=np.uint64)
    expected = start.copy()
    for row, sign in zip(keystreams, signs):
        fields = unpack_stream(row.tobytes(), width, count)
        expected = (expected + (fields if sign > 0 else 2**width - fields)) % 2**width
    kernel, dtype = power_of_two._power_of_two_kernel(width)
    words = keystreams.view(dtype)
    for run in (kernel, kernel.py_func, power_of_two._add_fields):
        got = start.copy()
        with np.errstate(over="ignore"):  # the kernels add modulo 2**64 on purpose
            run(got, keystreams.view(np.uint64) if run is power_of_two._add_fields else words, signs, width)
        assert np.array_equal(got, expected), run


def test_power_of_two_kernel_choice():
    names = {width: power_of_two._power_of_two_kernel(width)[0].__name__ for width in range(1, 63)}
    assert {w for w, name in names.items() if name == "_add_words"} == {8, 16, 32}
    assert {w for w, name in names.items() if name == "_add_windows"} == {9, 17, 18, 33, 34, 36}


def accepted_reference(part, values, modulus, negate):
    part = part.copy()
    accepted = [int(v) for v in values if v < modulus][:part.size]
    for i, value in enumerate(accepted):
        part[i] = (int(part[i]) + (-value if negate else value)) % modulus
    return part, len(accepted)


@pytest.mark.parametrize("negate", [False, True])
@pytest.mark.parametrize("rejected", [[], [0], [5], [255, 256], [700, 701, 702], [1023]])
def test_rejection_runs_skip_large_fields(negate, rejected):
    modulus = 2**32 - 5
    rng = np.random.default_rng(len(rejected))
    words = rng.integers(0, modulus, 1024, dtype=np.uint64).astype(np.uint32)
    words[rejected] = rng.integers(modulus, 2**32, len(rejected), dtype=np.uint64)
    start = rng.integers(0, modulus, 1000, dtype=np.uint64)
    expected, needed = accepted_reference(start, words, modulus, negate)
    got = start.copy()
    fill, used = rejection._add_accepted_fields(got, 0, words, 32, 1024, np.uint64(modulus), negate)
    assert np.array_equal(got, expected)
    assert fill == 1000
    # The fields read are the first 1000 accepted ones and the rejected ones among them.
    assert used == 1000 + sum(r < used for r in rejected)


@pytest.mark.parametrize("fill", [0, 3])
def test_accepted_values_stop_when_full(fill):
    rng = np.random.default_rng(fill)
    values = rng.integers(0, 1024, 700, dtype=np.uint64)
    for negate in (False, True):
        part = rng.integers(0, 1000, 500, dtype=np.uint64)
        expected = part.copy()
        expected[fill:], accepted = accepted_reference(part[fill:], values, 1000, negate)
        got = part.copy()
        new_fill, used = rejection._add_accepted_values(got, fill, values, np.uint64(1000), negate)
        assert np.array_equal(got, expected)
        assert new_fill == 500
        assert accepted == 500 - fill
        assert np.count_nonzero(values[:used] < 1000) == accepted
        assert values[used - 1] < 1000


def test_parallel_pays_at_thresholds(monkeypatch):
    monkeypatch.setattr(me.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(me.os, "getloadavg", lambda: (1.4, 0.0, 0.0))
    chunk = 1000
    streams = me.PARALLEL_MIN_WORK // (chunk + 1) + 1
    assert me._parallel_pays(streams, chunk + 1, chunk)
    assert not me._parallel_pays(streams, chunk, chunk)  # one chunk
    assert not me._parallel_pays(me.PARALLEL_MIN_WORK // (chunk + 1) - 1, chunk + 1, chunk)
    monkeypatch.setattr(me.os, "getloadavg", lambda: (1.5, 0.0, 0.0))
    assert not me._parallel_pays(streams, chunk + 1, chunk)
    monkeypatch.setattr(me.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(me.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert not me._parallel_pays(streams, chunk + 1, chunk)


def test_default_uses_two_threads_for_large_jobs(monkeypatch):
    monkeypatch.setattr(me, "_parallel_pays", lambda streams, size, chunk: size >= 20_000)
    thread_counts = []
    run_threads = jobs._run_threads

    def counting(work, threads, job):
        thread_counts.append(threads)
        run_threads(work, threads, job)

    monkeypatch.setattr(power_of_two, "_run_threads", counting)
    monkeypatch.setattr(rejection, "_run_threads", counting)
    streams = make_streams(3)
    me.accumulate(np.zeros(19_999, np.uint64), streams, 2**33)
    large = np.zeros(20_000, np.uint64)
    me.accumulate(large, streams, 2**33)
    assert thread_counts == [1, 2]
    assert np.array_equal(large, expected_total(np.zeros(20_000, np.uint64), streams, 2**33))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("count", [1, 2, 8, 33, 64, 65, 100, 501])
def test_job_batches_are_even(count, threads):
    job = jobs._Job(np.zeros(10, np.uint64), make_streams(count), 4, threads)
    sizes = []
    while (batch := job.next_batch()) is not None:
        sizes.append(len(batch))
    assert sum(sizes) == count
    assert max(sizes) <= jobs._BATCH
    assert set(sizes[:-1]) <= {sizes[0]}  # only the last batch may be smaller
    assert len(sizes) >= min(count, threads)
    assert len(job.locks) == 3


@pytest.mark.parametrize("failing", [0, 1])
def test_run_threads_raises_first_error(failing):
    job = jobs._Job(np.zeros(10, np.uint64), make_streams(64), 10, 2)
    done = []

    def work(slot):
        if slot == failing:
            raise ZeroDivisionError(f"thread {slot} failed")
        while (batch := job.next_batch()) is not None:
            done.append(len(batch))

    with pytest.raises(ZeroDivisionError, match=f"thread {failing} failed"):
        jobs._run_threads(work, 2, job)
    assert job.failed.is_set()
    assert not any(thread.name == "secagg-masks" for thread in threading.enumerate())


def test_accumulate_raises_kernel_errors(monkeypatch):
    def fail(*args):
        raise FloatingPointError("kernel failed")

    monkeypatch.setattr(power_of_two, "_power_of_two_kernel", lambda width: (fail, np.dtype("<u8")))
    for parallel in (False, True):
        with pytest.raises(FloatingPointError, match="kernel failed"):
            me.accumulate(np.zeros(50_000, np.uint64), make_streams(40), 2**33, parallel=parallel)


@settings(max_examples=50)
@given(st.integers(1, 10**6), st.integers(128, 10**5), st.sampled_from([64, 128]))
def test_span_makes_equal_chunks(size, chunk, align):
    span = me._span(size, chunk, align)
    chunks = -(-size // span)
    assert span % align == 0
    assert span <= max(chunk - chunk % align, align)
    assert chunks == -(-size // (chunk - chunk % align))  # no more chunks than needed
    assert size - (chunks - 1) * span > span - chunks * align  # the last one is nearly full


def test_scratch_memory_reused_and_grown():
    first = jobs._scratch_array("test", (10, 4), np.uint64)
    again = jobs._scratch_array("test", (5,), np.uint32)
    assert np.shares_memory(first, again)
    larger = jobs._scratch_array("test", (100,), np.uint64)
    assert larger.shape == (100,)
    assert not np.shares_memory(first, larger)


def test_rejects_bad_total():
    with pytest.raises(TypeError, match="uint64"):
        me.accumulate(np.zeros(4, np.int64), make_streams(1), 2**32)


def test_rejects_bad_sign_and_seed():
    with pytest.raises(ValueError, match=r"streams\[0\].sign must be \+1 or -1, got 2"):
        me.accumulate(np.zeros(4, np.uint64), [me.MaskStream(bytes(32), b"", 2)], 2**32)
    with pytest.raises(ValueError, match=r"streams\[0\].seed must be 32 bytes"):
        me.accumulate(np.zeros(4, np.uint64), [me.MaskStream(bytes(16), b"", 1)], 2**32)
