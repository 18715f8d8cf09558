"""Bell et al., "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead", CCS 2020.

Two results are reproduced:

1. The SecAgg+ degree k and threshold t that
   :func:`secagg.protocols.graph_parameters.find_graph_parameters` chooses for
   n = 10**2 to 10**6 and several (gamma, delta) pairs, beside the values of
   Google's implementation listed in :data:`REFERENCE`.
2. One client's bytes against n for SecAgg (degree n - 1) and SecAgg+ (degree
   from the rule), from :mod:`secagg.protocols.masking.cost`, checked against
   simulated runs at small n. SecAgg's per-client traffic grows linearly in n;
   SecAgg+'s grows with k, which grows polylogarithmically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from secagg.primitives.packing import packed_size
from secagg.protocols.graph_parameters import find_graph_parameters
from secagg.protocols.masking import cost
from secagg.protocols.masking.config import modulus_for
from secagg.reproduce.common import Log, bytes_text, check_cost_model, markdown_table, pyplot

TITLE = "Bell et al., CCS 2020: SecAgg+ parameters and per-client communication"

SEMI_HONEST = "semi-honest"
SEMI_MALICIOUS = "semi-malicious"
"""Google's names for the server models: a semi-malicious server may lie about
who dropped out, which this package's ``active`` variant defends against."""

TABLE_CLIENTS = [10**2, 10**3, 10**4, 10**5, 10**6]

REFERENCE: dict[tuple[float, float, str], list[tuple[int, int]]] = {
    (0.05, 0.05, SEMI_HONEST): [(12, 6), (30, 17), (34, 20), (36, 21), (38, 22)],
    (0.05, 0.05, SEMI_MALICIOUS): [(16, 11), (52, 37), (62, 44), (68, 48), (74, 52)],
    (0.33, 0.33, SEMI_HONEST): [(68, 34), (286, 150), (422, 221), (480, 251), (518, 270)],
    (0.05, 0.33, SEMI_HONEST): [(28, 6), (72, 24), (86, 29), (96, 32), (102, 34)],
    (0.33, 0.05, SEMI_HONEST): [(34, 29), (78, 60), (92, 70), (102, 77), (110, 83)],
    (0.3, 0.3, SEMI_MALICIOUS): [(92, 62), (872, 584), (4822, 3230), (9388, 6286),
                                 (11136, 7454)],
}
"""(gamma, delta, server model) -> (k, t) at each n of :data:`TABLE_CLIENTS`.

Google's test file graph_parameter_finder_test.cc in google-parfait/
federated-compute (commit e7157f0625b52fdf5912fd4eb9074f003424ceb1) lists
these; tests/protocols/test_graph_parameters.py contains the full list of 88
cases. Google's test asserts the degree exactly and the threshold as an upper
bound, and each listed threshold is the lower end of the rule's window."""

SERIES_CLIENTS = [c * 10**e for e in range(1, 6) for c in (1, 2, 5)] + [10**6]
SERIES_DIM = 100_000
SERIES_BITS = 16
SERIES_FRACTIONS = [(0.05, 0.05), (0.33, 0.33)]
"""(gamma, delta) pairs of the SecAgg+ curves, semi-honest."""

PLANS: dict[str, dict[str, Any]] = {
    "full": {"check_clients": [50, 100, 200], "check_dim": 10_000, "check_bits": 16},
    "quick": {"check_clients": [50, 100], "check_dim": 1_000, "check_bits": 16},
    "tiny": {"check_clients": [10, 20], "check_dim": 100, "check_bits": 16},
}


def collect(plan: dict[str, Any], log: Log) -> dict[str, Any]:
    """Compute the (k, t) table and the bytes series, and run the simulator checks."""
    log("parameters: (k, t) for n = 10^2 to 10^6")
    parameters = parameter_table()
    log(f"communication: per-client bytes for n = {SERIES_CLIENTS[0]} to {SERIES_CLIENTS[-1]}")
    communication = communication_series()

    checks = []
    for clients in plan["check_clients"]:
        for protocol, gamma, delta in _curves():
            log(f"model check: {protocol}, n = {clients}, m = {plan['check_dim']}"
                + (f", gamma = delta = {gamma}" if protocol == "secagg+" else ""))
            fractions = {} if protocol == "secagg" else {"corrupted_fraction": gamma,
                                                          "dropout_fraction": delta}
            check = check_cost_model(protocol, clients, plan["check_dim"], plan["check_bits"],
                                     **fractions)
            check.update(gamma=gamma, delta=delta, overhead_bytes=_overhead(check))
            checks.append(check)
    return {"parameters": parameters, "communication": communication, "model_checks": checks}


