"""Real protocol runs that an attack can watch and interfere with.

:func:`build_parties` creates a real :class:`MaskingServer` and real
:class:`MaskingClient` objects. :class:`Driver` moves their messages round by
round, as in :mod:`secagg.protocols.base`, and records every message in a
:class:`Transcript`: the view of a server that keeps all it receives. The
adversarial parties act by replacing, withholding or adding messages between
rounds. The honest parties only ever run their own code.

Every key, mask and input is drawn from the spec's seed with
:class:`~secagg.primitives.randomness.DeterministicRandom`, so an attack run
is reproducible. These runs are simulations and protect nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from secagg.adversaries.report import AttackSpec
from secagg.primitives import packing
from secagg.primitives.randomness import DeterministicRandom
from secagg.primitives.signatures import SigningKey
from secagg.protocols.base import AggregationResult, Round
from secagg.protocols.masking import MaskingClient, MaskingConfig, MaskingServer, make_pki, messages

Tamper = Callable[[Round, int, bytes], "bytes | None"]
"""Replaces a client message before the server gets it: (round, sender, message) -> message,
or None to withhold it."""

Intercept = Callable[[Round, dict[int, bytes]], dict[int, bytes]]
"""Replaces the server messages that open a round: (round opened, messages) -> messages."""


@dataclass
class Parties:
    """The honest parties of one aggregation and the ground truth."""

    config: MaskingConfig
    server: MaskingServer
    clients: list[MaskingClient]
    inputs: np.ndarray
    """The clients' true inputs, shape (clients, dim), uint64."""
    signing_keys: list[SigningKey | None]
    """Ed25519 keys of the active variant (None entries otherwise); colluders' keys are the adversary's."""

    @property
    def session_id(self) -> bytes:
        return self.server.context.session_id


def build_parties(spec: AttackSpec, label: str = "aggregation", *,
                  modulus: int | None = None) -> Parties:
    """Create the server and clients of one aggregation, all randomness drawn from ``spec.seed``.

    ``label`` separates aggregations of one attack: each gets its own
    aggregation id, keys and inputs. ``modulus`` overrides R.
    """
    rng = DeterministicRandom(spec.seed).child(label)
    config = MaskingConfig.create(spec.clients, spec.dim, spec.bits, spec.threshold,
                                  spec.config_degree, active=spec.active, modulus=modulus,
                                  rng=rng.child("config"))
    signing_keys, pki = (make_pki(spec.clients, rng.child("pki")) if spec.active
                         else ([None] * spec.clients, None))
    inputs = rng.child("inputs").uniform(2**spec.bits, spec.clients * spec.dim)
    inputs = np.asarray(inputs, dtype=np.uint64).reshape(spec.clients, spec.dim)
    clients = [MaskingClient(config, i, inputs[i], rng=rng.child(f"client/{i}"),
                             signing_key=signing_keys[i], pki=pki, naive_unmasking=spec.naive)
               for i in range(spec.clients)]
    return Parties(config, MaskingServer(config, pki=pki), clients, inputs, signing_keys)


@dataclass
class Transcript:
    """Every message that passed through the server, by round and client id.

    ``uploads[r]`` contains what each client sent in round r as the server got
    it (after any tampering). ``downloads[r]`` contains the server messages
    that opened round r. A later message to the same client replaces the earlier.
    """

    uploads: dict[Round, dict[int, bytes]] = field(default_factory=dict)
    downloads: dict[Round, dict[int, bytes]] = field(default_factory=dict)

    def masked_vector(self, config: MaskingConfig, session_id: bytes, client: int) -> np.ndarray | None:
        """Return the masked input y_client the server received, or None if none arrived."""
        message = self.uploads.get(Round.MASKED_INPUT_COLLECTION, {}).get(client)
        if message is None:
            return None
        packed = messages.parse_masked_input(message, session_id)
        return packing.unpack(packed, config.width, config.dim)


