"""Entry point of the ``secagg`` console script."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import secagg


SUBCOMMANDS = ("simulate", "bench", "fedavg", "attack", "reproduce",)
"""Modules under secagg.cli that each define ``add_parser(commands)``; they
must import only the core dependencies at module level."""


def _selftest(args: argparse.Namespace) -> int:
    from secagg.selftest import run_checks

    failed = 0
    for name, error in run_checks():
        if error is None:
            print(f"PASS  {name}")
        else:
            failed += 1
            print(f"FAIL  {name}: {error}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secagg",
        description="Secure aggregation for federated learning: run protocols, "
                    "attacks and benchmarks over a simulated network.")
    parser.add_argument("--version", action="version", version=f"secagg {secagg.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    selftest = commands.add_parser(
        "selftest", help="run the known-answer checks of every primitive",
        description="Run the known-answer checks of every cryptographic primitive and "
                    "print one PASS or FAIL line each. Exit status 1 if any check fails.")
    selftest.set_defaults(handler=_selftest)

    for name in SUBCOMMANDS:
        importlib.import_module(f"secagg.cli.{name}").add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except BrokenPipeError:
        # The reader of our output went away (for example `| head`); stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
