"""Known-answer vectors, each JSON file naming its source.

Files named ``*_v1.json`` hold vectors of this package's own constructions;
the ``make_*.py`` script beside each one computed them with code independent
of the package (Python integers, hmac and AES-ECB blocks).
"""

from __future__ import annotations

import json
from importlib import resources


def load(name: str) -> dict:
    """Load the vector file ``name`` (without the .json suffix)."""
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)
