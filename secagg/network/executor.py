"""Where the simulator runs the clients' calls: in this process, or elsewhere.

The simulator hands each round's client calls to a :class:`ClientExecutor`
and gets one :class:`ClientCall` back per client. :class:`LocalExecutor`
calls the client objects in this process, one after another.
:class:`secagg.network.ray_executor.RayExecutor` runs them in Ray actors.
Either way the protocol code receives the same ``start`` and ``handle`` calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from secagg._validation import check_int
from secagg.protocols.base import AggregationClient


@dataclass(frozen=True)
class ClientCall:
    """Outcome of one ``start`` or ``handle`` call of one client."""

    reply: bytes | None
    seconds: float
    """``time.perf_counter`` duration of the call, measured where the client runs."""
    error: str | None = None
    """Why the call failed, as ``"ExceptionType: message"``; None when it succeeded."""


class ClientExecutor(Protocol):
    """The part of a simulation that runs the clients' calls.

    Both methods yield ``(client_id, ClientCall)`` pairs, one per requested
    client, in the order the calls complete. A client that raised, returned
    something other than bytes or None, or was lost with the machine that ran
    it, yields a call with ``error`` set and ``reply`` None.
    """

    client_ids: list[int]
    """Ids of every client the executor runs, ascending."""
    concurrent: bool
    """True when calls run in parallel and complete in any order; the simulator
    then feeds the server replies while other clients still compute."""

    def start_all(self, ids: Sequence[int]) -> Iterator[tuple[int, ClientCall]]:
        """Call ``start()`` on the clients ``ids``."""

    def handle_all(self, messages: Mapping[int, bytes]) -> Iterator[tuple[int, ClientCall]]:
        """Call ``handle(message)`` on each client id of ``messages``."""

    def close(self) -> None:
        """Release what the executor holds; it runs no calls afterwards."""


class LocalExecutor:
    """An executor that calls client objects in this process, one after another, in the order requested."""

    concurrent = False

    def __init__(self, clients: Iterable[AggregationClient]):
        self.clients = index_clients(clients)
        self.client_ids = sorted(self.clients)

    def start_all(self, ids: Sequence[int]) -> Iterator[tuple[int, ClientCall]]:
        for client in ids:
            yield client, call_client(self.clients[client], None)

    def handle_all(self, messages: Mapping[int, bytes]) -> Iterator[tuple[int, ClientCall]]:
        for client, message in messages.items():
            yield client, call_client(self.clients[client], message)

    def close(self) -> None:
        pass


def call_client(party: AggregationClient, message: bytes | None) -> ClientCall:
    """Run ``party.start()`` (when ``message`` is None) or ``party.handle(message)`` and time it.

    Any exception of the client becomes the call's ``error``, because a client
    bug counts as a dropout of that client, not as a failure of the run.
    """
    began = time.perf_counter()
    try:
        reply = party.start() if message is None else party.handle(message)
    except Exception as error:
        return ClientCall(None, time.perf_counter() - began, f"{type(error).__name__}: {error}")
    elapsed = time.perf_counter() - began

    if reply is None:
        return ClientCall(None, elapsed)
    if not isinstance(reply, (bytes, bytearray, memoryview)):
        return ClientCall(None, elapsed, f"returned {type(reply).__name__}, expected bytes or None")
    return ClientCall(bytes(reply), elapsed)


def index_clients(clients: Iterable[Any]) -> dict[int, AggregationClient]:
    """Return the clients by ``client_id``; raise TypeError or ValueError for a missing or repeated id."""
    indexed: dict[int, AggregationClient] = {}
    for position, client in enumerate(clients):
        if not hasattr(client, "client_id"):
            raise TypeError(f"clients[{position}] has no client_id attribute; "
                            f"got {type(client).__name__}")
        client_id = check_int(f"clients[{position}].client_id", client.client_id, minimum=0)
        if client_id in indexed:
            raise ValueError(f"clients[{position}].client_id must be unique, got {client_id} twice")
        indexed[client_id] = client
    return indexed
