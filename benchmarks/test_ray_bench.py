"""SecAgg+ on the local backend and on a local Ray instance with 2 CPUs.

The first case is small enough for a quick check; the second is the scaling
setting, 2,000 clients with m = 100,000, and runs for minutes (deselect it
with ``-m "not slow"``). The timed call runs both backends; wall times,
the speedup and Ray's estimated overhead per client are stored in
``extra_info`` (see :func:`secagg.bench.ray_scaling.compare_backends`).
"""

from __future__ import annotations

import os
import time

import pytest

# Ray 2.60 reads this when it is first imported: 0 keeps a local instance on 127.0.0.1.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

ray = pytest.importorskip("ray")

from secagg.bench.ray_scaling import FULL, compare_backends  # noqa: E402

RAY_CPUS = 2


@pytest.fixture(scope="module")
def ray_startup_s():
    began = time.perf_counter()
    ray.init(num_cpus=RAY_CPUS, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield time.perf_counter() - began
    ray.shutdown()


@pytest.mark.parametrize("clients, dim", [
    (200, 10_000),
    pytest.param(FULL["clients"], FULL["dim"], marks=pytest.mark.slow),
])
def test_secagg_plus_local_and_ray(benchmark, ray_startup_s, clients, dim):
    result = benchmark.pedantic(compare_backends, kwargs={"clients": clients, "dim": dim},
                                rounds=1, iterations=1)

    result["ray_startup_s"] = ray_startup_s
    benchmark.extra_info.update(result)
    assert result["workers"] == RAY_CPUS
    assert result["local"]["correct"]
    assert result["ray"]["correct"]
