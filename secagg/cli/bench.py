"""``secagg bench``: the headline benchmarks, as a table, JSON and a markdown report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "bench", help="run the headline benchmarks",
        description="Measure mask expansion against the raw cipher, one client's work, the "
                    "server's work under dropout, Flower's SecAgg+ side by side (if flwr is "
                    "installed) and scaling. Writes results.json, RESULTS.md and scaling.png.")
    parser.add_argument("--quick", action="store_true",
                        help="smaller settings that finish in a few minutes")
    parser.add_argument("--json", action="store_true",
                        help="print the results as one JSON object instead of the report")
    parser.add_argument("--out", metavar="DIR", default="bench-results",
                        help="folder for results.json, RESULTS.md and scaling.png "
                             "(default: bench-results)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from secagg.bench import render
    from secagg.bench.suite import run_suite

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"secagg bench: error: cannot create --out {out}: {error.strerror or error}; "
              "pass a writable folder path", file=sys.stderr)
        return 2

    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else \
        (lambda line: print(line, flush=True))
    results = run_suite(quick=args.quick, log=log)
    command = f"secagg bench --out {args.out}"
    report = render.markdown(results, command)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "RESULTS.md").write_text(report, encoding="utf-8")
    try:
        render.plot_scaling(results["scaling"], out / "scaling.png")
    except ImportError:
        log("scaling.png not written: matplotlib is missing; install with pip install -e \".[all]\"")

    if args.json:
        print(json.dumps(results))
    else:
        print(report)
    return 0
