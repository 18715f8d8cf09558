"""A latency and bandwidth model that decides late messages and estimates wall-clock time.

Sending ``b`` bytes over a link takes ``latency_s + b / bandwidth_bytes_per_s``
seconds. Every client has its own uplink (client to server) and downlink
(server to client). The server's connection is assumed never to be the
bottleneck, so clients transfer in parallel.

Times within a round are seconds since the server sent the messages that open
the round, or since the run began for the first round. For client ``c``::

    arrival_s(c) = download_s(c) + compute_s(c) + upload_s(c)

``download_s`` is the transfer time of the server message that opens the
round, 0 in the first round. ``compute_s`` is the measured time of the client
call that produced the reply, counted only when ``include_compute`` is true.
``upload_s`` is the transfer time of the reply. A message whose arrival is
after the round's deadline is not delivered. The server closes the round at
``close_s``: the latest delivered arrival if every expected message arrived,
otherwise the deadline, or the latest arrival when the round has no deadline.
The estimated wall-clock time of the round is
``close_s + server_compute_s``. Adding all server work after the close gives
an upper bound, since a real server parses messages while it waits.
"""

from __future__ import annotations

import math
import numbers
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from secagg._validation import check_int


def _check_real(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")


@dataclass(frozen=True)
class Link:
    """One direction of a client's connection.

    ``bandwidth_bytes_per_s`` may be ``math.inf`` to model an unlimited link.
    """

    latency_s: float
    bandwidth_bytes_per_s: float

    def __post_init__(self) -> None:
        _check_real("latency_s", self.latency_s)
        _check_real("bandwidth_bytes_per_s", self.bandwidth_bytes_per_s)
        if not 0.0 <= self.latency_s < math.inf:
            raise ValueError(f"latency_s must be a finite number >= 0, got {self.latency_s}")
        if not self.bandwidth_bytes_per_s > 0.0:
            raise ValueError("bandwidth_bytes_per_s must be > 0 (math.inf for an unlimited link), "
                             f"got {self.bandwidth_bytes_per_s}")

    def transfer_s(self, nbytes: int) -> float:
        """Return the seconds that sending ``nbytes`` bytes takes."""
        return self.latency_s + nbytes / self.bandwidth_bytes_per_s

    def slowed(self, factor: float) -> "Link":
        """Return this link with the latency multiplied and the bandwidth divided by ``factor``."""
        return Link(self.latency_s * factor, self.bandwidth_bytes_per_s / factor)


class ClientLinks(NamedTuple):
    """The uplink and downlink of one client."""

    uplink: Link
    downlink: Link


@dataclass(frozen=True)
class LatencyModel:
    """Links shared by all clients, with optional per-client slowdown.

    The default links are illustrative values, not measurements: 50 ms
    one-way latency, 10 Mbit/s up and 50 Mbit/s down.

    Each client's links are the shared ones slowed by a factor: the product of
    ``slowdown[client_id]`` (1 when absent) and, when ``variation`` is above
    0, ``exp(N(0, variation**2))`` drawn once per client from the
    simulation seed. So a straggler stays slow in every round.

    With ``include_compute`` true, measured compute time moves a message's
    arrival, so a message near the deadline may be delivered in one run and
    late in another. Set it to false for runs reproducible from the seed.
    """

    uplink: Link = Link(0.05, 1.25e6)
    downlink: Link = Link(0.05, 6.25e6)
    variation: float = 0.0
    slowdown: Mapping[int, float] = field(default_factory=dict)
    include_compute: bool = True

    def __post_init__(self) -> None:
        for name in ("uplink", "downlink"):
            if not isinstance(getattr(self, name), Link):
                raise TypeError(f"{name} must be a Link, got {type(getattr(self, name)).__name__}")
        _check_real("variation", self.variation)
        if not 0.0 <= self.variation < math.inf:
            raise ValueError(f"variation must be a finite number >= 0, got {self.variation}")
        slowdown = {}
        for client, factor in dict(self.slowdown).items():
            _check_real(f"slowdown[{client}]", factor)
            if not 0.0 < factor < math.inf:
                raise ValueError(f"slowdown[{client}] must be a finite number > 0, got {factor}")
            slowdown[check_int("slowdown client id", client)] = float(factor)
        object.__setattr__(self, "slowdown", types.MappingProxyType(slowdown))

    def client_links(self, client_ids: Sequence[int], rng: np.random.Generator) -> dict[int, ClientLinks]:
        """Return each client's links, drawing the random factors in increasing id order."""
        links = {}
        for client in sorted(client_ids):
            factor = self.slowdown.get(client, 1.0)
            if self.variation > 0.0:
                factor *= math.exp(rng.normal(0.0, self.variation))
            links[client] = ClientLinks(self.uplink.slowed(factor), self.downlink.slowed(factor))
        return links
