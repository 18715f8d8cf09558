"""An in-process network that runs any protocol of :mod:`secagg.protocols.base`.

Every message travels as bytes, so the byte counts are the real serialized
lengths. One run follows the driver steps of :mod:`secagg.protocols.base`:

1. Apply the dropout stages up to the server's first round, then call
   ``start()`` on every client still active.
2. Deliver the round's client messages to ``server.receive`` in order of
   simulated arrival. A message that arrives after the round closed is not
   delivered, and its sender drops at this stage as late.
3. Call ``server.close_round()`` once every expected message arrived or the
   deadline passed. An empty dict ends the run. A server that has a result
   but still returns messages gets them delivered, and the replies are
   discarded.
4. Apply the dropout stages up to the new round, deliver the server's messages
   to the clients still active, and collect their replies for step 2.

A :class:`~secagg.network.executor.ClientExecutor` makes the client calls:
by default a :class:`~secagg.network.executor.LocalExecutor` over the
client objects, which runs every call of a round before step 2 begins. With
a concurrent executor and no latency model, step 2 overlaps the client
calls: each reply reaches ``server.receive`` as soon as the calls of every
lower client id have completed, so the server receives the same messages in
the same order as with the local executor.

A client that raises, or returns something other than bytes or None, drops at
the current stage with the error text, and the run goes on. A client that
dropped, for any cause, gets no further messages. Errors raised by
the server, the dropout model or the ``progress`` callback propagate, because
they are bugs of the caller or of the protocol under test.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from secagg._validation import check_int
from secagg.network.dropout import STAGES, DropoutSpec, as_dropout_model
from secagg.network.executor import ClientCall, ClientExecutor, LocalExecutor
from secagg.network.latency import LatencyModel
from secagg.network.report import ByteCounts, DropCause, Dropout, RoundStats, SimulationReport
from secagg.protocols import wire
from secagg.protocols.base import AggregationClient, AggregationResult, AggregationServer, Round

logger = logging.getLogger(__name__)

MAX_ROUNDS = 64
"""Rounds after which a server that keeps sending messages is taken to be stuck."""


@dataclass(frozen=True)
class RoundProgress:
    """Summary of a closed round, passed to the ``progress`` callback."""

    round: Round
    delivered: int
    late: int
    dropped: int
    """Clients that dropped while this round was prepared or run, for any cause."""
    active: int
    """Clients still running after the round."""


def simulate(server: AggregationServer, clients: Iterable[AggregationClient] | None = None, *,
             dropout: DropoutSpec = None, latency: LatencyModel | None = None,
             deadline_s: float | Mapping[int, float] | None = None, seed: int | None = None,
             progress: Callable[[RoundProgress], None] | None = None,
             executor: ClientExecutor | None = None,
             ) -> tuple[AggregationResult, SimulationReport]:
    """Run one protocol execution between ``server`` and ``clients``; return its result and report.

    ``dropout`` accepts what :func:`secagg.network.dropout.as_dropout_model`
    accepts. ``deadline_s`` is one deadline for every round or a mapping
    from round to deadline, in simulated seconds since the round opened.
    Rounds without a deadline wait for every expected message. Deadlines only
    take effect with a ``latency`` model, because without one every message
    arrives at time 0. ``seed`` drives the dropout and latency draws. When it
    is None, fresh entropy is used and recorded in the report's ``seed``.
    ``executor`` runs clients that live elsewhere, for example in Ray actors,
    in place of ``clients``; pass exactly one of the two. The caller closes an
    executor it passed in.

    Raises TypeError or ValueError for invalid arguments, and RuntimeError if
    the server neither finishes within :data:`MAX_ROUNDS` rounds nor has a
    result once it stops sending.
    """
    return _Run(server, clients, dropout, latency, deadline_s, seed, progress, executor).execute()


class _Run:
    """State of one simulated execution: active clients, counters and timings."""

    def __init__(self, server, clients, dropout, latency, deadline_s, seed, progress, executor):
        if server.result is not None:
            raise ValueError("server already has a result; create a new server for each run")
        self.server = server
        if executor is None:
            if clients is None:
                raise TypeError("simulate() needs the clients or an executor that runs them; got neither")
            executor = LocalExecutor(clients)
        elif clients is not None:
            raise TypeError("pass clients or executor to simulate(), not both: the executor runs its own clients")
        self.executor = executor
        self.client_ids = list(executor.client_ids)
        self.dropout = as_dropout_model(dropout)
        if latency is not None and not isinstance(latency, LatencyModel):
            raise TypeError(f"latency must be a LatencyModel or None, got {type(latency).__name__}")
        self.latency = latency
        self.deadlines = _resolve_deadlines(deadline_s)
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
        self.progress = progress

        seed_sequence = np.random.SeedSequence(None if seed is None else check_int("seed", seed, minimum=0))
        self.seed = int(seed_sequence.entropy)
        dropout_seed, latency_seed = seed_sequence.spawn(2)
        self.dropout_rng = np.random.default_rng(dropout_seed)
        self.links = ({} if latency is None else
                      latency.client_links(self.client_ids, np.random.default_rng(latency_seed)))

        self.active = set(self.client_ids)
        self.next_stage = 0
        self.dropouts: list[Dropout] = []
        self.bytes = ByteCounts()
        self.client_s: dict[int, float] = {}
        self.server_s = 0.0
        self.rounds: list[RoundStats] = []

    def execute(self) -> tuple[AggregationResult, SimulationReport]:
        stats = RoundStats(self.server.round)
        dropouts_before = len(self.dropouts)
        self._apply_dropouts(stats.round)
        starting = sorted(self.active)
        for client in starting:
            self.client_s[client] = 0.0
            self.bytes.client_upload[client] = 0
            self.bytes.client_download[client] = 0
        pending = self._collect_replies(stats, self.executor.start_all(starting), starting, {})

        for _ in range(MAX_ROUNDS):
            if self.server.result is not None:
                # The server finished but sent final messages: replies have no recipient.
                # pending is a dict here, because replies stream only while the server runs.
                if pending:
                    logger.debug("discarded %d client replies sent after the server finished", len(pending))
                self._end_round(stats, dropouts_before)
                break
            self._deliver_uploads(stats, pending)
            outgoing = self._timed_server_call(stats, self.server.close_round)
            self._end_round(stats, dropouts_before)
            if not outgoing:
                break

            stats = RoundStats(self.server.round)
            dropouts_before = len(self.dropouts)
            if stats.round is not Round.FINISHED:
                self._apply_dropouts(stats.round)
            pending = self._deliver_downloads(stats, outgoing)
        else:
            raise RuntimeError(f"the server did not finish within {MAX_ROUNDS} rounds; "
                               f"it is collecting round {self.server.round.name}")

        result = self.server.result
        if result is None:
            raise RuntimeError("server.close_round() returned no messages, but server.result is None; "
                               "the protocol stopped without an outcome")
        return result, self._report(result)

    def _apply_dropouts(self, round_: Round) -> None:
        """Apply every stage not applied yet, up to ``round_``, by calling the dropout model."""
        while self.next_stage <= min(round_.stage, len(STAGES) - 1):
            stage = Round(self.next_stage)
            chosen = self.dropout.select(stage, sorted(self.active), self.dropout_rng)
            for client in sorted(set(chosen) & self.active):
                self._drop(client, stage, DropCause.MODEL, "")
            self.next_stage += 1

    def _collect_replies(self, stats: RoundStats, calls: Iterable[tuple[int, ClientCall]],
                         ids: list[int], download_s: Mapping[int, float]):
        """Record the calls of ``ids``; return their replies for :meth:`_deliver_uploads`.

        The replies are a dict from client to (message, arrival). With a
        concurrent executor, no latency model and a server still running,
        they are instead a stream of (client, (message, arrival)) pairs in id
        order. The stream records each call when it reaches it, so the server
        can receive early replies while later calls run.
        """
        if self.executor.concurrent and self.latency is None and self.server.result is None:
            return self._stream_replies(stats, calls, ids)
        completed = dict(calls)
        _check_call_ids(ids, completed)
        pending: dict[int, tuple[bytes, float]] = {}
        for client in ids:
            self._record_call(client, completed[client], download_s.get(client, 0.0), stats, pending)
        return pending

    def _stream_replies(self, stats: RoundStats, calls: Iterable[tuple[int, ClientCall]], ids: list[int]):
        completed: dict[int, ClientCall] = {}
        position = 0
        for client, call in calls:
            completed[client] = call
            while position < len(ids) and ids[position] in completed:
                ready: dict[int, tuple[bytes, float]] = {}
                current = ids[position]
                position += 1
                self._record_call(current, completed.pop(current), 0.0, stats, ready)
                if current in ready:
                    yield current, ready[current]
        _check_call_ids(ids[position:], completed)

    def _record_call(self, client: int, call: ClientCall, download_s: float,
                     stats: RoundStats, pending: dict[int, tuple[bytes, float]]) -> None:
        """Add the call's time; queue its reply in ``pending``, or drop the client if the call failed."""
        self.client_s[client] += call.seconds
        stats.slowest_client_s = max(stats.slowest_client_s, call.seconds)
        if call.error is not None:
            logger.warning("client %d failed in round %s and is counted as dropped: %s",
                           client, stats.round.name, call.error)
            self._drop(client, stats.round, DropCause.FAILURE, call.error)
            return
        if call.reply is None:
            return

        arrival = 0.0
        if self.latency is not None:
            arrival = download_s + self.links[client].uplink.transfer_s(len(call.reply))
            if self.latency.include_compute:
                arrival += call.seconds
        pending[client] = (call.reply, arrival)

    def _deliver_uploads(self, stats: RoundStats, pending) -> None:
        """Deliver client messages in arrival order until the round closes; set ``stats.close_s``.

        ``pending`` is what :meth:`_collect_replies` returned.
        """
        deadline = (self.deadlines.get(Round(stats.round.stage), math.inf)
                    if self.latency is not None else math.inf)
        waiting = set(self.server.expected_senders())
        closed_at = None if waiting else 0.0
        last_arrival = 0.0

        if isinstance(pending, Mapping):
            pending = sorted(pending.items(), key=lambda item: (item[1][1], item[0]))
        for client, (message, arrival) in pending:
            self._count_sent(message, stats)
            self.bytes.client_upload[client] += len(message)
            stats.upload_bytes += len(message)
            close = deadline if closed_at is None else closed_at
            if arrival > close:
                stats.late.append(client)
                self._drop(client, stats.round, DropCause.LATE,
                           f"arrived at {arrival:.6f} s, after the round closed at {close:.6f} s")
                continue

            self._timed_server_call(stats, self.server.receive, client, message)
            self.bytes.server_received += len(message)
            stats.delivered += 1
            last_arrival = max(last_arrival, arrival)
            waiting.discard(client)
            if closed_at is None and not waiting and not self.server.expected_senders():
                closed_at = arrival

        if self.latency is not None:
            if closed_at is not None:
                stats.close_s = closed_at
            else:
                stats.close_s = deadline if deadline < math.inf else last_arrival
        logger.debug("round %s: %d delivered, %d late", stats.round.name, stats.delivered, len(stats.late))

    def _deliver_downloads(self, stats: RoundStats, outgoing: dict[int, bytes]):
        """Hand the server's messages to the active clients; return their replies as :meth:`_collect_replies` does."""
        if not isinstance(outgoing, Mapping):
            raise TypeError(f"server.close_round() must return a dict, got {type(outgoing).__name__}")
        deliverable: dict[int, bytes] = {}
        download_s: dict[int, float] = {}
        for client, message in sorted(outgoing.items()):
            if not isinstance(message, (bytes, bytearray, memoryview)):
                raise TypeError(f"server.close_round() returned {type(message).__name__} for client "
                                f"{client}, expected bytes")
            message = bytes(message)
            self._count_sent(message, stats)
            self.bytes.server_sent += len(message)
            stats.download_bytes += len(message)
            if client not in self.active:
                logger.debug("round %s: message for client %s not delivered: not active",
                             stats.round.name, client)
                continue
            self.bytes.client_download[client] += len(message)
            deliverable[client] = message
            if self.latency is not None:
                download_s[client] = self.links[client].downlink.transfer_s(len(message))
        return self._collect_replies(stats, self.executor.handle_all(deliverable), list(deliverable),
                                     download_s)

    def _timed_server_call(self, stats: RoundStats, method, *args):
        began = time.perf_counter()
        try:
            return method(*args)
        finally:
            elapsed = time.perf_counter() - began
            self.server_s += elapsed
            stats.server_s += elapsed

    def _count_sent(self, message: bytes, stats: RoundStats) -> None:
        message_type = wire.peek_type(message)
        name = "unknown" if message_type is None else message_type.name
        self.bytes.by_type[name] = self.bytes.by_type.get(name, 0) + len(message)

    def _drop(self, client: int, stage: Round, cause: DropCause, detail: str) -> None:
        self.active.discard(client)
        self.dropouts.append(Dropout(client, stage, cause, detail))

    def _end_round(self, stats: RoundStats, dropouts_before: int) -> None:
        self.rounds.append(stats)
        if self.progress is not None:
            self.progress(RoundProgress(stats.round, stats.delivered, len(stats.late),
                                        len(self.dropouts) - dropouts_before, len(self.active)))

    def _report(self, result: AggregationResult) -> SimulationReport:
        return SimulationReport(
            seed=self.seed, clients=sorted(self.client_ids), bytes=self.bytes, rounds=self.rounds,
            client_s=self.client_s, server_s=self.server_s, included=list(result.included),
            aborted=result.aborted,
            abort_reason=None if result.abort_reason is None else result.abort_reason.name,
            abort_detail=result.abort_detail, exclusions=list(result.exclusions),
            dropouts=list(self.dropouts), latency_model=self.latency is not None)


def _check_call_ids(expected: list[int], completed: Mapping[int, ClientCall]) -> None:
    """Raise RuntimeError when an executor skipped a requested client or returned a call for another one."""
    missing = sorted(set(expected) - set(completed))
    extra = sorted(set(completed) - set(expected))
    if missing or extra:
        raise RuntimeError(f"the client executor returned no call for clients {missing} and "
                           f"unrequested calls for clients {extra}; it must return one call per "
                           "requested client")


def _resolve_deadlines(deadline_s: float | Mapping[int, float] | None) -> dict[Round, float]:
    """Return the deadline of each round that has one."""
    if deadline_s is None:
        return {}
    if isinstance(deadline_s, Mapping):
        return {Round(check_int("deadline_s round", r, minimum=0, maximum=len(STAGES) - 1)):
                _check_deadline(f"deadline_s[{r}]", value) for r, value in deadline_s.items()}
    value = _check_deadline("deadline_s", deadline_s)
    return {stage: value for stage in STAGES}


def _check_deadline(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be > 0 seconds (math.inf for none), got {value}")
    return float(value)
