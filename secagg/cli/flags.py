"""Error messages in the words of the command line."""

from __future__ import annotations

import argparse
import re

_LEADING_NAME = re.compile(r"([a-z][a-z0-9_]*)\b")


def with_flag_names(message: str, args: argparse.Namespace) -> str:
    """Return ``message`` with a leading Python parameter name replaced by its option.

    Validation inside the package names parameters as Python does
    (``dropout_rate``); a command-line user typed ``--dropout-rate``.
    Only names that are options of the command are replaced.
    """
    match = _LEADING_NAME.match(message)
    if match and match.group(1) in vars(args):
        return "--" + match.group(1).replace("_", "-") + message[match.end():]
    return message
