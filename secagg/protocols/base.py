"""The interface every aggregation protocol's parties implement.

A protocol is run by one server object and one client object per client.
They exchange serialized bytes only, so any transport can carry them: the
in-process simulator in :mod:`secagg.network`, or a caller's own RPC layer.

Driving a round, whatever the transport:

1. Each client's :meth:`AggregationClient.start` returns its first message
   (or None if it has nothing to send).
2. The server gets each message that arrives through
   :meth:`AggregationServer.receive`. A message that is malformed, late, from
   an unknown sender or for another round is recorded as an exclusion of its
   sender, never raised.
3. When every expected message arrived, or the round's deadline passed, the
   driver calls :meth:`AggregationServer.close_round`. It returns the
   messages that open the round given by ``server.round`` after the call, one
   per client id, or an empty dict once the protocol has finished or aborted
   (see :attr:`AggregationServer.result`; ``included`` is empty on abort).
4. Each client's :meth:`AggregationClient.handle` takes the server's message
   and returns its reply, or None when it has nothing more to send (it
   finished, aborted, or the round needs no reply).

Client ids are the integers ``0 .. clients - 1``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class Round(enum.IntEnum):
    """Rounds of the pairwise-masking protocol (Bonawitz et al., CCS 2017).

    The values 0 to 4 are the paper's round numbers, which dropout stages and
    deadlines use. SHARE_RECEIPTS is this package's addition to ShareKeys:
    each client reports the share ciphertexts it could not decrypt, so that
    the server can withdraw a client whose shares too few others hold before
    any masked input arrives. Its :attr:`stage` is 1, and its value comes
    after the paper's numbers; compare rounds by :attr:`order`, not by value.

    Protocols with fewer rounds use a subset: the plaintext baseline and CKKS
    use only MASKED_INPUT_COLLECTION for their single upload.
    """

    ADVERTISE_KEYS = 0
    SHARE_KEYS = 1
    MASKED_INPUT_COLLECTION = 2
    CONSISTENCY_CHECK = 3
    UNMASKING = 4
    FINISHED = 5
    SHARE_RECEIPTS = 6

    @property
    def stage(self) -> int:
        """The paper's round number: the dropout stage and deadline key of this round."""
        return 1 if self is Round.SHARE_RECEIPTS else int(self)

    @property
    def order(self) -> int:
        """Position in the protocol's sequence of rounds, for comparisons."""
        return _ROUND_ORDER.index(self)


_ROUND_ORDER = (Round.ADVERTISE_KEYS, Round.SHARE_KEYS, Round.SHARE_RECEIPTS,
                Round.MASKED_INPUT_COLLECTION, Round.CONSISTENCY_CHECK, Round.UNMASKING,
                Round.FINISHED)


class ExclusionReason(enum.Enum):
    """Reason the server rejected a client message or stopped counting the client."""

    DROPPED = "sent no message before the round closed"
    MALFORMED = "sent a message that could not be parsed"
    WRONG_SESSION = "sent a message for another session"
    WRONG_ROUND = "sent a message for another round"
    UNKNOWN_SENDER = "is not a registered client"
    DUPLICATE = "sent a second message in one round"
    INVALID_CONTENT = "sent a message whose content failed a protocol check"
    BAD_SIGNATURE = "sent a message with an invalid signature"
    CLIENT_ABORTED = "aborted its own participation"
    UNDECRYPTABLE_SHARES = "sent share ciphertexts that too many recipients could not decrypt"
    TOO_FEW_SHARE_HOLDERS = "fewer than threshold clients that hold its shares remained"


class AbortReason(enum.Enum):
    """Reason a protocol run stopped without an output."""

    TOO_FEW_CLIENTS = "fewer clients than the threshold remained"
    RECONSTRUCTION_FAILED = "too few shares to reconstruct a client's secret"
    INCONSISTENT_SHARES = "reconstructed secrets did not match the advertised keys"
    KEY_HOLDER_DROPPED = "the party holding the decryption key dropped out"


@dataclass(frozen=True)
class Exclusion:
    """A rejected client message, with the round and the reason.

    Most reasons also stop the server from counting the client. DUPLICATE
    rejects only the second message: the first one already counts.
    """

    client: int
    round: Round
    reason: ExclusionReason
    detail: str = ""


@dataclass
class AggregationResult:
    """What the server outputs at the end of a run.

    ``aggregate`` is the sum modulo R (integers) or the decoded sum (floats)
    of the inputs of exactly the clients in ``included``; it is None when the
    run aborted.
    """

    aggregate: np.ndarray | None
    included: list[int]
    aborted: bool
    abort_reason: AbortReason | None = None
    abort_detail: str = ""
    exclusions: list[Exclusion] = field(default_factory=list)


class AggregationClient(Protocol):
    """One client's side of a protocol."""

    client_id: int
    abort_detail: str
    """Reason the client stopped; empty while it runs."""

    @property
    def round(self) -> Round:
        """The round whose server message the client expects next."""

    @property
    def aborted(self) -> bool:
        """True once the client refused to go on; see ``abort_detail``."""

    def start(self) -> bytes | None:
        """Return the client's first message."""

    def handle(self, message: bytes) -> bytes | None:
        """Process a server message; return the reply or None."""


class AggregationServer(Protocol):
    """The server's side of a protocol."""

    @property
    def round(self) -> Round:
        """The round whose client messages the server is collecting."""

    @property
    def result(self) -> AggregationResult | None:
        """The outcome, once the run finished or aborted; None before."""

    def expected_senders(self) -> set[int]:
        """Client ids from which the current round still expects a message."""

    def receive(self, sender: int, message: bytes) -> None:
        """Record one client message of the current round."""

    def close_round(self) -> dict[int, bytes]:
        """End the current round; return the next round's messages by client id."""
