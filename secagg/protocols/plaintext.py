"""The plaintext baseline: every client uploads its input in the clear.

It implements the interface of :mod:`secagg.protocols.base` with one round,
MASKED_INPUT_COLLECTION, so that the simulator can measure what secure
aggregation costs over sending the inputs unprotected. It offers no privacy:
the server reads every input.

Each client sends one PLAINTEXT_INPUT message: the 40-byte header, whose
context is :meth:`PlaintextConfig.digest`, followed by the input packed at
``bit_width(R)`` bits per element, ``ceil(dim * bit_width(R) / 8)`` bytes.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np

from secagg._validation import check_bytes, check_int
from secagg.errors import WireFormatError
from secagg.primitives import packing
from secagg.protocols import wire
from secagg.protocols.base import (AbortReason, AggregationResult, Exclusion,
                                   ExclusionReason, Round)

logger = logging.getLogger(__name__)

_DIGEST_LABEL = b"secagg/plaintext/v1"


@dataclass(frozen=True)
class PlaintextConfig:
    """Parameters that the server and every client of a plaintext run share."""

    clients: int
    dim: int
    modulus: int
    min_clients: int = 1

    def __post_init__(self) -> None:
        clients = check_int("clients", self.clients, minimum=1)
        object.__setattr__(self, "clients", clients)
        object.__setattr__(self, "dim", check_int("dim", self.dim, minimum=1))
        object.__setattr__(self, "modulus", check_int("modulus", self.modulus, minimum=2,
                                                      maximum=2**packing.MAX_WIDTH))
        object.__setattr__(self, "min_clients", check_int(
            "min_clients", self.min_clients, minimum=1, maximum=clients,
            hint="the server cannot wait for more inputs than there are clients"))

    @property
    def width(self) -> int:
        """Bits per packed element, ``bit_width(modulus)``."""
        return packing.bit_width(self.modulus)

    @property
    def payload_bytes(self) -> int:
        """Size of a PLAINTEXT_INPUT payload in bytes."""
        return packing.packed_size(self.dim, self.width)

    def digest(self) -> bytes:
        """Return SHA-256 of a label and the four parameters, 8 bytes each, big-endian."""
        fields = (self.clients, self.dim, self.modulus, self.min_clients)
        return hashlib.sha256(_DIGEST_LABEL + b"".join(v.to_bytes(8, "big") for v in fields)).digest()


class PlaintextClient:
    """One client of the plaintext baseline. It sends its input once and never aborts."""

    aborted = False
    abort_detail = ""

    def __init__(self, config: PlaintextConfig, client_id: int, values: np.ndarray):
        if not isinstance(config, PlaintextConfig):
            raise TypeError(f"config must be a PlaintextConfig, got {type(config).__name__}")
        self.client_id = check_int("client_id", client_id, minimum=0, maximum=config.clients - 1)
        values = np.asarray(values)
        if values.shape != (config.dim,):
            raise ValueError(f"values must have shape ({config.dim},) to match config.dim, "
                             f"got {values.shape}")
        if values.dtype.kind not in "ui":
            raise TypeError(f"values must have an integer dtype, got {values.dtype}")
        if int(values.min()) < 0 or int(values.max()) >= config.modulus:
            raise ValueError(f"values must lie in [0, {config.modulus}), got elements from "
                             f"{int(values.min())} to {int(values.max())}; reduce them modulo R")
        self._config = config
        self._values = values.astype(np.uint64)
        self._round = Round.MASKED_INPUT_COLLECTION

    @property
    def round(self) -> Round:
        """MASKED_INPUT_COLLECTION until :meth:`start` returns, FINISHED after."""
        return self._round

    def start(self) -> bytes:
        """Return the PLAINTEXT_INPUT message. Raises RuntimeError on a second call."""
        if self._round is Round.FINISHED:
            raise RuntimeError(f"client {self.client_id} already sent its input; "
                               "create a new PlaintextClient for another run")
        writer = wire.Writer(wire.MessageType.PLAINTEXT_INPUT, self._config.digest(), self.client_id)
        writer.raw(packing.pack(self._values, self._config.width))
        self._round = Round.FINISHED
        return writer.to_bytes()

    def handle(self, message: bytes) -> None:
        """Ignore ``message`` and return None, because this protocol has no server messages."""
        logger.debug("plaintext client %d ignored a %d-byte server message",
                     self.client_id, len(message))
        return None


class PlaintextServer:
    """The server of the plaintext baseline: sums the valid inputs modulo R.

    It keeps only the running sum, ``dim`` 64-bit words. For that reason a
    second message from a client whose input was already added is rejected
    and recorded as DUPLICATE, but the first input stays in the aggregate and
    the client stays in ``included``.
    """

    def __init__(self, config: PlaintextConfig):
        if not isinstance(config, PlaintextConfig):
            raise TypeError(f"config must be a PlaintextConfig, got {type(config).__name__}")
        self.config = config
        self._context = config.digest()
        self._modulus = np.uint64(config.modulus)
        self._sum = np.zeros(config.dim, dtype=np.uint64)
        self._accepted: set[int] = set()
        self._rejected: set[int] = set()
        self._exclusions: list[Exclusion] = []
        self._result: AggregationResult | None = None

    @property
    def round(self) -> Round:
        """MASKED_INPUT_COLLECTION until :meth:`close_round`, FINISHED after."""
        return Round.MASKED_INPUT_COLLECTION if self._result is None else Round.FINISHED

    @property
    def result(self) -> AggregationResult | None:
        """The outcome once :meth:`close_round` ran; None before."""
        return self._result

    def expected_senders(self) -> set[int]:
        """Registered clients that have neither sent a valid input nor been excluded."""
        if self._result is not None:
            return set()
        return set(range(self.config.clients)) - self._accepted - self._rejected

    def receive(self, sender: int, message: bytes) -> None:
        """Add a valid input to the sum, or record why ``sender`` is excluded.

        Messages that arrive after :meth:`close_round`, or from a client already
        excluded, are ignored with a debug log.
        """
        sender = check_int("sender", sender)
        message = check_bytes("message", message)
        if self._result is not None or sender in self._rejected:
            logger.debug("ignored a message from client %d: round closed or client excluded", sender)
            return
        if not 0 <= sender < self.config.clients:
            self._exclude(sender, ExclusionReason.UNKNOWN_SENDER,
                          f"client ids run from 0 to {self.config.clients - 1}")
            return
        if sender in self._accepted:
            self._exclusions.append(Exclusion(sender, Round.MASKED_INPUT_COLLECTION,
                                              ExclusionReason.DUPLICATE,
                                              "second message ignored; the first input is counted"))
            return

        parsed = self._parse(sender, message)
        if isinstance(parsed, tuple):
            self._exclude(sender, *parsed)
            return
        np.add(self._sum, parsed, out=self._sum)
        np.remainder(self._sum, self._modulus, out=self._sum)
        self._accepted.add(sender)

    def close_round(self) -> dict[int, bytes]:
        """Record missing clients as DROPPED, set :attr:`result` and return no messages.

        The run aborts with TOO_FEW_CLIENTS when fewer than ``min_clients``
        valid inputs arrived. A second call changes nothing.
        """
        if self._result is not None:
            return {}
        for client in sorted(self.expected_senders()):
            self._exclusions.append(Exclusion(client, Round.MASKED_INPUT_COLLECTION,
                                              ExclusionReason.DROPPED))
        included = sorted(self._accepted)
        if len(included) < self.config.min_clients:
            detail = (f"{len(included)} of {self.config.clients} clients sent a valid input; "
                      f"min_clients is {self.config.min_clients}")
            self._result = AggregationResult(None, [], True, AbortReason.TOO_FEW_CLIENTS,
                                             detail, list(self._exclusions))
        else:
            self._result = AggregationResult(self._sum.copy(), included, False,
                                             exclusions=list(self._exclusions))
        return {}

    def _exclude(self, sender: int, reason: ExclusionReason, detail: str) -> None:
        self._rejected.add(sender)
        self._exclusions.append(Exclusion(sender, Round.MASKED_INPUT_COLLECTION, reason, detail))

    def _parse(self, sender: int, message: bytes) -> np.ndarray | tuple[ExclusionReason, str]:
        """Return the input in ``message``, or the exclusion reason and detail."""
        try:
            header, reader = wire.read_header(message)
        except WireFormatError as error:
            return ExclusionReason.MALFORMED, str(error)
        if header.type is not wire.MessageType.PLAINTEXT_INPUT:
            return ExclusionReason.WRONG_ROUND, f"expected PLAINTEXT_INPUT, got {header.type.name}"
        if header.context != self._context:
            return ExclusionReason.WRONG_SESSION, "header context is not this configuration's digest"
        if header.sender != sender:
            return (ExclusionReason.INVALID_CONTENT,
                    f"header names sender {header.sender} but the message came from client {sender}")

        try:
            packed = reader.raw(self.config.payload_bytes)
            reader.finish()
            values = packing.unpack(packed, self.config.width, self.config.dim)
        except ValueError as error:  # WireFormatError is a ValueError too
            return ExclusionReason.MALFORMED, str(error)
        if int(values.max()) >= self.config.modulus:
            index = int(np.argmax(values >= self._modulus))
            return (ExclusionReason.INVALID_CONTENT,
                    f"element {index} is {int(values[index])}, not below the modulus {self.config.modulus}")
        return values
