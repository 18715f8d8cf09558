"""Side-by-side run of secagg's and Flower's SecAgg+ at a small size: n = 20, m = 10,000.

Needs the ``flower`` extra (flwr 1.42.0), which requires cryptography>=50,
so install it in its own virtual environment and run from there::

    python3 -m venv /tmp/flwr-venv
    /tmp/flwr-venv/bin/pip install -e ".[test,flower]"
    /tmp/flwr-venv/bin/python -m pytest benchmarks/test_flower_bench.py --benchmark-only

The test is skipped where flwr is not installed. The timed call includes both
sides; the per-stage seconds and the ratios are stored in ``extra_info``.
"""

from __future__ import annotations

import pytest

pytest.importorskip("flwr")

from secagg.bench.flower import compare_with_flower  # noqa: E402


def test_compare_with_flower_small(benchmark):
    result = benchmark.pedantic(compare_with_flower,
                                kwargs={"clients": 20, "dim": 10_000, "dropout": 0.1, "seed": 0},
                                rounds=1, iterations=1)

    benchmark.extra_info["ratios"] = result["ratios"]
    benchmark.extra_info["secagg"] = result["secagg"]["end_to_end"]
    benchmark.extra_info["flower"] = result["flower"]["end_to_end"]
    assert result["secagg"]["correct"]
    assert result["flower"]["correct"]
    assert result["flower"]["included"] == 18
