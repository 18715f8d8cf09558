"""CKKS (TenSEAL) against SecAgg and SecAgg+: bytes per parameter and time.

Every protocol runs through :func:`secagg.simulation.run` on the same
(clients, parameters) grid, without dropout. CKKS uses the add-only preset
(``secagg.he.ADD_ONLY``) with float inputs clipped to [-1, 1].
SecAgg and SecAgg+ use integer inputs of the plan's ``masking_bits``. Bytes
per parameter is a client's mean upload divided by the number of
parameters m, where float32 in the clear would cost 4.

Each protocol first runs once on a small instance whose numbers are dropped,
so that loading Numba kernels and TenSEAL is not counted in the first point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from secagg.reproduce.common import Log, bytes_text, markdown_table, measure, pyplot, seconds_text

TITLE = "CKKS against pairwise masking: bytes per parameter and time"

FLOAT32_BYTES = 4
"""Bytes of one parameter sent in the clear as float32, the usual baseline."""

PLANS: dict[str, dict[str, Any]] = {
    "full": {"clients": [10, 50, 100], "dims": [10_000, 100_000, 500_000],
             "masking_bits": [16, 32]},
    "quick": {"clients": [10, 50], "dims": [10_000, 100_000], "masking_bits": [16, 32]},
    "tiny": {"clients": [3, 5], "dims": [100, 5_000], "masking_bits": [16]},
}

_WARMUP = {"clients": 3, "dim": 100}


def variants(plan: dict[str, Any]) -> list[tuple[str, int]]:
    """Return the (protocol, bits) pairs of a plan. CKKS appears once, and its bits are ignored."""
    masking = [(protocol, bits) for bits in plan["masking_bits"]
               for protocol in ("secagg", "secagg+")]
    return [("ckks", plan["masking_bits"][0])] + masking


def collect(plan: dict[str, Any], log: Log) -> dict[str, Any]:
    """Run every protocol at every (clients, dim) point of the plan."""
    for protocol in ("ckks", "secagg", "secagg+"):
        measure(protocol, _WARMUP["clients"], _WARMUP["dim"], 16)

    rows = []
    for dim in plan["dims"]:
        for clients in plan["clients"]:
            for protocol, bits in variants(plan):
                log(f"{protocol}: n = {clients}, m = {dim}"
                    + ("" if protocol == "ckks" else f", {bits}-bit inputs"))
                row = measure(protocol, clients, dim, bits)
                if protocol == "ckks":
                    row["bits"] = None
                rows.append(row)
    return {"warmup": _WARMUP, "runs": rows}


def _load_text(load: float | None) -> str:
    return "-" if load is None else f"{load:.1f}"


def _label(row: dict[str, Any]) -> str:
    if row["protocol"] == "ckks":
        return "CKKS"
    name = "SecAgg" if row["protocol"] == "secagg" else "SecAgg+"
    return f"{name}, {row['bits']}-bit"


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

def render(results: dict[str, Any]) -> list[str]:
    """Return the markdown section of ``results.md``."""
    lines = ["## Bytes per parameter and time", "",
             "No dropout, one run per row. Upload per parameter = mean client upload over all "
             "rounds / m; input upload per parameter counts only the round that carries the "
             "input (the CKKS ciphertexts or the masked vector), leaving out keys and shares. "
             f"Float32 in the clear costs {FLOAT32_BYTES} bytes per parameter. "
             "Client = mean total work of a client; "
             "for CKKS this includes client 0, the key holder, which also generates the keys "
             "and decrypts the sum. Server = the server's total work. Error = max |decrypted "
             "sum - float64 sum| (CKKS); the masking protocols are exact on their integers. "
             "Load = the machine's 1-minute load average when the run started; above about 1, "
             "other processes competed for the cores. "
             "See `bytes_per_parameter.png` and `time.png`.", ""]
    settings = next((row["ckks"] for row in results["runs"] if row["ckks"]), None)
    if settings:
        lines += [f"CKKS parameters: N = {settings['poly_modulus_degree']} "
                  f"({settings['poly_modulus_degree'] // 2} slots per ciphertext), coefficient "
                  f"moduli of {settings['coeff_mod_bit_sizes']} bits, scale "
                  f"2^{settings['scale_bits']}, inputs clipped to [-{settings['clip']}, "
                  f"{settings['clip']}], key holder {settings['key_holder']}.", ""]
    table = []
    for row in results["runs"]:
        error = "exact" if row["protocol"] != "ckks" else f"{row['max_abs_error']:.1e}"
        table.append([_label(row), row["clients"], f"{row['dim']:,}", row["degree"] or "-",
                      f"{row['bytes_per_parameter']:.2f}",
                      f"{row['input_upload_bytes'] / row['dim']:.2f}",
                      f"{(row['client_upload_bytes'] + row['client_download_bytes']) / row['dim']:.2f}",
                      bytes_text(row["client_upload_bytes"]), seconds_text(row["client_s"]),
                      seconds_text(row["client_max_s"]), seconds_text(row["server_s"]),
                      error, _load_text(row["load_average_1min"]), row["correct"]])
    lines += markdown_table(["protocol", "n", "m", "k", "upload per parameter",
                             "input upload per parameter", "upload + download per parameter", "upload per client", "client",
                             "slowest client", "server", "error", "load", "correct"], table)
    return lines


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def plot(results: dict[str, Any], out: Path) -> list[str]:
    """Write bytes_per_parameter.png and time.png into ``out`` and return their names."""
    plt = pyplot()
    _plot_bytes(plt, results, out / "bytes_per_parameter.png")
    _plot_time(plt, results, out / "time.png")
    return ["bytes_per_parameter.png", "time.png"]


def _series(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group runs by protocol label, in the order of first appearance."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(_label(row), []).append(row)
    return grouped


def _plot_bytes(plt, results: dict[str, Any], path: Path) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator

    clients = results["plan"]["clients"][-1]
    rows = [r for r in results["runs"] if r["clients"] == clients]
    figure, (all_axes, input_axes) = plt.subplots(1, 2, figsize=(12, 4.8))
    for label, series in _series(rows).items():
        series.sort(key=lambda r: r["dim"])
        xs = [r["dim"] for r in series]
        # SecAgg and SecAgg+ upload the same masked vector, so SecAgg+ is drawn
        # dashed with large hollow markers to keep both visible where they coincide.
        style = {"linestyle": "--", "marker": "o", "markersize": 9, "markerfacecolor": "none"} \
            if series[0]["protocol"] == "secagg+" else {"marker": "o", "markersize": 5}
        all_axes.plot(xs, [r["bytes_per_parameter"] for r in series], label=label, **style)
        input_axes.plot(xs, [r["input_upload_bytes"] / r["dim"] for r in series], label=label,
                        **style)
    all_axes.set_title(f"all rounds, n = {clients}", fontsize=10)
    input_axes.set_title(f"input upload only (ciphertexts or masked vector), n = {clients}",
                         fontsize=10)
    for axes in (all_axes, input_axes):
        axes.axhline(FLOAT32_BYTES, color="gray", linestyle=":", label="float32 in the clear")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        axes.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))
        axes.set_xlabel("parameters m")
        axes.set_ylabel("upload bytes per parameter")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("Client upload per parameter: CKKS against pairwise masking (no dropout)",
                    fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_time(plt, results: dict[str, Any], path: Path) -> None:
    dim = results["plan"]["dims"][-1]
    rows = [r for r in results["runs"] if r["dim"] == dim]
    figure, (client_axes, server_axes) = plt.subplots(1, 2, figsize=(12, 4.8))
    for label, series in _series(rows).items():
        series.sort(key=lambda r: r["clients"])
        xs = [r["clients"] for r in series]
        client_axes.plot(xs, [r["client_s"] * 1e3 for r in series], "-o", markersize=5, label=label)
        server_axes.plot(xs, [r["server_s"] for r in series], "-o", markersize=5, label=label)
    client_axes.set_ylabel("mean client time (ms)")
    server_axes.set_ylabel("server time (s)")
    for axes, title in ((client_axes, "client"), (server_axes, "server")):
        axes.set_xlabel("clients n")
        axes.set_ylim(bottom=0)
        axes.set_title(f"{title}, m = {dim:,}", fontsize=10)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(f"Time against clients, no dropout ({results['machine']['cpu']})", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
