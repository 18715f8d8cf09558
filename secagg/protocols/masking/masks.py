"""Mask expansion for the masked input and for unmasking.

A client's masked input is

    y_u = x_u + PRG(b_u) + sum_{v > u} PRG(s_uv) - sum_{v < u} PRG(s_uv)   (mod R)

over the neighbours v that survived round 1. Self masks and pairwise masks
use the PRG domains ``(session id, round 2, "self-mask")`` and
``(session id, round 2, "pairwise-mask")``.
"""

from __future__ import annotations

import numpy as np

from secagg.primitives import prg
from secagg.protocols.base import Round

SELF_MASK = "self-mask"
PAIRWISE_MASK = "pairwise-mask"


def domain(session_id: bytes, purpose: str) -> bytes:
    return prg.mask_domain(session_id, int(Round.MASKED_INPUT_COLLECTION), purpose)


def pairwise_sign(own: int, other: int) -> int:
    """Return +1 if ``own`` adds the mask it shares with ``other``, -1 if it subtracts it."""
    return 1 if own < other else -1


def accumulate(total: np.ndarray, seed: bytes, sign: int, modulus: int, purpose_domain: bytes) -> None:
    """Add ``sign * PRG(seed)`` to ``total`` in place, modulo ``modulus``."""
    mask = prg.expand(seed, total.size, modulus, purpose_domain)
    if sign > 0:
        total += mask
    else:
        total += np.uint64(modulus) - mask
    total %= np.uint64(modulus)


def masked_vector(values: np.ndarray, self_seed: bytes, pairwise: dict[int, bytes], own: int,
                  modulus: int, session_id: bytes) -> np.ndarray:
    """Return y_u for client ``own``; ``pairwise`` maps neighbour id to s_uv."""
    total = values.astype(np.uint64, copy=True) % np.uint64(modulus)
    accumulate(total, self_seed, 1, modulus, domain(session_id, SELF_MASK))
    pairwise_domain = domain(session_id, PAIRWISE_MASK)
    for other, seed in pairwise.items():
        accumulate(total, seed, pairwise_sign(own, other), modulus, pairwise_domain)
    return total
