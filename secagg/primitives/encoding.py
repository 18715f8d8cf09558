"""Fixed-point encoding of float vectors into Z_R, and decoding of their sum.

A value ``x`` in ``[-clip, clip]`` becomes the integer
``q = round((x + clip) / step)`` in ``[0, 2**bits - 1]``, with
``step = 2 * clip / (2**bits - 1)``. The sum of ``n`` encodings is below
``n * (2**bits - 1)``, which the configuration checks to be ``< R``, so the
sum never wraps modulo R and decodes exactly to
``sum(q) * step - n * clip``. Each value carries a rounding error below one
step (stochastic rounding, unbiased) or at most half a step (nearest), so the
decoded sum is within ``n`` steps of the true sum of the clipped inputs.

Values outside the clipping range are clipped and counted in the returned
:class:`EncodingReport`, or raise ValueError in strict mode. NaN and
infinities always raise. ``bits`` is at most 52 so that every level is exact
in float64.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from secagg._validation import check_int, check_positive_float
from secagg.primitives.packing import MAX_WIDTH

MAX_BITS = 52


class Rounding(enum.Enum):
    """Rounding rule from a scaled value to an integer level."""

    STOCHASTIC = "stochastic"
    NEAREST = "nearest"


@dataclass(frozen=True)
class EncodingReport:
    """Outcome of encoding one vector."""

    clipped: int
    """Number of values that were outside ``[-clip, clip]`` and were clipped."""


@dataclass(frozen=True)
class FixedPointEncoder:
    """Encode floats of ``clients`` parties so that their sum fits in Z_modulus.

    Build it with :meth:`create`, which validates the configuration before any
    round starts.
    """

    clip: float
    bits: int
    modulus: int
    clients: int
    rounding: Rounding = Rounding.STOCHASTIC
    strict: bool = False

    @classmethod
    def create(cls, clip: float, bits: int, modulus: int, clients: int,
               rounding: Rounding | str = Rounding.STOCHASTIC,
               strict: bool = False) -> "FixedPointEncoder":
        """Validate the configuration and return an encoder.

        Raises ValueError when ``clients`` maximal inputs would wrap modulo
        ``modulus``, naming the values and what to change.
        """
        clip = check_positive_float("clip", clip)
        bits = check_int("bits", bits, minimum=1, maximum=MAX_BITS)
        modulus = check_int("modulus", modulus, minimum=2, maximum=2**MAX_WIDTH)
        clients = check_int("clients", clients, minimum=1)
        rounding = Rounding(rounding)
        if clients * (2**bits - 1) >= modulus:
            raise ValueError(
                f"the sum of {clients} inputs of {bits} bits can reach "
                f"{clients * (2**bits - 1)}, which wraps modulo R = {modulus}; "
                f"use fewer bits, fewer clients, or R > {clients * (2**bits - 1)}")
        return cls(clip, bits, modulus, clients, rounding, bool(strict))

    @property
    def step(self) -> float:
        """The quantization step: the float value of one integer level."""
        return 2.0 * self.clip / (2**self.bits - 1)

    def encode(self, values: np.ndarray,
               generator: np.random.Generator | None = None) -> tuple[np.ndarray, EncodingReport]:
        """Encode a 1-D float vector; returns uint64 levels and a report.

        ``generator`` drives stochastic rounding; pass a seeded one in
        simulations. The default is seeded by the OS.
        """
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"values must be a 1-D array, got shape {values.shape}")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(f"values[{bad[0]}] is {values[bad[0]]}; inputs must be "
                             "finite, so remove NaN and infinite values before encoding")

        outside = np.abs(values) > self.clip
        clipped = int(np.count_nonzero(outside))
        if clipped and self.strict:
            first = int(np.flatnonzero(outside)[0])
            raise ValueError(f"values[{first}] = {values[first]} is outside the clipping "
                             f"range [-{self.clip}, {self.clip}] ({clipped} values in all); "
                             "raise clip or scale the inputs")
        scaled = (np.clip(values, -self.clip, self.clip) + self.clip) / self.step
        levels = self._round(scaled, generator)
        np.clip(levels, 0, 2**self.bits - 1, out=levels)  # float error at the top level only
        return levels.astype(np.uint64), EncodingReport(clipped)

    def _round(self, scaled: np.ndarray, generator: np.random.Generator | None) -> np.ndarray:
        if self.rounding is Rounding.NEAREST:
            return np.floor(scaled + 0.5)
        generator = generator if generator is not None else np.random.default_rng()
        floor = np.floor(scaled)
        return floor + (generator.random(scaled.shape) < (scaled - floor))

    def decode_sum(self, total: np.ndarray, count: int) -> np.ndarray:
        """Decode the sum (mod R) of ``count`` encoded vectors to float64."""
        count = check_int("count", count, minimum=1, maximum=self.clients,
                          hint="the encoder was configured for at most that many clients")
        total = np.asarray(total)
        if total.size and int(total.max()) > count * (2**self.bits - 1):
            raise ValueError(f"total contains {int(total.max())}, more than {count} "
                             f"encodings of {self.bits} bits can sum to; it is not a sum "
                             f"of {count} encoded vectors")
        return total.astype(np.float64) * self.step - count * self.clip
