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
from secagg.primitives.mask_expansion import MaskStream, accumulate
from secagg.protocols.base import Round

SELF_MASK = "self-mask"
PAIRWISE_MASK = "pairwise-mask"


def domain(session_id: bytes, purpose: str) -> bytes:
    return prg.mask_domain(session_id, int(Round.MASKED_INPUT_COLLECTION), purpose)


def pairwise_sign(own: int, other: int) -> int:
    """Return +1 if ``own`` adds the mask it shares with ``other``, -1 if it subtracts it."""
    return 1 if own < other else -1


def masked_vector(values: np.ndarray, self_seed: bytes, pairwise: dict[int, bytes], own: int,
                  modulus: int, session_id: bytes) -> np.ndarray:
    """Return y_u for client ``own``; ``pairwise`` maps neighbour id to s_uv."""
    total = values.astype(np.uint64, copy=True) % np.uint64(modulus)
    pairwise_domain = domain(session_id, PAIRWISE_MASK)
    streams = [MaskStream(self_seed, domain(session_id, SELF_MASK), 1)]
    streams += [MaskStream(seed, pairwise_domain, pairwise_sign(own, other))
                for other, seed in pairwise.items()]
    accumulate(total, streams, modulus)
    return total
