"""Argument checks shared by the public entry points.

Every message has one shape: which argument, what it must be, what it was,
and, where it helps, what to do instead.
"""

from __future__ import annotations

import numbers
from typing import Any


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def check_int(name: str, value: Any, *, minimum: int | None = None,
              maximum: int | None = None, hint: str = "") -> int:
    """Return ``value`` as an int after checking its type and range."""
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(_range_message(name, value, minimum, maximum, hint))
    if maximum is not None and value > maximum:
        raise ValueError(_range_message(name, value, minimum, maximum, hint))
    return value


def _range_message(name: str, value: int, minimum: int | None,
                   maximum: int | None, hint: str) -> str:
    if minimum is not None and maximum is not None:
        bounds = f"between {minimum} and {maximum}"
    elif minimum is not None:
        bounds = f">= {minimum}"
    else:
        bounds = f"<= {maximum}"
    message = f"{name} must be {bounds}, got {value}"
    return f"{message}; {hint}" if hint else message


def check_bytes(name: str, value: Any, *, length: int | None = None,
                min_length: int | None = None) -> bytes:
    """Return ``value`` as bytes after checking its type and length."""
    if type(value) is not bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"{name} must be bytes, got {_describe(value)}")
        value = bytes(value)
    if length is not None and len(value) != length:
        raise ValueError(f"{name} must be {length} bytes long, got {len(value)} bytes")
    if min_length is not None and len(value) < min_length:
        raise ValueError(f"{name} must be at least {min_length} bytes long, "
                         f"got {len(value)} bytes")
    return value


def check_positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {_describe(value)}")
    return value