class Driver:
    """Moves messages between the parties of one run and records them.

    ``tamper`` rewrites client messages and ``intercept`` rewrites the server
    messages that open each round; both default to passing messages through.
    """

    def __init__(self, parties: Parties, *, tamper: Tamper | None = None,
                 intercept: Intercept | None = None):
        self.parties = parties
        self.transcript = Transcript()
        self._tamper = tamper
        self._intercept = intercept
        self._started = False

    @property
    def server(self) -> MaskingServer:
        return self.parties.server

    def start(self) -> dict[int, bytes]:
        """Call every client's ``start()``; return the round-0 messages."""
        if self._started:
            raise RuntimeError("the run was already started")
        self._started = True
        return {c.client_id: c.start() for c in self.parties.clients}

    def deliver(self, replies: dict[int, bytes | None]) -> None:
        """Give client messages of the current round to the server, after ``tamper``."""
        round_ = self.server.round
        received = self.transcript.uploads.setdefault(round_, {})
        for sender, message in sorted(replies.items()):
            if message is not None and self._tamper is not None:
                message = self._tamper(round_, sender, message)
            if message is None:
                continue
            received[sender] = message
            self.server.receive(sender, message)

    def close(self) -> dict[int, bytes]:
        """Close the server's round; return the messages that open the next one, after ``intercept``."""
        requests = self.server.close_round()
        if requests and self._intercept is not None:
            requests = self._intercept(self.server.round, dict(requests))
        return requests

    def send(self, requests: dict[int, bytes]) -> dict[int, bytes]:
        """Hand server messages to the clients; return the replies of those that replied."""
        replies = {}
        for client, message in sorted(requests.items()):
            self.transcript.downloads.setdefault(self.server.round, {})[client] = message
            reply = self.parties.clients[client].handle(message)
            if reply is not None:
                replies[client] = reply
        return replies

    def run_until(self, round_: Round) -> dict[int, bytes]:
        """Run honestly until the server opens ``round_``; return the undelivered messages that open it.

        Returns an empty dict if the run ended first (see ``server.result``).
        """
        replies = self.start()
        while True:
            self.deliver(replies)
            requests = self.close()
            if not requests or self.server.round.order >= round_.order:
                return requests
            replies = self.send(requests)

    def finish(self, requests: dict[int, bytes]) -> AggregationResult:
        """Deliver ``requests`` and run honestly to the end; return the server's result."""
        for _ in range(len(Round)):
            if self.server.result is not None:
                break
            self.deliver(self.send(requests))
            requests = self.close()
        if self.server.result is None:
            raise RuntimeError(f"the server did not finish; it is in round {self.server.round.name}")
        return self.server.result

    def run(self) -> AggregationResult:
        """Run the whole protocol, with ``tamper`` and ``intercept`` applied."""
        replies = self.start()
        self.deliver(replies)
        return self.finish(self.close())


def aggregate_correct(parties: Parties, result: AggregationResult | None) -> bool:
    """Return True if the run has an output equal to the true inputs' sum over ``result.included``."""
    if result is None or result.aborted or result.aggregate is None:
        return False
    expected = (parties.inputs[result.included].sum(axis=0, dtype=np.uint64)
                % np.uint64(parties.config.modulus))
    return bool(np.array_equal(result.aggregate, expected))


def honest_aborts(parties: Parties, adversarial: set[int] = frozenset()) -> dict[int, str]:
    """Return the honest clients that aborted, with their reason."""
    return {c.client_id: c.abort_detail for c in parties.clients
            if c.aborted and c.client_id not in adversarial}


def ids_by_reason(reasons: dict[int, str]) -> dict[str, list[int]]:
    """Group client ids by reason, for a compact report."""
    grouped: dict[str, list[int]] = {}
    for client, reason in sorted(reasons.items()):
        grouped.setdefault(reason, []).append(client)
    return grouped


def target_neighbours(parties: Parties, target: int) -> list[int]:
    """Return the target's neighbours in this session's graph (all others for SecAgg)."""
    return parties.config.neighbours(parties.session_id, target).tolist()


def choose_colluders(spec: AttackSpec, parties: Parties) -> list[int]:
    """Pick ``spec.colluders`` clients other than the target, from the group ``spec.colluders_from``.

    The SecAgg+ graph depends on the session id, so the choice is made once
    round 0 is over. Colluders behave honestly during the run and only pool
    what they saw afterwards, so choosing them late changes nothing they see.
    """
    neighbours = target_neighbours(parties, spec.target)
    if spec.colluders_from == "neighbours":
        group = neighbours
    else:
        group = [c for c in range(spec.clients) if c != spec.target and c not in neighbours]
    chooser = np.random.default_rng([spec.seed, 1])
    return sorted(int(c) for c in chooser.choice(group, size=spec.colluders, replace=False))


def survivor_list(parties: Parties, client: int, hidden: int | None = None) -> list[int]:
    """Return the survivor list that the server sends ``client`` in round 4, without ``hidden``.

    The honest server lists the round-2 survivors among the clients whose
    shares ``client`` holds; leaving ``hidden`` out claims that it dropped.
    """
    server = parties.server.context
    owners = (server.neighbours[client] & set(server.ciphertexts)) | {client}
    return sorted(c for c in owners & server.masked_senders if c != hidden)
