"""Client and server time of whole SecAgg and SecAgg+ runs."""

from __future__ import annotations

import time
import tracemalloc

from secagg.primitives.packing import bit_width
from secagg.protocols.masking.config import modulus_for
from secagg.simulation import RunSpec, run


def measure_run(protocol: str, clients: int, dim: int, bits: int, dropout: float,
                seed: int = 0, trace_memory: bool = False) -> dict:
    """Run one aggregation with ``dropout`` of the clients dropping after ShareKeys.

    Returns the mean total work of an included client, the server's total
    work, wall time, bytes and, with ``trace_memory``, the peak memory that
    ``tracemalloc`` saw (numpy buffers included).
    """
    spec = RunSpec(protocol, clients, dim, bits, dropout_rate=dropout, drop_stage=2, seed=seed)
    if trace_memory:
        tracemalloc.start()
    start = time.perf_counter()
    outcome = run(spec)
    wall = time.perf_counter() - start
    peak = None
    if trace_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    report = outcome.report
    included = outcome.result.included
    client_times = [report.client_s[c] for c in included if c in report.client_s]
    document = outcome.to_json_dict()
    return {
        "protocol": protocol, "clients": clients, "dim": dim, "bits": bits, "dropout": dropout,
        "degree": document["degree"], "threshold": document["threshold"],
        "included": len(included), "aborted": outcome.result.aborted, "correct": outcome.correct,
        "client_s": sum(client_times) / len(client_times) if client_times else None,
        "server_s": report.server_s, "wall_s": wall,
        "client_upload_bytes": document["bytes"]["client_upload_mean"],
        "peak_memory_bytes": peak,
    }


def client_floor_seconds(clients: int, dim: int, bits: int, exchange_s: float,
                         keystream_bytes_per_s: float) -> dict:
    """Return the cost floor of one SecAgg client: its X25519 exchanges and PRG bytes.

    A client agrees a channel key and a mask key with each of its n - 1
    neighbours and expands n streams (n - 1 pairwise masks and its self mask)
    of ``dim`` elements at ceil(log2 R) bits.
    """
    width = bit_width(modulus_for(clients, bits))
    exchanges = 2 * (clients - 1)
    prg_bytes = clients * dim * width / 8
    return {"exchanges": exchanges, "prg_bytes": prg_bytes,
            "seconds": exchanges * exchange_s + prg_bytes / keystream_bytes_per_s}
