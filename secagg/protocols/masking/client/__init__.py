"""The client of SecAgg and SecAgg+: one module per round, driven by :class:`MaskingClient`."""

from __future__ import annotations

import logging

import numpy as np

from secagg.errors import WireFormatError
from secagg.primitives.randomness import RandomSource, resolve
from secagg.primitives.signatures import SigningKey
from secagg.protocols.base import Round
from secagg.protocols.masking.client import (r0_advertise_keys, r1_share_keys, r1_share_receipts,
                                             r2_masked_input, r3_consistency_check, r4_unmasking)
from secagg.protocols.masking.client.context import ClientAbort, ClientContext
from secagg.protocols.masking.config import MaskingConfig

logger = logging.getLogger(__name__)

_HANDLERS = {
    Round.SHARE_KEYS: r1_share_keys.handle,
    Round.SHARE_RECEIPTS: r1_share_receipts.handle,
    Round.MASKED_INPUT_COLLECTION: r2_masked_input.handle,
    Round.CONSISTENCY_CHECK: r3_consistency_check.handle,
    Round.UNMASKING: r4_unmasking.handle,
}


def check_input(config: MaskingConfig, values, name: str = "values") -> np.ndarray:
    """Return ``values`` as uint64 after checking shape, dtype and range."""
    array = np.asarray(values)
    if array.shape != (config.dim,):
        raise ValueError(f"{name} must have shape ({config.dim},), got {array.shape}")
    if array.dtype.kind not in "ui":
        raise TypeError(f"{name} must hold integers below 2**{config.input_bits}, got dtype "
                        f"{array.dtype}; encode floats with FixedPointEncoder first")
    if array.size and (array.min() < 0 or int(array.max()) >= 2**config.input_bits):
        bad = int(np.flatnonzero((array < 0) | (array >= 2**config.input_bits))[0])
        raise ValueError(f"{name}[{bad}] = {int(array[bad])} is outside [0, "
                         f"2**{config.input_bits}); raise input_bits or reduce the input")
    return array.astype(np.uint64)


class MaskingClient:
    """One client of a SecAgg or SecAgg+ run.

    ``signing_key`` and ``pki`` (client id -> Ed25519 public key) are required
    in the active variant. ``rng`` defaults to the OS CSPRNG.
    """

    def __init__(self, config: MaskingConfig, client_id: int, values, *,
                 rng: RandomSource | None = None, signing_key: SigningKey | None = None,
                 pki: dict[int, bytes] | None = None, naive_unmasking: bool = False):
        if not 0 <= client_id < config.clients:
            raise ValueError(f"client_id must be between 0 and {config.clients - 1}, got {client_id}")
        if config.active and (signing_key is None or pki is None):
            raise ValueError("the active variant needs signing_key and pki; "
                             "create them with secagg.protocols.masking.make_pki")
        self.client_id = client_id
        self._ctx = ClientContext(config, client_id, check_input(config, values), resolve(rng),
                                  signing_key, pki, naive_unmasking)
        self._round = Round.ADVERTISE_KEYS
        self.abort_detail = ""

    @property
    def round(self) -> Round:
        return self._round

    @property
    def aborted(self) -> bool:
        return bool(self.abort_detail)

    @property
    def context(self) -> ClientContext:
        """The client's state; secret, exposed for simulations and attacks."""
        return self._ctx

    def start(self) -> bytes | None:
        """Return ADVERTISE_KEYS; the client then expects SERVER_KEYS."""
        if self._round is not Round.ADVERTISE_KEYS:
            raise RuntimeError("start() was already called")
        message = r0_advertise_keys.start(self._ctx)
        self._round = Round.SHARE_KEYS
        return message

    def handle(self, message: bytes) -> bytes | None:
        """Process the server's message for the current round; return the reply or None."""
        if self.aborted or self._round not in _HANDLERS:
            return None
        try:
            reply = _HANDLERS[self._round](self._ctx, message)
        except (ClientAbort, WireFormatError) as error:
            self.abort_detail = f"round {self._round.name}: {error}"
            logger.debug("client %d aborted: %s", self.client_id, self.abort_detail)
            return None
        self._round = self._next_round()
        return reply

    def _next_round(self) -> Round:
        if self._round is Round.MASKED_INPUT_COLLECTION and not self._ctx.config.active:
            return Round.UNMASKING
        return _NEXT_ROUND[self._round]


_NEXT_ROUND = {
    Round.SHARE_KEYS: Round.SHARE_RECEIPTS,
    Round.SHARE_RECEIPTS: Round.MASKED_INPUT_COLLECTION,
    Round.MASKED_INPUT_COLLECTION: Round.CONSISTENCY_CHECK,
    Round.CONSISTENCY_CHECK: Round.UNMASKING,
    Round.UNMASKING: Round.UNMASKING,
}