def parameter_table() -> list[dict[str, Any]]:
    """Return the rule's (k, t) beside Google's for every pair of :data:`REFERENCE` and n."""
    rows = []
    for (gamma, delta, model), reference in REFERENCE.items():
        for clients, (reference_degree, reference_threshold) in zip(TABLE_CLIENTS, reference):
            found = find_graph_parameters(clients, gamma, delta, active=model == SEMI_MALICIOUS)
            rows.append({
                "clients": clients, "gamma": gamma, "delta": delta, "model": model,
                "degree": found.degree, "threshold": found.threshold,
                "complete_graph": found.complete_graph,
                "reference_degree": reference_degree, "reference_threshold": reference_threshold,
                "match": (found.degree, found.threshold) == (reference_degree, reference_threshold),
            })
    return rows


def _curves() -> list[tuple[str, float | None, float | None]]:
    return [("secagg", None, None)] + [("secagg+", g, d) for g, d in SERIES_FRACTIONS]


def communication_series() -> list[dict[str, Any]]:
    """Return one client's upload and download, without dropout, for each curve and n."""
    rows = []
    for protocol, gamma, delta in _curves():
        for clients in SERIES_CLIENTS:
            degree = None
            if protocol == "secagg+":
                found = find_graph_parameters(clients, gamma, delta)
                degree = None if found.complete_graph else found.degree
            per_client = cost.per_client_bytes(clients, SERIES_DIM, SERIES_BITS, degree=degree)
            masked = cost.masked_input(SERIES_DIM, modulus_for(clients, SERIES_BITS))
            total = per_client["upload"] + per_client["download"]
            rows.append({"protocol": protocol, "gamma": gamma, "delta": delta, "clients": clients,
                         "dim": SERIES_DIM, "bits": SERIES_BITS,
                         "degree": clients - 1 if degree is None else degree,
                         "upload_bytes": per_client["upload"],
                         "download_bytes": per_client["download"], "total_bytes": total,
                         "masked_input_bytes": masked, "overhead_bytes": total - masked})
    return rows


def _overhead(check: dict[str, Any]) -> float:
    """Return a check's measured bytes per client minus its masked input."""
    masked = cost.masked_input(check["dim"], modulus_for(check["clients"], check["bits"]))
    return check["measured_upload_bytes"] + check["measured_download_bytes"] - masked


def _label(protocol: str, gamma: float | None, delta: float | None) -> str:
    if protocol == "secagg":
        return "SecAgg"
    return f"SecAgg+, gamma = {gamma}, delta = {delta}" if gamma != delta else \
        f"SecAgg+, gamma = delta = {gamma}"


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

def render(results: dict[str, Any]) -> list[str]:
    """Return the markdown sections of ``results.md``."""
    return (_parameter_section(results["parameters"])
            + _communication_section(results["communication"])
            + _check_section(results["model_checks"]))


def _parameter_section(rows: list[dict[str, Any]]) -> list[str]:
    matches = sum(row["match"] for row in rows)
    lines = ["## SecAgg+ degree and threshold", "",
             "Each cell is k / t from `find_graph_parameters` (sigma = 40, eta = 20). A cell "
             "that differs from Google's value is bold, with Google's value beside it. "
             f"**{matches} of {len(rows)} cells equal Google's values.** See `parameters.png`.", ""]
    table = []
    for gamma, delta, model in REFERENCE:
        cells = []
        for row in rows:
            if (row["gamma"], row["delta"], row["model"]) != (gamma, delta, model):
                continue
            ours = f"{row['degree']} / {row['threshold']}"
            if not row["match"]:
                ours = f"**{ours}** (Google {row['reference_degree']} / {row['reference_threshold']})"
            cells.append(ours)
        table.append([gamma, delta, model] + cells)
    lines += markdown_table(["gamma", "delta", "server"] + [f"n = {n:,}" for n in TABLE_CLIENTS],
                            table)
    return lines


