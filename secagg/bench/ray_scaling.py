"""SecAgg+ on the local backend and on Ray: wall time, speedup and Ray's cost per client.

Both runs use the same :class:`~secagg.simulation.RunSpec` apart from the
backend, so they draw the same inputs and drop the same clients. A small
local run first loads the Numba kernels into this process, so the local
timing excludes that one-time cost. Every Ray actor still pays it. The Ray
run joins the cluster at ``address``, or starts a local instance, before the
clock starts; the start-up time is reported on its own.
"""

from __future__ import annotations

import dataclasses
import time

from secagg.bench.machine import describe
from secagg.simulation import RunSpec, run

FULL = {"clients": 2_000, "dim": 100_000}
"""The setting of the scaling claim: 2,000 clients with 100,000 elements each."""


def compare_backends(clients: int = FULL["clients"], dim: int = FULL["dim"], bits: int = 16,
                     dropout: float = 0.1, seed: int = 0, address: str | None = None) -> dict:
    """Run SecAgg+ once per backend, with ``dropout`` of the clients dropping after ShareKeys.

    Returns a JSON-ready dict with, per backend, the wall time of
    :func:`secagg.simulation.run` and the report's client and server seconds,
    plus:

    - ``speedup``: local wall time divided by Ray wall time;
    - ``ray_overhead_per_client_s``: an estimate of what Ray adds per client,
      ``(ray_wall_s - ideal_s) / clients``. ``ideal_s`` is the local run
      with its client seconds spread evenly over the Ray workers:
      ``local_wall_s - local_client_s + local_client_s / workers``. It
      counts actor start-up, input transfer, message transport, Numba
      kernel loading in every actor process, and contention between the
      driver and the workers for the same cores.

    Raises RuntimeError when the backends disagree on the included clients
    or the bytes the server received, or a run's sum is wrong.
    """
    from secagg.network.ray_executor import ray_session

    spec = RunSpec("secagg+", clients, dim, bits, dropout_rate=dropout, drop_stage=2, seed=seed)
    run(RunSpec("secagg+", 20, 1_000, bits, dropout_rate=dropout, drop_stage=2, seed=seed))
    local, local_wall = _timed_run(spec)

    began = time.perf_counter()
    with ray_session(address) as ray:
        startup_s = time.perf_counter() - began
        workers = int(ray.cluster_resources().get("CPU", 1))
        remote, ray_wall = _timed_run(dataclasses.replace(spec, backend="ray"))  # reuses the session
    _check_agreement(local, remote)

    local_client_s = sum(local.report.client_s.values())
    ideal_s = local_wall - local_client_s + local_client_s / workers
    return {
        "protocol": "secagg+", "clients": clients, "dim": dim, "bits": bits, "dropout": dropout,
        "seed": seed, "degree": local.to_json_dict()["degree"], "included": len(local.result.included),
        "workers": workers, "ray_startup_s": startup_s,
        "local": _summary(local, local_wall), "ray": _summary(remote, ray_wall),
        "speedup": local_wall / ray_wall,
        "ideal_ray_s": ideal_s,
        "ray_overhead_per_client_s": (ray_wall - ideal_s) / clients,
        "machine": describe(),
    }


def _timed_run(spec: RunSpec):
    began = time.perf_counter()
    outcome = run(spec)
    return outcome, time.perf_counter() - began


def _summary(outcome, wall_s: float) -> dict:
    report = outcome.report
    return {"wall_s": wall_s, "client_s_total": sum(report.client_s.values()),
            "client_s_mean": report.client_mean_s, "server_s": report.server_s,
            "rounds_s": report.seconds_by_round(), "server_received_bytes": report.bytes.server_received,
            "correct": outcome.correct}


def _check_agreement(local, remote) -> None:
    if not (local.correct and remote.correct):
        raise RuntimeError(f"a run's sum is wrong: local correct={local.correct}, ray correct={remote.correct}")
    if local.result.included != remote.result.included:
        raise RuntimeError("the backends included different clients: "
                           f"{len(local.result.included)} locally, {len(remote.result.included)} on Ray")
    if local.report.bytes.server_received != remote.report.bytes.server_received:
        raise RuntimeError(f"the server received {local.report.bytes.server_received} bytes locally but "
                           f"{remote.report.bytes.server_received} on Ray")
