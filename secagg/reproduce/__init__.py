"""Reproductions of published measurements, one module per paper.

:func:`reproduce` runs one paper's plan and writes its folder: ``results.json``
(every number, the plan that was run, the machine, library versions and
date), ``results.md`` (the tables, published values beside ours) and PNG
figures. ``secagg reproduce NAME`` calls it; the hand-written
``papers/NAME/README.md`` links to what it writes.

Each paper module defines ``TITLE``, ``PLANS`` (keyed by scale),
``collect(plan, log)`` returning the measured sections, ``render(results)``
returning the markdown body and ``plot(results, out)`` returning the names of
the PNG files it wrote.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from secagg._validation import check_choice
from secagg.reproduce.common import Log


@dataclass(frozen=True)
class Paper:
    """One reproducible paper: the module that runs it and a one-line summary for help text."""

    module: str
    summary: str


PAPERS = {
    "bonawitz2017": Paper("secagg.reproduce.bonawitz2017",
                          "Bonawitz et al., CCS 2017: communication expansion; SecAgg client "
                          "and server time against clients, vector length and dropout"),
    "bell2020": Paper("secagg.reproduce.bell2020",
                      "Bell et al., CCS 2020: SecAgg+ (k, t) table; per-client bytes against n"),
    "he-vs-masking": Paper("secagg.reproduce.he_vs_masking",
                           "CKKS (TenSEAL) against SecAgg and SecAgg+: bytes per parameter "
                           "and time"),
}
"""The papers that ``secagg reproduce`` accepts, by name."""

SCALES = ("full", "quick", "tiny")
"""Plan sizes: ``full`` is the complete grid, ``quick`` (``--quick``) a
subset that finishes in a few minutes, ``tiny`` a seconds-long grid that the
tests run through the same code path."""


def paper_module(name: str) -> ModuleType:
    """Import and return the module that reproduces paper ``name``."""
    check_choice("name", name, tuple(PAPERS))
    return importlib.import_module(PAPERS[name].module)


def default_out(name: str) -> Path:
    """Return the folder a paper's results go to by default: papers/NAME."""
    return Path("papers") / name


def command_for(name: str, scale: str, out: Path) -> str:
    """Return the command that regenerates a results folder."""
    if scale == "tiny":
        return f"python -c \"from secagg.reproduce import reproduce; reproduce('{name}', '{out}', 'tiny')\""
    quick = " --quick" if scale == "quick" else ""
    return f"secagg reproduce {name}{quick} --out {out}"


def reproduce(name: str, out: str | Path | None = None, scale: str = "full",
              log: Log = print) -> dict[str, Any]:
    """Run one paper's plan at ``scale`` and write its results folder.

    Returns the dictionary written to ``results.json``. Figures are skipped,
    with a logged line, when matplotlib is missing.

    Raises:
        ValueError: If ``name`` or ``scale`` is unknown.
        OSError: If the output folder cannot be created.
    """
    module = paper_module(name)
    check_choice("scale", scale, SCALES)
    out = default_out(name) if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)

    plan = module.PLANS[scale]
    started = time.perf_counter()
    results: dict[str, Any] = {
        "paper": name, "title": module.TITLE, "scale": scale,
        "command": command_for(name, scale, out), "plan": plan,
        "machine": _machine(), "load_average_start": _load_average(),
    }
    results.update(module.collect(plan, log))
    results["load_average_end"] = _load_average()
    results["duration_s"] = time.perf_counter() - started

    try:
        results["figures"] = module.plot(results, out)
    except ImportError as error:
        log(f"figures not written: {error}")
        results["figures"] = []
    (out / "results.md").write_text(_markdown(results, module), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {out / 'results.json'}, {out / 'results.md'} and {len(results['figures'])} "
        f"figures in {results['duration_s']:.0f} s")
    return results


def _machine() -> dict[str, Any]:
    from secagg.bench.machine import describe

    return describe()


def _load_average() -> list[float] | None:
    """Return the 1, 5 and 15 minute load averages: other work on the machine slows timings."""
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def _markdown(results: dict[str, Any], module: ModuleType) -> str:
    machine = results["machine"]
    versions = ", ".join(f"{key} {value}" for key, value in machine["versions"].items() if value)
    load = results["load_average_start"]
    load_text = "unknown" if load is None else f"{load[0]:.2f}"
    header = [
        f"# {results['title']}: results", "",
        f"Generated by `{results['command']}` ({results['scale']} plan) in "
        f"{results['duration_s']:.0f} s. Every number below comes from that run; "
        "`results.json` holds them all, with the plan.", "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['platform']}; "
        f"1-minute load average {load_text} at the start",
        f"- Software: Python {machine['python']}, {machine['openssl']}, {versions}",
        f"- Date: {machine['date']}", "",
    ]
    return "\n".join(header + module.render(results)) + "\n"