def _communication_section(rows: list[dict[str, Any]]) -> list[str]:
    curves = _curves()
    lines = ["## Per-client communication against n", "",
             f"One client's upload + download without dropout, m = {SERIES_DIM:,} elements of "
             f"{SERIES_BITS} bits, from the cost model. Overhead = total minus the masked input: "
             "keys, encrypted shares and unmasking. See `communication.png`.", ""]
    headers = ["n"]
    for protocol, gamma, delta in curves:
        label = _label(protocol, gamma, delta)
        if protocol == "secagg+":
            headers.append(f"{label}: k")
        headers += [f"{label}: total", f"{label}: overhead"]
    table = []
    for clients in SERIES_CLIENTS:
        cells: list[Any] = [f"{clients:,}"]
        for protocol, gamma, delta in curves:
            row = next(r for r in rows if r["clients"] == clients and r["protocol"] == protocol
                       and r["gamma"] == gamma)
            if protocol == "secagg+":
                cells.append(row["degree"])
            cells += [bytes_text(row["total_bytes"]), bytes_text(row["overhead_bytes"])]
        table.append(cells)
    lines += markdown_table(headers, table)

    for protocol, gamma, delta in curves:
        curve = [r for r in rows if r["protocol"] == protocol and r["gamma"] == gamma]
        first, last = curve[0], curve[-1]
        lines.append(f"- {_label(protocol, gamma, delta)}: from n = {first['clients']:,} to "
                     f"{last['clients']:,} ({last['clients'] // first['clients']:,}x), the "
                     f"overhead grows {last['overhead_bytes'] / first['overhead_bytes']:.1f}x "
                     f"and k grows {last['degree'] / first['degree']:.1f}x.")
    return lines + [""]


def _check_section(checks: list[dict[str, Any]]) -> list[str]:
    lines = ["## Cost model against the simulator", "",
             "Simulated runs without dropout, made for this check: mean bytes per client, "
             "measured and from the cost model.", ""]
    table = [[_label(c["protocol"], c["gamma"], c["delta"]), c["clients"], c["dim"], c["degree"],
              f"{c['measured_upload_bytes']:.0f}", f"{c['model_upload_bytes']:.0f}",
              f"{c['measured_download_bytes']:.0f}", f"{c['model_download_bytes']:.0f}",
              "yes" if c["match"] else "**no**"] for c in checks]
    return lines + markdown_table(["protocol", "n", "m", "k", "upload, measured", "upload, model",
                                   "download, measured", "download, model", "equal"], table)


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def plot(results: dict[str, Any], out: Path) -> list[str]:
    """Write communication.png and parameters.png into ``out`` and return their names."""
    plt = pyplot()
    _plot_communication(plt, results, out / "communication.png")
    _plot_parameters(plt, results["parameters"], out / "parameters.png")
    return ["communication.png", "parameters.png"]


def _plot_communication(plt, results: dict[str, Any], path: Path) -> None:
    figure, (total_axes, overhead_axes) = plt.subplots(1, 2, figsize=(13, 5))
    for (protocol, gamma, delta), style in zip(_curves(), ("-o", "--s", "--^")):
        label = _label(protocol, gamma, delta)
        curve = [r for r in results["communication"]
                 if r["protocol"] == protocol and r["gamma"] == gamma]
        xs = [r["clients"] for r in curve]
        total_axes.plot(xs, [r["total_bytes"] for r in curve], style, markersize=4, label=label)
        line = overhead_axes.plot(xs, [r["overhead_bytes"] for r in curve], style, markersize=4,
                                  label=f"{label}, model")[0]
        checks = [c for c in results["model_checks"]
                  if c["protocol"] == protocol and c["gamma"] == gamma]
        overhead_axes.plot([c["clients"] for c in checks], [c["overhead_bytes"] for c in checks],
                           "x", color=line.get_color(), markersize=10,
                           label=f"{label}, simulated")
    plaintext = packed_size(SERIES_DIM, SERIES_BITS)
    total_axes.axhline(plaintext, color="gray", linestyle=":", label="plaintext upload")
    total_axes.set_title(f"Upload + download per client, m = {SERIES_DIM:,}, "
                         f"{SERIES_BITS}-bit inputs", fontsize=10)
    overhead_axes.set_title("Overhead per client: total minus the masked input", fontsize=10)
    for axes in (total_axes, overhead_axes):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("clients n")
        axes.set_ylabel("bytes")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("SecAgg grows linearly in n; SecAgg+ with k from the parameter rule grows "
                    "polylogarithmically (cost model, no dropout)", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_parameters(plt, rows: list[dict[str, Any]], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(8, 5.2))
    for gamma, delta, model in REFERENCE:
        curve = [r for r in rows if (r["gamma"], r["delta"], r["model"]) == (gamma, delta, model)]
        xs = [r["clients"] for r in curve]
        line = axes.plot(xs, [r["degree"] for r in curve], "-o", markersize=4,
                         label=f"gamma = {gamma}, delta = {delta}, {model}")[0]
        axes.plot(xs, [r["reference_degree"] for r in curve], "x", color=line.get_color(),
                  markersize=11)
    axes.plot([], [], "x", color="black", markersize=11, label="Google's values")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("clients n")
    axes.set_ylabel("degree k (neighbours per client)")
    axes.set_title("SecAgg+ degree from the parameter rule (sigma = 40, eta = 20)", fontsize=11)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
