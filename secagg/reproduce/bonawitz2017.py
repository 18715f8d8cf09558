"""Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017.

Two claims are reproduced:

1. Communication expansion. For 16-bit inputs the abstract reports 1.73x at
   n = 2**10 clients and m = 2**20 elements, and 1.98x at n = 2**14 and
   m = 2**24. Expansion here is a client's mean upload divided by the
   plaintext upload of m packed ``bits``-bit elements. The values come from
   :mod:`secagg.protocols.masking.cost`, whose byte counts equal the
   simulator's; the plan's model checks run a few instances to confirm it.
2. Running time. Client and server time of SecAgg, measured by running the
   protocol over the in-process network, against the number of clients, the
   vector length and the dropout fraction, beside the Java timings recorded
   in :data:`secagg.bench.suite.PUBLISHED`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from secagg.bench.suite import PUBLISHED as PUBLISHED_TIMES
from secagg.primitives.packing import bit_width, packed_size
from secagg.protocols.masking import cost
from secagg.protocols.masking.config import modulus_for
from secagg.reproduce.common import (Log, bytes_text, check_cost_model, load_average_1min,
                                     markdown_table, measure, percent_text, pyplot,
                                     relative_difference, seconds_text)
from secagg.simulation import (DEFAULT_CORRUPTED_FRACTION, DEFAULT_DROPOUT_FRACTION, RunSpec,
                               choose_parameters)

TITLE = "Bonawitz et al., CCS 2017: communication expansion and running time"

PUBLISHED_EXPANSION = {(2**10, 2**20): 1.73, (2**14, 2**24): 1.98}
"""(clients, elements) -> expansion for 16-bit inputs, from the paper's abstract."""

EXPANSION_SETTINGS = [(2**10, 2**20), (2**14, 2**24), (2**10, 2**24), (2**14, 2**20)]
EXPANSION_BITS = 16
EXPANSION_CURVE_CLIENTS = [2**e for e in range(6, 17)]
"""Client counts of the expansion figure's curves."""

PLANS: dict[str, dict[str, Any]] = {
    # Each sweep varies one setting and fixes the other two. Every client of
    # a run is simulated in this process, so a run costs about n**2 * m. The
    # runs with 1,000 clients take most of the full plan's time.
    "full": {
        "bits": 24,
        "sweeps": [
            {"vary": "clients", "values": [100, 200, 300, 400, 500, 750, 1000],
             "dim": 100_000, "dropout": 0.0},
            {"vary": "dim", "values": [100_000, 200_000, 300_000, 400_000, 500_000],
             "clients": 100, "dropout": 0.0},
            {"vary": "dropout", "values": [0.0, 0.1, 0.2, 0.3], "clients": 500, "dim": 100_000},
            {"vary": "dropout", "values": [0.0, 0.1, 0.2, 0.3], "clients": 1000, "dim": 100_000},
        ],
        "model_checks": [["secagg", 100, 100_000, 16, 0.1], ["secagg+", 100, 100_000, 16, 0.0],
                         ["secagg", 500, 1_000, 16, 0.3], ["secagg+", 500, 1_000, 16, 0.0]],
    },
    "quick": {
        "bits": 24,
        "sweeps": [
            {"vary": "clients", "values": [50, 100, 200, 300], "dim": 100_000, "dropout": 0.0},
            {"vary": "dim", "values": [100_000, 200_000, 300_000], "clients": 100,
             "dropout": 0.0},
            {"vary": "dropout", "values": [0.0, 0.1, 0.2, 0.3], "clients": 200, "dim": 100_000},
        ],
        "model_checks": [["secagg", 50, 10_000, 16, 0.1], ["secagg+", 100, 10_000, 16, 0.0]],
    },
    "tiny": {
        "bits": 24,
        "sweeps": [
            {"vary": "clients", "values": [8, 12], "dim": 500, "dropout": 0.0},
            {"vary": "dim", "values": [500, 1_000], "clients": 8, "dropout": 0.0},
            {"vary": "dropout", "values": [0.0, 0.25], "clients": 8, "dim": 500},
        ],
        "model_checks": [["secagg", 10, 100, 16, 0.2], ["secagg+", 20, 100, 16, 0.0]],
    },
}

_VARIED = ("clients", "dim", "dropout")
_AXIS_LABELS = {"clients": "clients n", "dim": "vector length m", "dropout": "dropout fraction"}


