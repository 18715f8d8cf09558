"""Helpers shared by the paper reproductions: measured runs, model checks, tables, figures."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterable

from secagg.primitives.packing import packed_size
from secagg.protocols.base import Round
from secagg.protocols.masking import cost
from secagg.simulation import (DEFAULT_CORRUPTED_FRACTION, DEFAULT_DROPOUT_FRACTION, RunSpec,
                               run)

Log = Callable[[str], None]


def measure(protocol: str, clients: int, dim: int, bits: int, dropout: float = 0.0,
            seed: int = 0) -> dict[str, Any]:
    """Run one aggregation and return its time, bytes and correctness.

    Times follow :func:`secagg.bench.protocol.measure_run`: ``client_s`` is
    the mean total work of an included client and ``server_s`` the server's
    total work, which ``server_round_s`` splits by round. Dropped clients go
    silent before they upload their input.
    """
    spec = RunSpec(protocol, clients, dim, bits, dropout_rate=dropout, drop_stage=2, seed=seed)
    load = load_average_1min()
    start = time.perf_counter()
    outcome = run(spec)
    wall_s = time.perf_counter() - start

    report = outcome.report
    included = outcome.result.included
    client_times = [report.client_s[c] for c in included if c in report.client_s]
    document = outcome.to_json_dict()
    upload = document["bytes"]["client_upload_mean"]
    return {
        "protocol": protocol, "clients": clients, "dim": dim, "bits": bits, "dropout": dropout,
        "degree": document["degree"], "threshold": document["threshold"],
        "included": len(included), "aborted": outcome.result.aborted, "correct": outcome.correct,
        "client_s": sum(client_times) / len(client_times) if client_times else None,
        "client_max_s": max(client_times, default=None),
        "server_s": report.server_s, "wall_s": wall_s,
        "server_round_s": {stats.round.name: stats.server_s for stats in report.rounds},
        "client_upload_bytes": upload,
        "client_download_bytes": document["bytes"]["client_download_mean"],
        "bytes_per_parameter": upload / dim,
        "input_upload_bytes": _input_upload_mean(report),
        "max_abs_error": document["max_abs_error"], "error_bound": document["error_bound"],
        "ckks": document["ckks"], "load_average_1min": load,
    }


def load_average_1min() -> float | None:
    """Return the 1-minute load average, or None where the OS has none.

    Other work on the machine slows the measured times, so each timed run records it.
    """
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _input_upload_mean(report) -> float | None:
    """Return the mean size of the input upload: the masked input, or the CKKS ciphertexts.

    Keys, shares and unmasking traffic are left out; None if no client uploaded its input.
    """
    uploads = [stats for stats in report.rounds if stats.round == Round.MASKED_INPUT_COLLECTION]
    delivered = sum(stats.delivered for stats in uploads)
    return sum(stats.upload_bytes for stats in uploads) / delivered if delivered else None


def check_cost_model(protocol: str, clients: int, dim: int, bits: int, dropout: float = 0.0,
                     seed: int = 0, corrupted_fraction: float = DEFAULT_CORRUPTED_FRACTION,
                     dropout_fraction: float = DEFAULT_DROPOUT_FRACTION) -> dict[str, Any]:
    """Run the protocol once and compare its mean client bytes with the cost model.

    SecAgg is checked with or without dropout. SecAgg+ is checked only without
    dropout: then every client has exactly ``degree`` neighbours, but with
    dropout the counts depend on the random graph, which the run does not
    return. The two fractions choose the SecAgg+ degree (Bell et al.'s rule).
    """
    if protocol == "secagg+" and dropout:
        raise ValueError(f"dropout must be 0 for a secagg+ check, got {dropout}; the cost model "
                         "needs the run's neighbour graph to count SecAgg+ bytes under dropout")
    spec = RunSpec(protocol, clients, dim, bits, dropout_rate=dropout, drop_stage=2, seed=seed,
                   corrupted_fraction=corrupted_fraction, dropout_fraction=dropout_fraction)
    outcome = run(spec)
    measured = outcome.report.to_json_dict()["bytes"]
    degree = outcome.to_json_dict()["degree"]

    dropped = {d.client: spec.drop_stage for d in outcome.report.dropouts}
    if dropped:
        survivors = cost.Survivors.from_drop_stages(clients, dropped, active=False)
        model = cost.message_bytes(clients, dim, bits, survivors_=survivors)
        upload, download = model.client_upload_mean, model.client_download_mean
    else:
        model_degree = None if degree == clients - 1 else degree
        per_client = cost.per_client_bytes(clients, dim, bits, degree=model_degree)
        upload, download = per_client["upload"], per_client["download"]
    return {
        "protocol": protocol, "clients": clients, "dim": dim, "bits": bits, "dropout": dropout,
        "degree": degree, "dropped": len(dropped), "aborted": outcome.result.aborted,
        "measured_upload_bytes": measured["client_upload_mean"],
        "measured_download_bytes": measured["client_download_mean"],
        "model_upload_bytes": upload, "model_download_bytes": download,
        "match": upload == measured["client_upload_mean"]
                 and download == measured["client_download_mean"],
    }


def plaintext_bytes(dim: int, bits: int) -> int:
    """Return the bytes of ``dim`` elements of ``bits`` bits, packed: the expansion's denominator."""
    return packed_size(dim, bits)


def relative_difference(ours: float | None, published: float | None) -> float | None:
    """Return ours / published - 1, or None when either is missing."""
    if ours is None or published is None:
        return None
    return ours / published - 1.0


def markdown_table(headers: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    """Return the lines of a markdown table; cells are converted with ``str``."""
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def seconds_text(seconds: float | None) -> str:
    """Format a duration in s, or in ms below one second, and None as "-"."""
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def bytes_text(count: float | None) -> str:
    """Format a byte count with a binary prefix, and None as "-"."""
    if count is None:
        return "-"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.2f} {unit}"
    return f"{count:.0f} B"


def percent_text(fraction: float | None) -> str:
    """Format a signed relative difference such as +1.2%, and None as "-"."""
    return "-" if fraction is None else f"{fraction:+.1%}"


def pyplot():
    """Return matplotlib.pyplot with the file-only Agg backend.

    Raises:
        ImportError: If matplotlib is missing, with the install command.
    """
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError('matplotlib is not installed; install the plots extra: '
                          'pip install -e ".[plots]"') from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
