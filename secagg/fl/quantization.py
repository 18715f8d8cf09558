"""Fixed-point settings for aggregating float updates with integer protocols.

SecAgg and SecAgg+ add integers modulo R, so every float is mapped to one of
``2**bits`` levels spread evenly over ``[-clip, clip]`` by
:class:`secagg.primitives.encoding.FixedPointEncoder`. ``clip`` and ``bits``
are public: every client and the server must agree on them before a round,
so they cannot be derived from the private updates.
"""

from __future__ import annotations

from dataclasses import dataclass

from secagg._validation import check_int, check_positive_float
from secagg.primitives.encoding import MAX_BITS, FixedPointEncoder
from secagg.protocols.masking.config import modulus_for

DEFAULT_BITS = 24


@dataclass(frozen=True)
class QuantizationSettings:
    """Clipping bound and levels of the fixed-point encoding of each update element.

    ``clip`` bounds the absolute value of every element of every client's
    update, before any weighting. Elements beyond it are clipped to
    ``[-clip, clip]`` and counted per client and tensor in the aggregation's
    outcome, or raise ValueError when ``strict`` is True. ``bits`` sets the
    resolution: a step of ``2 * clip / (2**bits - 1)``, so the error of a sum
    of ``n`` clients is below ``n`` steps per element. CKKS encrypts floats
    directly: it applies ``clip`` but not ``bits``, and its error bound comes
    from its own precision analysis.
    """

    clip: float
    bits: int = DEFAULT_BITS
    strict: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "clip", check_positive_float("clip", self.clip))
        object.__setattr__(self, "bits", check_int(
            "bits", self.bits, minimum=1, maximum=MAX_BITS,
            hint="every level must be exact in float64"))
        if not isinstance(self.strict, bool):
            raise TypeError(f"strict must be True or False, got {self.strict!r}")

    @property
    def step(self) -> float:
        """The float value of one level: ``2 * clip / (2**bits - 1)``."""
        return 2.0 * self.clip / (2**self.bits - 1)

    def check_clients(self, clients: int) -> None:
        """Raise ValueError if the sum of ``clients`` encoded updates cannot be represented.

        The sum must stay below the protocol modulus, which is at most 2**62.
        """
        try:
            FixedPointEncoder.create(self.clip, self.bits, modulus_for(clients, self.bits), clients)
        except ValueError as error:
            raise ValueError(f"quantization bits = {self.bits} is too large for {clients} "
                             f"clients: {error}") from None

    def sum_error_bound(self, clients: int) -> float:
        """Return the bound on each element's error in a sum of ``clients`` encoded values."""
        return clients * self.step