def collect(plan: dict[str, Any], log: Log) -> dict[str, Any]:
    """Compute the expansion table and curves, run the model checks and the timing grid."""
    checks = []
    for protocol, clients, dim, bits, dropout in plan["model_checks"]:
        log(f"model check: {protocol}, n = {clients}, m = {dim}, dropout {dropout:.0%}")
        checks.append(check_cost_model(protocol, clients, dim, bits, dropout))

    return {
        "expansion": expansion_table(),
        "expansion_curves": expansion_curves(),
        "per_peer_upload": per_peer_upload(),
        "model_checks": checks,
        "timing": timing_grid(plan, log),
        "published_times": _published_times(),
    }


def expansion_row(protocol: str, clients: int, dim: int, bits: int) -> dict[str, Any]:
    """Return the expansion of one setting without dropout, with the parameters behind it.

    SecAgg+ takes its degree from the rule of Bell et al. at the default
    corrupted and dropout fractions of :func:`secagg.simulation.choose_parameters`.
    """
    spec = RunSpec(protocol, clients, dim, bits)
    degree, threshold = choose_parameters(spec)
    width = bit_width(modulus_for(clients, bits))
    per_client = cost.per_client_bytes(clients, dim, bits, degree=degree)
    published = PUBLISHED_EXPANSION.get((clients, dim)) if protocol == "secagg" else None
    value = cost.expansion(clients, dim, bits, degree=degree)
    return {
        "protocol": protocol, "clients": clients, "dim": dim, "bits": bits,
        "expansion": value, "published": published,
        "difference": relative_difference(value, published),
        "degree": clients - 1 if degree is None else degree, "threshold": threshold,
        "corrupted_fraction": DEFAULT_CORRUPTED_FRACTION if protocol == "secagg+" else None,
        "dropout_fraction": DEFAULT_DROPOUT_FRACTION if protocol == "secagg+" else None,
        "element_bits": width,
        "masked_input_expansion": packed_size(dim, width) / packed_size(dim, bits),
        "upload_bytes": per_client["upload"], "download_bytes": per_client["download"],
    }


def expansion_table() -> list[dict[str, Any]]:
    """Return the expansion of SecAgg and SecAgg+ at the four (n, m) settings, 16-bit inputs."""
    return [expansion_row(protocol, clients, dim, EXPANSION_BITS)
            for clients, dim in EXPANSION_SETTINGS for protocol in ("secagg", "secagg+")]


def expansion_curves() -> list[dict[str, Any]]:
    """Return the expansion against n for m = 2**20 and 2**24, the figure's curves."""
    rows = []
    for dim in (2**20, 2**24):
        for protocol in ("secagg", "secagg+"):
            for clients in EXPANSION_CURVE_CLIENTS:
                degree, _ = choose_parameters(RunSpec(protocol, clients, dim, EXPANSION_BITS))
                rows.append({"protocol": protocol, "clients": clients, "dim": dim,
                             "bits": EXPANSION_BITS, "degree": degree,
                             "expansion": cost.expansion(clients, dim, EXPANSION_BITS,
                                                         degree=degree)})
    return rows


def per_peer_upload() -> dict[str, Any]:
    """Return the upload bytes per neighbour, ours and the ones the published values imply.

    A SecAgg client uploads two things per other client: an encrypted pair of
    Shamir shares in ShareKeys and one share in its unmasking response. The
    published expansion, minus a masked input of bits + ceil(log2 n) bits per
    element, divided among the n - 1 neighbours, gives the paper's bytes per
    peer. The published values are rounded to two decimals, which leaves the
    uncertainty given as ``implied_uncertainty_bytes``.
    """
    ours = {"encrypted_share_pair": cost.share_keys(1) - cost.share_keys(0),
            "unmasking_share": cost.unmasking_response(1) - cost.unmasking_response(0),
            "share_bytes": cost.SHARE, "aead_overhead_bytes": cost.SHARE_CIPHERTEXT - cost.SHARE_PLAINTEXT}
    ours["total"] = ours["encrypted_share_pair"] + ours["unmasking_share"]
    implied = []
    for (clients, dim), published in PUBLISHED_EXPANSION.items():
        plaintext = packed_size(dim, EXPANSION_BITS)
        masked = packed_size(dim, EXPANSION_BITS + math.ceil(math.log2(clients)))
        implied.append({"clients": clients, "dim": dim, "published": published,
                        "implied_bytes": (published * plaintext - masked) / (clients - 1),
                        "implied_uncertainty_bytes": 0.005 * plaintext / (clients - 1)})
    return {"ours": ours, "implied_by_published": implied}


