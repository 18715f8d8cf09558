"""The server of SecAgg and SecAgg+: one module per round, driven by :class:`MaskingServer`."""

from __future__ import annotations

import logging

from secagg.errors import WireFormatError
from secagg.protocols.base import AggregationResult, ExclusionReason, Round
from secagg.protocols.masking.config import MaskingConfig
from secagg.protocols.masking.messages import WrongContextError
from secagg.protocols.masking.server import (r0_advertise_keys, r1_share_keys, r1_share_receipts,
                                             r2_masked_input, r3_consistency_check, r4_unmasking)
from secagg.protocols.masking.server.context import ServerAbort, ServerContext
from secagg.protocols.wire import read_header

logger = logging.getLogger(__name__)

_STATES = {
    Round.ADVERTISE_KEYS: r0_advertise_keys,
    Round.SHARE_KEYS: r1_share_keys,
    Round.SHARE_RECEIPTS: r1_share_receipts,
    Round.MASKED_INPUT_COLLECTION: r2_masked_input,
    Round.CONSISTENCY_CHECK: r3_consistency_check,
    Round.UNMASKING: r4_unmasking,
}


class MaskingServer:
    """The server of one SecAgg or SecAgg+ run.

    ``pki`` (client id -> Ed25519 public key) is required in the active variant.
    """

    def __init__(self, config: MaskingConfig, *, pki: dict[int, bytes] | None = None):
        if config.active and pki is None:
            raise ValueError("the active variant needs pki; create it with "
                             "secagg.protocols.masking.make_pki")
        self._ctx = ServerContext(config, pki)
        self._round = Round.ADVERTISE_KEYS
        self._result: AggregationResult | None = None

    @property
    def round(self) -> Round:
        return self._round

    @property
    def result(self) -> AggregationResult | None:
        return self._result

    @property
    def context(self) -> ServerContext:
        """The server's state, exposed for simulations and attacks."""
        return self._ctx

    def expected_senders(self) -> set[int]:
        """Client ids that the current round still waits for."""
        ctx = self._ctx
        if self._round is Round.FINISHED:
            return set()
        candidates = {
            Round.ADVERTISE_KEYS: set(range(ctx.config.clients)),
            Round.SHARE_KEYS: set(ctx.keys),
            Round.SHARE_RECEIPTS: set(ctx.ciphertexts),
            Round.MASKED_INPUT_COLLECTION: set(ctx.ciphertexts),
            Round.CONSISTENCY_CHECK: set(ctx.masked_senders),
            Round.UNMASKING: set(ctx.signatures) if ctx.config.active else set(ctx.masked_senders),
        }[self._round]
        excluded = {e.client for e in ctx.exclusions if e.round is self._round}
        return candidates - ctx.received - excluded

    def receive(self, sender: int, message: bytes) -> None:
        """Record one client message; a bad one excludes its sender, never raises."""
        ctx = self._ctx
        if self._round is Round.FINISHED:
            return
        problem = self._check_sender(sender, message)
        if problem:
            ctx.exclude(sender, self._round, *problem)
            return
        ctx.received.add(sender)
        try:
            _STATES[self._round].receive(ctx, sender, message)
        except WrongContextError as error:
            ctx.exclude(sender, self._round, ExclusionReason.WRONG_SESSION, str(error))
        except (WireFormatError, ValueError) as error:
            ctx.exclude(sender, self._round, ExclusionReason.MALFORMED, str(error))

    def _check_sender(self, sender: int, message: bytes) -> tuple[ExclusionReason, str] | None:
        ctx = self._ctx
        if not isinstance(sender, int) or not 0 <= sender < ctx.config.clients:
            return ExclusionReason.UNKNOWN_SENDER, f"sender {sender!r}"
        if sender in ctx.received:
            return ExclusionReason.DUPLICATE, "second message ignored; the first one counts"
        if sender not in self.expected_senders():
            return ExclusionReason.WRONG_ROUND, "not a participant of this round"
        try:
            header, _ = read_header(message)
        except WireFormatError as error:
            return ExclusionReason.MALFORMED, str(error)
        if header.sender != sender:
            return ExclusionReason.MALFORMED, f"header names sender {header.sender}"
        return None

    def close_round(self) -> dict[int, bytes]:
        """End the current round; return the next round's messages by client id."""
        if self._round is Round.FINISHED:
            return {}
        ctx = self._ctx
        for client in self.expected_senders():
            ctx.exclude(client, self._round, ExclusionReason.DROPPED)
        try:
            if self._round is Round.UNMASKING:
                total = r4_unmasking.close(ctx)
                self._finish(AggregationResult(total, sorted(ctx.masked_senders), False,
                                               exclusions=ctx.exclusions))
                return {}
            outgoing = _STATES[self._round].close(ctx)
        except ServerAbort as abort:
            logger.info("run aborted in round %s: %s", self._round.name, abort.detail)
            self._finish(AggregationResult(None, [], True, abort.reason, abort.detail, ctx.exclusions))
            return {}
        ctx.received = set()
        self._round = self._next_round()
        return outgoing

    def _next_round(self) -> Round:
        if self._round is Round.MASKED_INPUT_COLLECTION and not self._ctx.config.active:
            return Round.UNMASKING
        return _NEXT_ROUND[self._round]

    def _finish(self, result: AggregationResult) -> None:
        self._result = result
        self._round = Round.FINISHED


_NEXT_ROUND = {
    Round.ADVERTISE_KEYS: Round.SHARE_KEYS,
    Round.SHARE_KEYS: Round.SHARE_RECEIPTS,
    Round.SHARE_RECEIPTS: Round.MASKED_INPUT_COLLECTION,
    Round.MASKED_INPUT_COLLECTION: Round.CONSISTENCY_CHECK,
    Round.CONSISTENCY_CHECK: Round.UNMASKING,
}
