"""``secagg reproduce``: regenerate one folder of ``papers/`` from measured runs and the cost model."""

from __future__ import annotations

import argparse
import sys

from secagg.cli import errors
from secagg.reproduce import PAPERS

_PROG = "secagg reproduce"


def add_parser(commands) -> None:
    paper_list = "\n".join(f"  {name:<16}{paper.summary}" for name, paper in PAPERS.items())
    parser = commands.add_parser(
        "reproduce", help="regenerate a paper's results: results.json, results.md and PNG figures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a paper's measurements and write results.json (every number, the "
                    "points run, machine, versions and date), results.md (published values "
                    "beside ours) and PNG figures.\n\n"
                    f"papers:\n{paper_list}")
    parser.add_argument("name", metavar="NAME", help=f"the paper: {', '.join(PAPERS)}")
    parser.add_argument("--quick", action="store_true",
                        help="run a subset of the points that finishes in a few minutes")
    parser.add_argument("--out", metavar="DIR",
                        help="folder for the results (default: papers/NAME)")
    parser.set_defaults(handler=main)
    parser.error = errors.usage_error(_PROG)


def main(args: argparse.Namespace) -> int:
    if args.name not in PAPERS:
        print(f"{_PROG}: error: unknown paper {args.name!r}; choose one of "
              f"{', '.join(PAPERS)}", file=sys.stderr)
        return 2

    from secagg.reproduce import reproduce

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        reproduce(args.name, args.out, "quick" if args.quick else "full", log=log)
    except OSError as error:
        print(f"{_PROG}: error: cannot write the results to {args.out or 'papers/' + args.name}: "
              f"{error}", file=sys.stderr)
        return 2
    return 0
