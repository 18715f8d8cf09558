"""Error output of the subcommands: one line on stderr, exit status 2."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Callable, NoReturn

_LEADING_NAME = re.compile(r"([a-z][a-z0-9_]*)\b")


def report(prog: str, message: str, args: argparse.Namespace | None = None) -> int:
    """Print ``prog: error: message`` to stderr and return the exit status 2.

    With ``args``, a leading parameter name in ``message`` becomes the option
    the user typed (see :func:`with_flag_names`).
    """
    if args is not None:
        message = with_flag_names(message, args)
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def usage_error(prog: str) -> Callable[[str], NoReturn]:
    """Return a replacement for ``ArgumentParser.error`` that prints one line, without the usage."""

    def fail(message: str) -> NoReturn:
        sys.exit(report(prog, message))

    return fail


def with_flag_names(message: str, args: argparse.Namespace) -> str:
    """Return ``message`` with a leading Python parameter name replaced by its option.

    Validation inside the package names parameters as Python does
    (``dropout_rate``), but a command-line user typed ``--dropout-rate``.
    Only names that are options of the command are replaced.
    """
    match = _LEADING_NAME.match(message)
    if match and match.group(1) in vars(args):
        return "--" + match.group(1).replace("_", "-") + message[match.end():]
    return message
