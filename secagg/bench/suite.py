"""The headline benchmark set run by ``secagg bench``.

Every number is measured in the run that reports it; the published values
beside them are those of the papers, named in :data:`PUBLISHED`.
"""

from __future__ import annotations

from typing import Callable

from secagg.bench import cipher, protocol
from secagg.bench.machine import describe

PUBLISHED = {
    "source": "Bonawitz et al., CCS 2017, Java implementation on one core of a 3.5 GHz "
              "Xeon E5-1650 v3; 24-bit inputs",
    "client_s": {"500x100000": 0.85},
    "server_s": {"500x100000@0.0": 2.0, "500x100000@0.1": 62.0, "500x100000@0.3": 143.0,
                 "1000x100000@0.1": 180.0, "1000x100000@0.3": 414.0},
}

FULL = {"clients": 500, "dim": 100_000, "bits": 24,
        "server": [(500, 0.0), (500, 0.1), (500, 0.3), (1000, 0.1), (1000, 0.3)],
        "flower": (100, 100_000, 0.1),
        "scaling_n": [50, 100, 200, 400], "scaling_m": [10_000, 50_000, 100_000],
        "scaling_dropout": [0.0, 0.1, 0.2, 0.3], "scaling_base": (200, 20_000)}
QUICK = {"clients": 100, "dim": 20_000, "bits": 24,
         "server": [(100, 0.0), (100, 0.1), (100, 0.3)],
         "flower": (30, 10_000, 0.1),
         "scaling_n": [25, 50, 100], "scaling_m": [5_000, 20_000],
         "scaling_dropout": [0.0, 0.1, 0.3], "scaling_base": (50, 10_000)}


def run_suite(quick: bool = False, log: Callable[[str], None] = print) -> dict:
    """Run the headline benchmarks and return their results as a JSON-ready dict."""
    plan = QUICK if quick else FULL
    results: dict = {"machine": describe(), "quick": quick, "published": PUBLISHED}

    log("cipher: raw AES-256-CTR keystream and mask expansion")
    raw = cipher.keystream_throughput()
    results["cipher"] = {
        "keystream_bytes_per_s": raw,
        "expansion": [cipher.expansion_throughput(m) for m in (2**32, 2**32 - 5, 2**33)],
        "x25519_exchange_s": cipher.x25519_exchange_seconds(),
        "kernels": cipher.cold_and_warm_kernel_seconds(),
        "shamir": cipher.shamir_seconds(),
    }
    for row in results["cipher"]["expansion"]:
        row["ratio_to_keystream"] = row["output_bytes_per_s"] / raw

    n, m, bits = plan["clients"], plan["dim"], plan["bits"]
    results["server"] = []
    for clients, dropout in plan["server"]:
        log(f"server: SecAgg, n = {clients}, m = {m}, {bits}-bit inputs, dropout {dropout:.0%}")
        results["server"].append(protocol.measure_run("secagg", clients, m, bits, dropout))

    # One client's work is measured in the run without dropout, where every client does it all.
    client = dict(next(r for r in results["server"] if r["clients"] == n and r["dropout"] == 0.0))
    client["floor"] = protocol.client_floor_seconds(n, m, bits, results["cipher"]["x25519_exchange_s"], raw)
    results["client"] = client

    results["flower"] = _flower(*plan["flower"], log)
    results["ckks"] = _ckks(log)
    results["scaling"] = _scaling(plan, log)
    return results


def _ckks(log) -> dict:
    log("ckks: package against raw TenSEAL, and beside SecAgg+, 10 clients x 100,000 parameters")
    try:
        from secagg.bench import ckks
        return ckks.measure()
    except ImportError as error:
        log(f"ckks: skipped ({error})")
        return {"skipped": str(error)}


def _flower(clients: int, dim: int, dropout: float, log) -> dict:
    log(f"flower: SecAgg+ side by side, n = {clients}, m = {dim}, dropout {dropout:.0%}")
    try:
        from secagg.bench.flower import compare_with_flower
        return compare_with_flower(clients=clients, dim=dim, dropout=dropout)
    except ImportError as error:
        log(f"flower: skipped ({error})")
        return {"skipped": str(error)}


def _scaling(plan: dict, log) -> list[dict]:
    base_n, base_m = plan["scaling_base"]
    points = [(n, base_m, 0.1, "clients") for n in plan["scaling_n"]]
    points += [(base_n, m, 0.1, "dim") for m in plan["scaling_m"]]
    points += [(base_n, base_m, d, "dropout") for d in plan["scaling_dropout"]]
    rows = []
    for name in ("secagg", "secagg+"):
        for clients, dim, dropout, axis in points:
            log(f"scaling: {name}, n = {clients}, m = {dim}, dropout {dropout:.0%}")
            row = protocol.measure_run(name, clients, dim, 16, dropout, trace_memory=True)
            row["axis"] = axis
            rows.append(row)
    return rows