def sweep_name(index: int) -> str:
    """Return the name of a plan's sweep number ``index``: "A", "B", ..."""
    return chr(ord("A") + index)


def _fixed(sweep: dict[str, Any]) -> dict[str, Any]:
    return {key: sweep[key] for key in _VARIED if key != sweep["vary"]}


def timing_points(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the distinct (clients, dim, dropout) points of the plan, each with its sweeps' names."""
    points: dict[tuple, dict[str, Any]] = {}
    for index, sweep in enumerate(plan["sweeps"]):
        for value in sweep["values"]:
            point = {**_fixed(sweep), sweep["vary"]: value}
            key = (point["clients"], point["dim"], point["dropout"])
            points.setdefault(key, {**point, "sweeps": []})["sweeps"].append(sweep_name(index))
    return sorted(points.values(), key=lambda p: (p["clients"], p["dim"], p["dropout"]))


def timing_grid(plan: dict[str, Any], log: Log) -> list[dict[str, Any]]:
    """Run SecAgg once at every point of the plan and return the measured rows.

    A small run first loads the Numba kernels; its numbers are dropped.
    """
    rows = []
    bits = plan["bits"]
    measure("secagg", 5, 100, bits)
    for point in timing_points(plan):
        log(f"timing: secagg, n = {point['clients']}, m = {point['dim']}, {bits}-bit inputs, "
            f"dropout {point['dropout']:.0%}")
        load = load_average_1min()
        row = measure("secagg", point["clients"], point["dim"], bits, point["dropout"])
        row["load_average_1min"] = load
        row["sweeps"] = point["sweeps"]
        row.update(_published_for(point["clients"], point["dim"], point["dropout"]))
        rows.append(row)
        log(f"  client {seconds_text(row['client_s'])}, server {seconds_text(row['server_s'])}, "
            f"wall {seconds_text(row['wall_s'])}, correct {row['correct']}")
    return rows


def _published_times() -> list[dict[str, Any]]:
    """Return the published timings as rows of clients, dim, dropout, party and seconds."""
    rows = []
    for key, seconds in PUBLISHED_TIMES["client_s"].items():
        clients, dim = (int(part) for part in key.split("x"))
        rows.append({"party": "client", "clients": clients, "dim": dim, "dropout": 0.0,
                     "seconds": seconds})
    for key, seconds in PUBLISHED_TIMES["server_s"].items():
        size, dropout = key.split("@")
        clients, dim = (int(part) for part in size.split("x"))
        rows.append({"party": "server", "clients": clients, "dim": dim, "dropout": float(dropout),
                     "seconds": seconds})
    return rows


def _published_for(clients: int, dim: int, dropout: float) -> dict[str, float | None]:
    """Return the published client and server seconds at one point (None where not given).

    The published client time is for the run without dropout.
    """
    found: dict[str, float | None] = {"published_client_s": None, "published_server_s": None}
    for row in _published_times():
        if (row["clients"], row["dim"], row["dropout"]) == (clients, dim, dropout):
            found[f"published_{row['party']}_s"] = row["seconds"]
    return found


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

def render(results: dict[str, Any]) -> list[str]:
    """Return the markdown sections of ``results.md``."""
    return (_expansion_section(results) + _model_check_section(results["model_checks"])
            + _timing_section(results))


def _expansion_section(results: dict[str, Any]) -> list[str]:
    rows = []
    for row in results["expansion"]:
        published = "-" if row["published"] is None else f"{row['published']:.2f}x"
        rows.append([row["protocol"], f"2^{row['clients'].bit_length() - 1}",
                     f"2^{row['dim'].bit_length() - 1}", row["degree"], row["element_bits"],
                     f"{row['masked_input_expansion']:.3f}x", f"**{row['expansion']:.3f}x**",
                     published, percent_text(row["difference"]), bytes_text(row["upload_bytes"])])
    lines = ["## Communication expansion", "",
             f"{EXPANSION_BITS}-bit inputs, no dropout. Expansion = mean client upload / the "
             f"plaintext upload of m packed {EXPANSION_BITS}-bit elements. The masked input "
             "alone costs `element bits / bits`; the rest is keys and Shamir shares, which grow "
             "with the degree k. SecAgg+ uses the (k, t) rule of Bell et al. at "
             f"gamma = {DEFAULT_CORRUPTED_FRACTION}, delta = {DEFAULT_DROPOUT_FRACTION}, semi-honest. "
             "See `expansion.png`.", ""]
    lines += markdown_table(["protocol", "n", "m", "k", "element bits", "masked input only",
                             "expansion", "published", "difference", "upload per client"], rows)

    peer = results["per_peer_upload"]
    ours = peer["ours"]
    lines += [f"Where the SecAgg difference comes from: each client uploads "
              f"**{ours['total']} B per other client**, an encrypted pair of Shamir shares "
              f"({ours['encrypted_share_pair']} B: two {ours['share_bytes']} B shares, ids, "
              f"{ours['aead_overhead_bytes']} B of AES-GCM nonce and tag) and one share in the "
              f"unmasking response ({ours['unmasking_share']} B). The published values, after "
              "subtracting a masked input of bits + ceil(log2 n) bits per element, leave this "
              "many bytes per other client:", ""]
    lines += markdown_table(
        ["n", "m", "published", "implied bytes per other client", "ours"],
        [[f"2^{r['clients'].bit_length() - 1}", f"2^{r['dim'].bit_length() - 1}",
          f"{r['published']:.2f}x",
          f"{r['implied_bytes']:.0f} ± {r['implied_uncertainty_bytes']:.0f} B", f"{ours['total']} B"]
         for r in peer["implied_by_published"]])
    return lines


def _model_check_section(checks: list[dict[str, Any]]) -> list[str]:
    lines = ["## Cost model against the simulator", "",
             "Mean bytes per client: the cost model against the simulator's count, in runs "
             "made for this check. Dropped clients go silent before uploading their input.", ""]
    rows = [[c["protocol"], c["clients"], c["dim"], f"{c['dropout']:.0%}", c["degree"],
             f"{c['measured_upload_bytes']:.1f}", f"{c['model_upload_bytes']:.1f}",
             f"{c['measured_download_bytes']:.1f}", f"{c['model_download_bytes']:.1f}",
             "yes" if c["match"] else "**no**"] for c in checks]
    return lines + markdown_table(["protocol", "n", "m", "dropout", "k", "upload, measured",
                                   "upload, model", "download, measured", "download, model",
                                   "equal"], rows)


def _timing_section(results: dict[str, Any]) -> list[str]:
    plan = results["plan"]
    lines = ["## Running time", "",
             f"SecAgg, semi-honest, {plan['bits']}-bit inputs, one run per point. Dropped clients "
             "go silent after ShareKeys, before uploading their masked input. See `timing.png`.",
             "",
             "- Client: the mean total work of a client included in the sum.",
             "- Server: the server's total work. \"Of which unmasking\" is the part spent in the "
             "unmasking round: share reconstruction and mask removal.",
             "- Wall: the whole in-process run, every client one after another.",
             "- Load: the machine's 1-minute load average when the point started. The run itself "
             "adds about 1. More means that other processes competed for the cores, which "
             "inflates the point's times.", "",
             "Sweeps of the plan; each row below lists the sweeps it belongs to:", ""]
    for index, sweep in enumerate(plan["sweeps"]):
        lines.append(f"- {sweep_name(index)}: {sweep['vary']} = {sweep['values']}, "
                     f"{_fixed_text(_fixed(sweep))}")
    lines.append("")
    rows = [[r["clients"], f"{r['dim']:,}", f"{r['dropout']:.0%}", ", ".join(r["sweeps"]),
             seconds_text(r["client_s"]), seconds_text(r["published_client_s"]),
             seconds_text(r["server_s"]), seconds_text(r["server_round_s"].get("UNMASKING")),
             seconds_text(r["published_server_s"]), seconds_text(r["wall_s"]),
             _load_text(r["load_average_1min"]), r["correct"]]
            for r in results["timing"]]
    lines += markdown_table(["n", "m", "dropout", "sweeps", "client", "published client",
                             "server", "of which unmasking", "published server", "wall", "load",
                             "correct"], rows)

    measured = {(r["clients"], r["dim"], r["dropout"]) for r in results["timing"]}
    missing = [p for p in results["published_times"]
               if (p["clients"], p["dim"], p["dropout"]) not in measured]
    if missing:
        lines += ["Published points outside this plan (not run):", ""]
        lines += markdown_table(["party", "n", "m", "dropout", "published"],
                                [[p["party"], p["clients"], p["dim"], f"{p['dropout']:.0%}",
                                  seconds_text(p["seconds"])] for p in missing])
    lines += [f"Published: {PUBLISHED_TIMES['source']}.", ""]
    return lines


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def plot(results: dict[str, Any], out: Path) -> list[str]:
    """Write expansion.png and timing.png into ``out`` and return their names."""
    plt = pyplot()
    _plot_expansion(plt, results, out / "expansion.png")
    _plot_timing(plt, results, out / "timing.png")
    return ["expansion.png", "timing.png"]


def _plot_expansion(plt, results: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    # The two SecAgg+ curves nearly coincide, so the first gets large hollow markers.
    styles = {("secagg", 2**20): ("-o", 4, None), ("secagg", 2**24): ("-s", 4, None),
              ("secagg+", 2**20): ("--o", 9, "none"), ("secagg+", 2**24): ("--s", 4, None)}
    for (protocol, dim), (style, size, face) in styles.items():
        curve = [r for r in results["expansion_curves"]
                 if r["protocol"] == protocol and r["dim"] == dim]
        axes.plot([r["clients"] for r in curve], [r["expansion"] for r in curve], style,
                  markersize=size, markerfacecolor=face,
                  label=f"{protocol}, m = 2^{dim.bit_length() - 1}")
    published = [r for r in results["expansion"] if r["published"] is not None]
    axes.plot([r["clients"] for r in published], [r["published"] for r in published], "*",
              color="black", markersize=13, label="published (SecAgg)")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("clients n")
    axes.set_ylabel("expansion (upload / plaintext upload)")
    axes.set_title(f"Communication expansion, {EXPANSION_BITS}-bit inputs, no dropout")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_timing(plt, results: dict[str, Any], path: Path) -> None:
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    plan = results["plan"]
    figure, axes = plt.subplots(2, 3, figsize=(14, 8))
    for column, varied in enumerate(_VARIED):
        client_axes, server_axes = axes[0][column], axes[1][column]
        for index, sweep in enumerate(plan["sweeps"]):
            if sweep["vary"] != varied:
                continue
            name = sweep_name(index)
            label = _fixed_text(_fixed(sweep))
            points = sorted((r for r in results["timing"] if name in r["sweeps"]),
                            key=lambda r: r[varied])
            xs = [r[varied] for r in points]
            line = client_axes.plot(xs, [r["client_s"] * 1e3 for r in points], "-o",
                                    label=f"ours, {label}")[0]
            server_axes.plot(xs, [r["server_s"] for r in points], "-o", color=line.get_color(),
                             label=f"ours, {label}")
            for row in results["published_times"]:
                if any(row[key] != value for key, value in _fixed(sweep).items()):
                    continue
                target = client_axes if row["party"] == "client" else server_axes
                scale = 1e3 if row["party"] == "client" else 1.0
                target.plot(row[varied], row["seconds"] * scale, "*", color=line.get_color(),
                            markeredgecolor="black", markersize=13, label=f"published, {label}")

        client_axes.set_ylabel("client time (ms)")
        server_axes.set_ylabel("server time (s)")
        for target in (client_axes, server_axes):
            target.set_xlabel(_AXIS_LABELS[varied])
            target.set_ylim(bottom=0)
            target.grid(True, alpha=0.3)
            # One legend entry per label: every published star of a sweep shares one.
            handles, labels = target.get_legend_handles_labels()
            unique = dict(zip(labels, handles))
            target.legend(unique.values(), unique.keys(), fontsize=7)
            if varied == "dropout":
                target.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            if varied == "dim":
                target.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1e3:.0f}k"))
    figure.suptitle(f"SecAgg running time, {plan['bits']}-bit inputs, one run per point, "
                    f"{results['machine']['cpu']} (stars: published, Java)", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _load_text(load: float | None) -> str:
    return "-" if load is None else f"{load:.1f}"


def _fixed_text(fixed: dict[str, Any]) -> str:
    """Return the fixed settings of an axis as "n = 100, dropout 0%"."""
    parts = []
    for key, value in fixed.items():
        if key == "dropout":
            parts.append(f"dropout {value:.0%}")
        else:
            parts.append(f"{'n' if key == 'clients' else 'm'} = {value:,}")
    return ", ".join(parts)
