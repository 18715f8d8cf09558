"""The server of CKKS aggregation: it relays the keys, adds the ciphertexts and requests decryption of the sum.

Rounds, by the value of :attr:`CkksServer.round`:

- ADVERTISE_KEYS. Collects CKKS_CONTEXT from the key holder: a context
  without keys, which lets the server add and scale ciphertexts but not
  decrypt them, and the secret context sealed for each client. Closing:
  aborts with KEY_HOLDER_DROPPED unless that message arrived and was valid.
  Sends each client CKKS_CONTEXT with its sealed context.
- MASKED_INPUT_COLLECTION. Collects CKKS_CIPHERTEXT from the clients,
  multiplies each by the client's weight when the configuration has
  weights, and adds it to a running encrypted sum. Closing: clients that
  sent nothing are DROPPED and absent from the sum; aborts with
  TOO_FEW_CLIENTS below ``min_clients``. Sends the key holder
  UNMASKING_REQUEST with the included ids and the encrypted sum.
- UNMASKING. Collects UNMASKING_RESPONSE, the decrypted sum, from the key
  holder. Closing: aborts with KEY_HOLDER_DROPPED if it did not arrive or
  was invalid, else outputs the sum.

A client that drops at any stage before its upload is absent from the sum;
one that drops after it stays in the sum. The key holder dropping at any
stage aborts the run, because no one else decrypts.
"""

from __future__ import annotations

import logging

import numpy as np

from secagg.errors import WireFormatError
from secagg.he import backend, messages
from secagg.he.config import CkksConfig
from secagg.protocols.base import (AbortReason, AggregationResult, Exclusion, ExclusionReason,
                                   Round)

logger = logging.getLogger(__name__)

_NEXT_ROUND = {
    Round.ADVERTISE_KEYS: Round.MASKED_INPUT_COLLECTION,
    Round.MASKED_INPUT_COLLECTION: Round.UNMASKING,
}


