"""Imports of the optional dependencies, with one install hint when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, package: str) -> ModuleType:
    """Import and return ``module``; raise a one-line ImportError naming ``package`` if it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{package} is not installed, and secagg fedavg needs it; "
                          f"install the extras with: pip install -e \".[all]\"") from None
