"""Markdown tables and a PNG plot of a benchmark run's results."""

from __future__ import annotations

from pathlib import Path

from secagg.bench.suite import PUBLISHED

COMMAND = "secagg bench --out benchmarks"


def _load(value) -> str:
    return "unknown" if value is None else f"{value:.2f}"


def _ms(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.1f} ms"


def _s(seconds) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def markdown(results: dict, command: str = COMMAND) -> str:
    """Return the results as a markdown page."""
    machine = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    lines = [
        "# Benchmark results", "",
        f"Regenerate with `{command}{' --quick' if results['quick'] else ''}`. The Flower "
        "comparison needs the `flower` extra and the CKKS table the `he` extra, installed "
        "together in their own environment (see the README's Benchmarks section). "
        "Every number below was measured in that one run; `results.json` holds them all.", "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['platform']}",
        f"- Software: Python {machine['python']}, {machine['openssl']}, {versions}",
        f"- Date: {machine['date']}; load average when the run started: "
        f"{_load(machine.get('load_average_1min'))}", "",
    ]
    lines += _cipher_section(results["cipher"])
    lines += _client_section(results["client"])
    lines += _server_section(results["server"])
    lines += _flower_section(results["flower"])
    if "ckks" in results:
        lines += _ckks_section(results["ckks"])
    lines += _scaling_section(results["scaling"])
    return "\n".join(lines) + "\n"


def _cipher_section(cipher: dict) -> list[str]:
    raw = cipher["keystream_bytes_per_s"]
    lines = ["## Mask expansion against the cipher", "",
             f"Raw AES-256-CTR keystream, one core, 256 KiB `update_into` chunks: "
             f"**{raw / 1e9:.2f} GB/s**. Expansion output counts Z_R elements at "
             "ceil(log2 R) bits. Expansion runs on two threads for jobs this large on idle "
             "cores, each writing its own keystream (`cryptography` 50 releases the GIL in "
             "`update_into`), so it can exceed the one-core keystream.", "",
             "| R | elements/s | output GB/s | ratio to keystream |", "| --- | --- | --- | --- |"]
    for row in cipher["expansion"]:
        lines.append(f"| {row['modulus']} | {row['elements_per_s'] / 1e9:.2f} G | "
                     f"{row['output_bytes_per_s'] / 1e9:.2f} | {row['ratio_to_keystream']:.2f}x |")
    kernels = cipher["kernels"]
    lines += ["", f"X25519 exchange: {cipher['x25519_exchange_s'] * 1e6:.1f} us. "
              f"First mask expansion in a fresh process (three moduli): "
              f"{_ms(kernels['cold_cache']['first_call_s'])} with an empty Numba cache "
              f"(compilation), {_ms(kernels['warm_cache']['first_call_s'])} with the cache filled; "
              f"steady state {_ms(kernels['warm_cache']['steady_call_s'])}.", ""]
    sharing = cipher["shamir"]
    lines += [f"Shamir, one 32-byte secret to {sharing['parties']} parties with t = "
              f"{sharing['threshold']}: split {_ms(sharing['split_s'])}, reconstruct from "
              f"{sharing['threshold']} shares {_ms(sharing['reconstruct_s'])} (best of 20; the "
              "Lagrange coefficients are computed on the first reconstruction and cached).", ""]
    return lines


def _client_section(client: dict) -> list[str]:
    key = f"{client['clients']}x{client['dim']}"
    published = PUBLISHED["client_s"].get(key)
    floor = client["floor"]
    return ["## Client", "",
            f"SecAgg, n = {client['clients']}, m = {client['dim']}, {client['bits']}-bit inputs: "
            "one client's whole work (key generation, key agreements, sharing and encryption, "
            "masked input, unmasking response), mean over the clients.", "",
            "| measured | floor (X25519 + PRG bytes) | measured / floor | published |",
            "| --- | --- | --- | --- |",
            f"| {_ms(client['client_s'])} | {_ms(floor['seconds'])} | "
            f"{client['client_s'] / floor['seconds']:.2f}x | {_ms(published)} |", ""]


