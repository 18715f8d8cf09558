"""Run the client side of a simulation in Ray actors, with the server on the driver.

:class:`RayExecutor` starts a pool of actors, one per CPU of the Ray cluster
by default, and each actor builds and keeps a group of clients for the whole
run. Client objects never leave their actor. Only three kinds of data cross
between processes, each through Ray's object store:

1. the client factory once, and each actor's client inputs once (``ray.put``);
2. each round's server messages, sent to the actor that hosts the recipient;
3. the clients' replies with their timings, fetched by the driver once.

Clients ``i`` with ``i // clients_per_call`` equal modulo the number of
actors share an actor, so neighbouring ids run on different actors and the
replies come back roughly in id order, the order in which the simulator
hands them to the server.

A call that raises inside an actor fails only that client, exactly as with
:class:`~secagg.network.executor.LocalExecutor`. An actor that dies, a Ray
call that fails, or a round in which no call completes within ``timeout_s``
fails every client still waiting on that actor; the simulator counts them
as FAILURE dropouts at that stage, and the protocol's own rules decide
whether the round completes or aborts.

Ray is imported only here, when an executor or a session is created; the
``ray`` extra installs it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from secagg._validation import check_int
from secagg.network.executor import ClientCall, call_client
from secagg.protocols.base import AggregationClient

logger = logging.getLogger(__name__)

MISSING_RAY_MESSAGE = 'Ray is not installed; install it with: pip install -e ".[ray]"'

DEFAULT_CLIENTS_PER_CALL = 16
"""Clients whose calls one Ray task runs, one after another. Larger values
cost fewer Ray calls; smaller ones let replies reach the server sooner."""

DEFAULT_TIMEOUT_S = 600.0
"""Seconds the driver waits for the next call of a round to complete. It
must exceed the time one actor needs for ``clients_per_call`` client calls."""


def import_ray():
    """Import and return the ``ray`` module; raise a one-line ImportError when it is missing."""
    try:
        import ray
    except ImportError:
        raise ImportError(MISSING_RAY_MESSAGE) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None) -> Iterator[Any]:
    """Connect to Ray for the duration of the block and yield the ``ray`` module.

    A connection that the process already has is reused and left open, and
    ``address`` is then ignored. Otherwise, with an ``address`` (``"auto"``
    or ``"HOST:PORT"`` of a head node) the driver joins that cluster, and
    without one it starts a local instance. Either is shut down when the
    block ends.

    A local instance listens on 127.0.0.1 only and sends no usage
    statistics, and a loopback ``address`` stays on loopback: unless they
    are set already, this function sets ``RAY_USAGE_STATS_ENABLED=0`` and,
    before ``ray`` is first imported, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``.
    Worker output stays in Ray's session logs, so that the driver's output
    remains machine-readable. Joining a cluster that uses Ray's token
    authentication needs ``RAY_AUTH_MODE=token`` and the cluster's token
    (``~/.ray/auth_token``) in this process's environment.

    NOTE: Ray 2.60's ``ray.init`` has no timeout and retries an unreachable
    ``address`` for minutes before it raises.
    """
    if (address is None or _is_loopback(address)) and "ray" not in sys.modules:
        # Ray 2.60 reads this at import. Unless it is 0, Ray replaces 127.0.0.1 and localhost,
        # in its own address and in a cluster address, by the machine's network address.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = import_ray()
    if ray.is_initialized():
        if address is not None:
            logger.info("already connected to Ray; ignoring the address %s", address)
        yield ray
        return

    if address is None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
        logger.info("started a local Ray instance with %s CPUs", ray.cluster_resources().get("CPU"))
    else:
        ray.init(address=address, log_to_driver=False)
        logger.info("joined the Ray cluster at %s with %s CPUs", address,
                    ray.cluster_resources().get("CPU"))
    try:
        yield ray
    finally:
        ray.shutdown()


class ClientFactory(Protocol):
    """A callable that builds one client inside an actor. It must pickle, so define it at module level."""

    def __call__(self, client_id: int, values: Any) -> AggregationClient:
        """Return the client ``client_id`` with input ``values`` (None for a party without input)."""


class ClientHost:
    """A group of clients kept in one Ray actor for a whole run.

    Calls run one after another, so a host needs no locking. Each call is
    timed inside the actor with :func:`~secagg.network.executor.call_client`,
    so a client's seconds exclude Ray's transport.
    """

    def __init__(self, factory: ClientFactory, inputs: Mapping[int, Any]):
        self.clients = {client: factory(client, values) for client, values in inputs.items()}

    def ready(self) -> int:
        """Return the number of hosted clients; completes once the constructor has."""
        return len(self.clients)

    def start(self, ids: Sequence[int]) -> list[tuple[int, ClientCall]]:
        """Call ``start()`` on each client of ``ids``, in order."""
        return [(client, call_client(self.clients[client], None)) for client in ids]

    def handle(self, messages: Mapping[int, bytes]) -> list[tuple[int, ClientCall]]:
        """Call ``handle(message)`` on each recipient, in order."""
        return [(client, call_client(self.clients[client], message)) for client, message in messages.items()]


class RayExecutor:
    """An executor that runs clients in a pool of Ray actors; see the module docstring.

    ``factory(client_id, values)`` builds each client inside its actor from
    ``inputs[client_id]`` (None where ``inputs`` has no entry). Ray must be
    initialized (see :func:`ray_session`). ``actors`` defaults to the
    cluster's CPU count, and each actor reserves an equal share of those
    CPUs. ``actors`` (the actor handles), ``hosted`` (the client ids of each
    actor) and ``host_of`` (the actor index of each client) are public, for
    inspection and fault injection. Close the executor, or use it as a
    context manager, to stop the actors.

    ``timeout_s`` bounds each wait for a round's next call, and
    ``start_timeout_s`` the start of the actors with their clients.
    Raises RuntimeError when the actors do not start in time or a factory
    call fails in an actor.
    """

    concurrent = True

    def __init__(self, factory: ClientFactory, client_ids: Sequence[int],
                 inputs: Mapping[int, Any] | None = None, *, actors: int | None = None,
                 clients_per_call: int = DEFAULT_CLIENTS_PER_CALL, timeout_s: float = DEFAULT_TIMEOUT_S,
                 start_timeout_s: float = DEFAULT_TIMEOUT_S):
        self._ray = ray = import_ray()
        if not ray.is_initialized():
            raise RuntimeError("Ray is not initialized; call ray.init() or enter ray_session() first")
        self.client_ids = sorted(check_int("client id", client, minimum=0) for client in client_ids)
        if not self.client_ids:
            raise ValueError("client_ids must name at least one client, got none")
        if len(set(self.client_ids)) != len(self.client_ids):
            raise ValueError("client_ids must be unique")
        self.clients_per_call = check_int("clients_per_call", clients_per_call, minimum=1)
        self.timeout_s = _check_seconds("timeout_s", timeout_s)
        start_timeout_s = _check_seconds("start_timeout_s", start_timeout_s)

        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        if actors is None:
            actors = max(1, int(cpus))
        actors = min(check_int("actors", actors, minimum=1), len(self.client_ids))
        self.host_of = {client: (position // self.clients_per_call) % actors
                        for position, client in enumerate(self.client_ids)}
        self.hosted: list[list[int]] = [[] for _ in range(actors)]
        for client in self.client_ids:
            self.hosted[self.host_of[client]].append(client)
        self._lost: dict[int, str] = {}
        self.actors = self._start_actors(factory, {} if inputs is None else inputs, cpus / actors,
                                         start_timeout_s)

    def _start_actors(self, factory: ClientFactory, inputs: Mapping[int, Any], cpus_per_actor: float,
                      start_timeout_s: float) -> list:
        ray = self._ray
        host_class = ray.remote(ClientHost).options(num_cpus=cpus_per_actor, max_restarts=0,
                                                    max_task_retries=0, scheduling_strategy="SPREAD")
        factory_ref = ray.put(factory)
        actors = [host_class.remote(factory_ref, ray.put({client: inputs.get(client) for client in group}))
                  for group in self.hosted]

        ready = [actor.ready.remote() for actor in actors]
        started, _ = ray.wait(ready, num_returns=len(ready), timeout=start_timeout_s)
        if len(started) < len(ready):
            _kill_all(ray, actors)
            raise RuntimeError(f"only {len(started)} of {len(ready)} Ray actors started within "
                               f"{start_timeout_s} s; the cluster may lack free CPUs for them: pass fewer "
                               "actors, free the CPUs or raise start_timeout_s")
        try:
            ray.get(ready)
        except ray.exceptions.RayError as error:
            _kill_all(ray, actors)
            raise RuntimeError(f"building the clients in Ray actors failed: {error}") from error
        logger.debug("started %d Ray actors for %d clients", len(actors), len(self.client_ids))
        return actors

    def start_all(self, ids: Sequence[int]) -> Iterator[tuple[int, ClientCall]]:
        return self._run(ids, None)

    def handle_all(self, messages: Mapping[int, bytes]) -> Iterator[tuple[int, ClientCall]]:
        return self._run(messages, messages)

    def _run(self, ids: Iterable[int], messages: Mapping[int, bytes] | None) -> Iterator[tuple[int, ClientCall]]:
        """Submit ``start`` (``messages`` None) or ``handle`` calls in chunks; yield each chunk as it completes."""
        submitted: dict[Any, tuple[int, list[int]]] = {}
        failed: list[tuple[int, ClientCall]] = []
        for actor, chunk in self._chunks(ids):
            if actor in self._lost:
                failed.extend((client, ClientCall(None, 0.0, self._lost[actor])) for client in chunk)
                continue
            host = self.actors[actor]
            if messages is None:
                reference = host.start.remote(chunk)
            else:
                reference = host.handle.remote({client: messages[client] for client in chunk})
            submitted[reference] = (actor, chunk)
        yield from failed
        yield from self._collect(submitted)

    def _chunks(self, ids: Iterable[int]) -> list[tuple[int, list[int]]]:
        """Split the work by actor into chunks of ``clients_per_call`` ids, ordered by their lowest id."""
        by_actor: dict[int, list[int]] = {}
        for client in sorted(ids):
            if client not in self.host_of:
                raise ValueError(f"client {client} is not run by this executor")
            by_actor.setdefault(self.host_of[client], []).append(client)
        chunks = [(actor, ids[start:start + self.clients_per_call])
                  for actor, ids in by_actor.items()
                  for start in range(0, len(ids), self.clients_per_call)]
        return sorted(chunks, key=lambda chunk: chunk[1][0])

    def _collect(self, submitted: dict[Any, tuple[int, list[int]]]) -> Iterator[tuple[int, ClientCall]]:
        ray = self._ray
        while submitted:
            ready, _ = ray.wait(list(submitted), num_returns=1, timeout=self.timeout_s)
            if not ready:
                yield from self._abandon(submitted)
                return
            reference = ready[0]
            actor, ids = submitted.pop(reference)
            try:
                calls = ray.get(reference, timeout=self.timeout_s)
            except ray.exceptions.RayActorError as error:
                detail = f"{type(error).__name__}: Ray actor {actor} was lost: {_first_line(error)}"
                self._mark_lost(actor, detail)
                yield from ((client, ClientCall(None, 0.0, detail)) for client in ids)
            except ray.exceptions.RayError as error:
                detail = f"{type(error).__name__}: Ray call on actor {actor} failed: {_first_line(error)}"
                logger.warning("a Ray call for clients %s failed: %s", ids, detail)
                yield from ((client, ClientCall(None, 0.0, detail)) for client in ids)
            else:
                yield from calls

    def _abandon(self, submitted: dict[Any, tuple[int, list[int]]]) -> Iterator[tuple[int, ClientCall]]:
        """Stop the actors whose calls timed out; fail every client still waiting on them."""
        waiting = {actor for actor, _ in submitted.values()}
        for actor in sorted(waiting):
            self._mark_lost(actor, f"TimeoutError: no call completed within {self.timeout_s} s, so "
                                   f"Ray actor {actor} was stopped")
            _kill_all(self._ray, [self.actors[actor]])
        for actor, ids in submitted.values():
            yield from ((client, ClientCall(None, 0.0, self._lost[actor])) for client in ids)
        submitted.clear()

    def _mark_lost(self, actor: int, detail: str) -> None:
        if actor not in self._lost:
            logger.warning("Ray actor %d and its %d clients are lost: %s", actor, len(self.hosted[actor]), detail)
            self._lost[actor] = detail

    def close(self) -> None:
        """Stop every actor; the clients they host are gone afterwards."""
        _kill_all(self._ray, self.actors)
        self.actors = []

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _kill_all(ray, actors: list) -> None:
    for actor in actors:
        try:
            ray.kill(actor, no_restart=True)
        except ray.exceptions.RayError as error:
            logger.debug("stopping a Ray actor failed: %s", error)


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def _check_seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value}")
    return float(value)


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0][:300] if lines else ""
