"""CKKS aggregation per 100,000 parameters: the package against raw TenSEAL calls, and beside SecAgg+.

Run with ``python -m pytest benchmarks/test_ckks_bench.py --benchmark-only``.
The steps compared and the parameters are described in :mod:`secagg.bench.ckks`.
``extra_info`` carries bytes per parameter and, for the overhead test, the
best CPU time of interleaved runs of each side and their ratio.
"""

import numpy as np
import pytest

from secagg.bench.ckks import (CLIENTS, DIM, MAX_OVERHEAD, REPEATS, CkksSetup, measure_overheads,
                               package_adds, package_decrypt, package_encrypt, raw_adds, raw_decrypt,
                               raw_encrypt, raw_total, side_by_side)
from secagg.he import backend, messages


@pytest.fixture(scope="module")
def setup():
    return CkksSetup()


def test_encrypt_package(benchmark, setup):
    message = benchmark.pedantic(package_encrypt, setup=lambda: ((setup.client(1), setup), {}),
                                 rounds=REPEATS)

    benchmark.extra_info["bytes_per_parameter"] = len(message) / DIM


def test_encrypt_raw(benchmark, setup):
    with backend.quiet_stdout():
        data = benchmark.pedantic(raw_encrypt, args=(setup,), rounds=REPEATS)

    benchmark.extra_info["bytes_per_parameter"] = len(data) / DIM


def test_add_package(benchmark, setup):
    benchmark.pedantic(package_adds, setup=lambda: ((setup.server_with_first_upload(), setup), {}),
                       rounds=REPEATS)

    benchmark.extra_info["uploads_per_round"] = setup.adds


def test_add_raw(benchmark, setup):
    with backend.quiet_stdout():
        benchmark.pedantic(raw_adds, setup=lambda: ((raw_total(setup), setup), {}), rounds=REPEATS)

    benchmark.extra_info["uploads_per_round"] = setup.adds


def test_decrypt_package(benchmark, setup):
    response = benchmark.pedantic(package_decrypt, args=(setup,), rounds=REPEATS)

    total = messages.parse_decrypted_sum(response, setup.digest, 0, DIM)
    expected = setup.inputs[1] * (CLIENTS - 1)
    assert np.max(np.abs(total - expected)) <= setup.config.error_bound(list(range(1, CLIENTS)))


def test_decrypt_raw(benchmark, setup):
    with backend.quiet_stdout():
        benchmark.pedantic(raw_decrypt, args=(setup,), rounds=REPEATS)


def test_overhead_over_raw_tenseal(benchmark, setup):
    overheads = benchmark.pedantic(measure_overheads, args=(setup,), rounds=1, iterations=1)

    benchmark.extra_info.update(overheads)
    for name in ("encrypt", "add", "decrypt", "one_upload_end_to_end"):
        assert overheads[name]["ratio"] <= MAX_OVERHEAD, f"{name}: {overheads[name]}"


@pytest.mark.parametrize("protocol", ["ckks", "secagg+"])
def test_side_by_side_with_secagg_plus(benchmark, setup, protocol):
    """Whole runs on the same float inputs; SecAgg+ encodes them at 16 bits with clip 1."""
    row = benchmark.pedantic(side_by_side, args=(setup, protocol), rounds=1, iterations=1)

    benchmark.extra_info.update(row)
    assert row["correct"]