def _server_section(rows: list[dict]) -> list[str]:
    lines = ["## Server", "",
             "SecAgg with clients dropping after ShareKeys: the server's total work.", "",
             "| n | m | dropout | server | published | correct |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        key = f"{row['clients']}x{row['dim']}@{row['dropout']}"
        lines.append(f"| {row['clients']} | {row['dim']} | {row['dropout']:.0%} | "
                     f"{_s(row['server_s'])} | {_s(PUBLISHED['server_s'].get(key))} | {row['correct']} |")
    return lines + ["", f"Published: {PUBLISHED['source']}.", ""]


def _flower_section(flower: dict) -> list[str]:
    lines = ["## Side by side with Flower's SecAgg+", ""]
    if "skipped" in flower:
        return lines + [f"Skipped: {flower['skipped']}", ""]
    params = flower["parameters"]
    lines += [f"n = {params['clients']}, m = {params['dim']}, k = {params['neighbours']} neighbours, "
              f"t = {params['threshold']}, {params['dropout']:.0%} dropping before the masked input, "
              f"{params['bits']}-bit inputs, both sides in this process; correct on both sides: "
              f"{flower['correct']}. Ratio = Flower's time / secagg's time.", "",
              "| stage | secagg client | Flower client | ratio | secagg server | Flower server | ratio |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    ours, theirs, ratios = flower["secagg"]["stages"], flower["flower"]["stages"], flower["ratios"]["stages"]
    for stage in ours:
        lines.append(f"| {stage} | {_ms(ours[stage]['client_mean_s'])} | "
                     f"{_ms(theirs[stage]['client_mean_s'])} | {ratios[stage]['client_mean']:.1f}x | "
                     f"{_ms(ours[stage]['server_s'])} | {_ms(theirs[stage]['server_s'])} | "
                     f"{ratios[stage]['server']:.1f}x |")
    end = flower["ratios"]["end_to_end"]
    lines += ["", f"End to end, all work one call after another: secagg "
              f"{_s(flower['secagg']['end_to_end']['sequential_s'])}, Flower "
              f"{_s(flower['flower']['end_to_end']['sequential_s'])}, **{end['sequential_s']:.1f}x**. "
              f"With clients working in parallel (server plus slowest client per stage): "
              f"**{end['parallel_s']:.1f}x**.", "", "| | secagg | Flower |", "| --- | --- | --- |"]
    primitives = flower["primitives"]
    for key in ("prg", "key_agreement", "share_encryption", "shamir"):
        lines.append(f"| {key.replace('_', ' ')} | {primitives['secagg'][key]} | {primitives['flower'][key]} |")
    return lines + [""]


def _ckks_section(ckks: dict) -> list[str]:
    lines = ["## CKKS against raw TenSEAL and beside SecAgg+", ""]
    if "skipped" in ckks:
        return lines + [f"Skipped: {ckks['skipped']}", ""]
    lines += [f"{ckks['clients']} clients, {ckks['dim']} parameters, {ckks['parameters']}. "
              f"An upload is {ckks['upload_bytes_per_parameter']:.2f} B per parameter: "
              "TenSEAL's serialization after a 40-byte header. "
              "Best CPU time per upload of interleaved runs; ratio = package / raw TenSEAL.", "",
              "| step | package | raw TenSEAL | ratio |", "| --- | --- | --- | --- |"]
    for name, row in ckks["overheads"].items():
        lines.append(f"| {name.replace('_', ' ')} | {_ms(row['package_cpu_s_per_100k'])} | "
                     f"{_ms(row['raw_cpu_s_per_100k'])} | {row['ratio']:.3f} |")
    lines += ["", "Whole runs on the same float inputs (SecAgg+ encodes them at 16 bits, clip 1):", "",
              "| protocol | client | server | upload B/parameter | download B/parameter | correct |",
              "| --- | --- | --- | --- | --- | --- |"]
    for row in ckks["runs"]:
        lines.append(f"| {row['protocol']} | {_ms(row['client_mean_s'])} | {_s(row['server_s'])} | "
                     f"{row['client_upload_bytes_per_parameter']:.2f} | "
                     f"{row['client_download_bytes_per_parameter']:.2f} | {row['correct']} |")
    return lines + [""]


def _scaling_section(rows: list[dict]) -> list[str]:
    lines = ["## Scaling", "", "Clients drop after ShareKeys; 16-bit inputs. Peak memory is what "
             "`tracemalloc` saw for the whole in-process simulation. See `scaling.png`.", "",
             "| protocol | n | m | dropout | k | t | client | server | peak memory |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| {row['protocol']} | {row['clients']} | {row['dim']} | {row['dropout']:.0%} | "
                     f"{row['degree']} | {row['threshold']} | {_ms(row['client_s'])} | "
                     f"{_s(row['server_s'])} | {row['peak_memory_bytes'] / 2**20:.0f} MiB |")
    return lines + [""]


def plot_scaling(rows: list[dict], path: Path) -> None:
    """Plot time and peak memory against n, m and dropout for SecAgg and SecAgg+."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes_names = [("clients", "clients n"), ("dim", "vector length m"), ("dropout", "dropout fraction")]
    figure, axes = plt.subplots(2, 3, figsize=(13, 7))
    for column, (axis, label) in enumerate(axes_names):
        for name, style in (("secagg", "-o"), ("secagg+", "--s")):
            points = [r for r in rows if r["axis"] == axis and r["protocol"] == name]
            xs = [r[axis] for r in points]
            axes[0][column].plot(xs, [r["server_s"] for r in points], style, label=f"{name} server")
            axes[0][column].plot(xs, [r["client_s"] for r in points], style, alpha=0.6,
                                 label=f"{name} client")
            axes[1][column].plot(xs, [r["peak_memory_bytes"] / 2**20 for r in points], style, label=name)
        axes[0][column].set_xlabel(label)
        axes[0][column].set_ylabel("seconds")
        axes[1][column].set_xlabel(label)
        axes[1][column].set_ylabel("peak memory (MiB)")
        axes[0][column].legend(fontsize=7)
        axes[1][column].legend(fontsize=7)
    figure.suptitle("SecAgg and SecAgg+: time and memory as n, m and dropout grow")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