class _Rejected(Exception):
    """A client message the server does not accept, with the exclusion reason."""

    def __init__(self, reason: ExclusionReason, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class CkksServer:
    """The server of one CKKS aggregation; see the module docstring for its rounds.

    :attr:`result` ``.aggregate`` is the decrypted sum over ``included``, or
    the weighted sum when the configuration has weights; :meth:`average`
    divides it by the included weights.
    """

    def __init__(self, config: CkksConfig):
        if not isinstance(config, CkksConfig):
            raise TypeError(f"config must be a CkksConfig, got {type(config).__name__}")
        backend.load_tenseal()
        self.config = config
        self._digest = config.digest()
        self._round = Round.ADVERTISE_KEYS
        self._result: AggregationResult | None = None
        self._exclusions: list[Exclusion] = []
        self._received: set[int] = set()
        """Parties whose message of the current round was accepted."""
        self._rejected: set[int] = set()
        """Parties whose message of the current round was rejected; they may send again next round."""
        self.context = None
        """The context the key holder sent: parameters only, no public or secret key."""
        self._sealed: dict[int, bytes] = {}
        self._total = None
        self._included: list[int] = []
        self._decrypted: np.ndarray | None = None

    @property
    def round(self) -> Round:
        return self._round

    @property
    def result(self) -> AggregationResult | None:
        return self._result

    def expected_senders(self) -> set[int]:
        """Parties from which the current round still expects a message."""
        if self._round is Round.FINISHED:
            return set()
        if self._round is Round.MASKED_INPUT_COLLECTION:
            candidates = set(range(self.config.clients))
        else:
            candidates = {self.config.key_holder}
        return candidates - self._received - self._rejected

    def receive(self, sender: int, message: bytes) -> None:
        """Record one message of the current round; a bad one excludes its sender instead of raising."""
        if self._round is Round.FINISHED:
            logger.debug("ignored a message from party %s after the run finished", sender)
            return
        known = isinstance(sender, int) and (0 <= sender < self.config.clients
                                             or sender == self.config.key_holder)
        if not known:
            self._exclude(sender, ExclusionReason.UNKNOWN_SENDER,
                          f"parties are clients 0 to {self.config.clients - 1} and the key holder")
            return
        if sender in self._received:
            self._exclusions.append(Exclusion(sender, self._round, ExclusionReason.DUPLICATE,
                                              "second message ignored; the first one counts"))
            return
        if sender not in self.expected_senders():
            self._exclude(sender, ExclusionReason.WRONG_ROUND, "not a participant of this round")
            return
        if not isinstance(message, (bytes, bytearray)):
            self._exclude(sender, ExclusionReason.MALFORMED, f"message is {type(message).__name__}, not bytes")
            return

        if type(message) is not bytes:
            message = bytes(message)  # a copy only for bytearray; an upload is megabytes
        try:
            if self._round is Round.ADVERTISE_KEYS:
                self._receive_contexts(message)
            elif self._round is Round.MASKED_INPUT_COLLECTION:
                self._receive_ciphertext(sender, message)
            else:
                self._receive_sum(message)
        except _Rejected as rejected:
            self._exclude(sender, rejected.reason, rejected.detail)
            return
        except messages.WrongSessionError as error:
            self._exclude(sender, ExclusionReason.WRONG_SESSION, str(error))
            return
        except WireFormatError as error:
            self._exclude(sender, ExclusionReason.MALFORMED, str(error))
            return
        self._received.add(sender)

    def close_round(self) -> dict[int, bytes]:
        """End the current round; return the next round's messages by party id, or {} once finished."""
        if self._round is Round.FINISHED:
            return {}
        for party in sorted(self.expected_senders()):
            self._exclusions.append(Exclusion(party, self._round, ExclusionReason.DROPPED))

        if self._round is Round.ADVERTISE_KEYS:
            if self.context is None:
                return self._abort(AbortReason.KEY_HOLDER_DROPPED,
                                   self._key_holder_detail("sent no valid key distribution"))
            outgoing = {client: messages.forwarded_context(self._digest, self._sealed.get(client, b""))
                        for client in range(self.config.clients)}
            self._sealed = {}
        elif self._round is Round.MASKED_INPUT_COLLECTION:
            self._included = sorted(self._received)
            if len(self._included) < self.config.min_clients:
                return self._abort(AbortReason.TOO_FEW_CLIENTS,
                                   f"{len(self._included)} of {self.config.clients} clients sent a "
                                   f"valid ciphertext; min_clients is {self.config.min_clients}")
            with backend.quiet_stdout():
                total = self._total.serialize()
            outgoing = {self.config.key_holder:
                        messages.decryption_request(self._digest, self._included, total)}
            self._total = None
        else:
            if self._decrypted is None:
                return self._abort(AbortReason.KEY_HOLDER_DROPPED,
                                   self._key_holder_detail("sent no valid decrypted sum"))
            self._finish(AggregationResult(self._decrypted, list(self._included), False,
                                           exclusions=list(self._exclusions)))
            return {}

        self._round = _NEXT_ROUND[self._round]
        self._received = set()
        self._rejected = set()
        return outgoing

    def average(self) -> np.ndarray | None:
        """Return the aggregate divided by the included clients' total weight (their count without weights).

        None while the run has no output.
        """
        if self._result is None or self._result.aggregate is None:
            return None
        return self._result.aggregate / float(np.sum(self.config.weights_of(self._result.included)))

    def error_bound(self) -> float | None:
        """Return the predicted max absolute error of the aggregate; None while the run has no output."""
        if self._result is None or self._result.aborted:
            return None
        return self.config.error_bound(self._result.included)

    def _receive_contexts(self, message: bytes) -> None:
        config = self.config
        server_context, sealed = messages.parse_key_distribution(
            message, self._digest, config.key_holder, config.clients)
        recipients = set(range(config.clients)) - {config.key_holder}
        if set(sealed) != recipients:
            raise _Rejected(ExclusionReason.INVALID_CONTENT,
                            f"sealed contexts for {len(sealed)} clients, expected one for each of "
                            f"the {len(recipients)} clients other than the key holder")
        try:
            context = backend.load_context(server_context)
        except ValueError as error:
            raise _Rejected(ExclusionReason.MALFORMED, str(error)) from None
        if context.has_secret_key() or context.has_public_key():
            raise _Rejected(ExclusionReason.INVALID_CONTENT,
                            "the server's context must hold no keys; it was discarded")
        # Weighted ciphertexts stay at scale Delta**2 instead of being rescaled,
        # and a level mismatch must raise instead of switching the sum down.
        context.auto_rescale = False
        context.auto_mod_switch = False
        self.context = context
        self._sealed = sealed

    def _receive_ciphertext(self, sender: int, message: bytes) -> None:
        config = self.config
        start = messages.ciphertext_start(message, self._digest, sender)
        vector = backend.load_vector(self.context, message, config.parameters, config.dim, start=start)
        try:
            if config.weights is not None:
                with backend.quiet_stdout():
                    vector.mul_(config.weights[sender])
            # Adding the sum into the new vector, not the reverse, leaves the sum
            # unchanged when TenSEAL fails halfway through the chunks.
            if self._total is not None:
                vector.add_(self._total)
            self._total = vector
        except (ValueError, RuntimeError, TypeError) as error:
            raise _Rejected(ExclusionReason.INVALID_CONTENT, f"ciphertext cannot be added: {error}") from None

    def _receive_sum(self, message: bytes) -> None:
        values = messages.parse_decrypted_sum(message, self._digest, self.config.key_holder,
                                              self.config.dim)
        if not np.all(np.isfinite(values)):
            raise _Rejected(ExclusionReason.INVALID_CONTENT, "decrypted sum contains NaN or infinite values")
        self._decrypted = values

    def _key_holder_detail(self, failure: str) -> str:
        """Describe the key holder's failure in this round, with its last exclusion reason."""
        holder = "the key authority" if self.config.authority else f"key holder client {self.config.key_holder}"
        detail = f"{holder} {failure} in round {self._round.name}"
        reasons = [e for e in self._exclusions if e.client == self.config.key_holder and e.round is self._round]
        if reasons:
            last = reasons[-1]
            detail += f" ({last.reason.name}: {last.detail})" if last.detail else f" ({last.reason.name})"
        return detail

    def _exclude(self, sender, reason: ExclusionReason, detail: str) -> None:
        logger.debug("excluded party %r in round %s: %s %s", sender, self._round.name, reason.name, detail)
        if isinstance(sender, int):
            self._rejected.add(sender)
        self._exclusions.append(Exclusion(sender, self._round, reason, detail))

    def _abort(self, reason: AbortReason, detail: str) -> dict[int, bytes]:
        logger.info("CKKS run aborted in round %s: %s", self._round.name, detail)
        self._finish(AggregationResult(None, [], True, reason, detail, list(self._exclusions)))
        return {}

    def _finish(self, result: AggregationResult) -> None:
        self._result = result
        self._total = None
        self._round = Round.FINISHED
