"""Exact byte counts of every SecAgg and SecAgg+ message, without running the protocol.

The sizes follow the wire format of :mod:`secagg.protocols.wire` and
:mod:`secagg.protocols.masking.messages`. Given the survivor sets of each
round and the neighbour graph, :func:`message_bytes` returns the same counts
that the network simulator measures. Without a graph, SecAgg+ neighbourhoods
are taken at their expected sizes under uniform dropout, so the result is an
estimate for SecAgg+ with dropouts and exact otherwise.

Survivor sets, as in Bonawitz et al. (CCS 2017): U1 advertised keys, U2 sent
shares (and, without malicious clients, the share receipts that follow), U3
sent masked inputs, U4 signed the survivor list (active variant only), U5
answered the unmasking request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from secagg.primitives import aead, shamir
from secagg.primitives.packing import bit_width, packed_size
from secagg.protocols.masking.config import modulus_for
from secagg.protocols.wire import HEADER_BYTES

KEY = 32
SIGNATURE = 64
SHARE = shamir.serialized_share_nbytes(32)
"""A serialized share of a 32-byte secret."""
SHARE_PLAINTEXT = 4 + 4 + (4 + SHARE) * 2
SHARE_CIPHERTEXT = SHARE_PLAINTEXT + aead.OVERHEAD_BYTES


def advertise_keys(active: bool) -> int:
    return HEADER_BYTES + 2 * KEY + 4 + (SIGNATURE if active else 0)


def server_keys(entries: int, active: bool) -> int:
    """SERVER_KEYS listing ``entries`` key sets (the neighbours in U1 and the client)."""
    return HEADER_BYTES + 32 + 4 + entries * (4 + 2 * KEY + 4 + (SIGNATURE if active else 0))


def share_keys(recipients: int) -> int:
    return HEADER_BYTES + 4 + recipients * (4 + 4 + SHARE_CIPHERTEXT)


def forwarded_shares(senders: int) -> int:
    return HEADER_BYTES + 4 + senders * (4 + 4 + SHARE_CIPHERTEXT)


def id_list(count: int) -> int:
    """SHARE_RECEIPT, MASKED_INPUT_REQUEST or SURVIVORS listing ``count`` ids."""
    return HEADER_BYTES + 4 + 4 * count


def masked_input(dim: int, modulus: int) -> int:
    return HEADER_BYTES + 4 + packed_size(dim, bit_width(modulus))


def survivors(count: int) -> int:
    return id_list(count)


def consistency_signature() -> int:
    return HEADER_BYTES + SIGNATURE


def unmasking_request(listed: int, signatures: int) -> int:
    return HEADER_BYTES + 4 + 4 * listed + 4 + signatures * (4 + SIGNATURE)


def unmasking_response(shares: int) -> int:
    return HEADER_BYTES + 4 + shares * (4 + 1 + 4 + SHARE)


@dataclass
class Survivors:
    """Client ids in each survivor set; each set is a subset of the one before."""

    u1: set[int]
    u2: set[int]
    u3: set[int]
    u4: set[int]
    u5: set[int]

    @classmethod
    def from_drop_stages(cls, clients: int, drop_stage: dict[int, int], active: bool) -> "Survivors":
        """Build the sets from the round at which each client goes silent (absent: never)."""
        def alive(stage: int) -> set[int]:
            return {c for c in range(clients) if drop_stage.get(c, 99) > stage}
        # Without a consistency check, U4 is U3: every masked input gets a request.
        u4 = alive(3) if active else alive(2)
        return cls(alive(0), alive(1), alive(2), u4, alive(4) & u4)


@dataclass
class Traffic:
    """Bytes by party and round, counted as the network simulator counts them.

    A server message counts in ``server_sent`` and in its round when the
    server sends it, and in the client's download only if the client has not
    dropped by then. A client message counts when the client sends it.
    """

    upload: dict[int, int] = field(default_factory=dict)
    download: dict[int, int] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)
    server_sent: int = 0

    def add(self, round_name: str, client: int, up: int = 0, down: int = 0,
            delivered: bool = True) -> None:
        self.upload[client] = self.upload.get(client, 0) + up
        self.download[client] = self.download.get(client, 0) + (down if delivered else 0)
        self.server_sent += down
        self.rounds[round_name] = self.rounds.get(round_name, 0) + up + down

    @property
    def client_upload_mean(self) -> float:
        return sum(self.upload.values()) / len(self.upload) if self.upload else 0.0

    @property
    def client_download_mean(self) -> float:
        return sum(self.download.values()) / len(self.download) if self.download else 0.0


def message_bytes(clients: int, dim: int, bits: int, *, active: bool = False,
                  survivors_: Survivors | None = None,
                  neighbours: dict[int, set[int]] | None = None,
                  modulus: int | None = None) -> Traffic:
    """Return the bytes every client sends and receives in each round.

    ``neighbours`` maps each client to its neighbour ids; None means the
    complete graph (SecAgg). ``survivors_`` defaults to no dropout. A client
    in a survivor set is still running when the next round opens, so it
    receives that round's server message.
    """
    modulus = modulus or modulus_for(clients, bits)
    sets = survivors_ or Survivors.from_drop_stages(clients, {}, active)
    everyone = set(range(clients))

    def near(client: int, within: set[int]) -> set[int]:
        graph = everyone - {client} if neighbours is None else neighbours[client]
        return graph & within

    traffic = Traffic()
    for client in range(clients):
        traffic.add("ADVERTISE_KEYS", client, up=advertise_keys(active) if client in sets.u1 else 0)
    for client in sorted(sets.u1):
        traffic.add("SHARE_KEYS", client, down=server_keys(len(near(client, sets.u1)) + 1, active),
                    up=share_keys(len(near(client, sets.u1))) if client in sets.u2 else 0,
                    delivered=client in sets.u2)
    for client in sorted(sets.u2):
        # Honest clients reject no ciphertext, so no client is withdrawn.
        traffic.add("SHARE_RECEIPTS", client, down=forwarded_shares(len(near(client, sets.u2))),
                    up=id_list(0))
    for client in sorted(sets.u2):
        traffic.add("MASKED_INPUT_COLLECTION", client, down=id_list(0),
                    up=masked_input(dim, modulus) if client in sets.u3 else 0,
                    delivered=client in sets.u3)
    unmasking_addressees = sets.u3
    if active:
        for client in sorted(sets.u3):
            traffic.add("CONSISTENCY_CHECK", client, down=survivors(len(sets.u3)),
                        up=consistency_signature() if client in sets.u4 else 0,
                        delivered=client in sets.u4)
        unmasking_addressees = sets.u4
    for client in sorted(unmasking_addressees):
        owners = near(client, sets.u2) | {client}
        listed = owners & sets.u3
        traffic.add("UNMASKING", client,
                    down=unmasking_request(len(listed), len(sets.u4) if active else 0),
                    up=unmasking_response(len(owners)) if client in sets.u5 else 0,
                    delivered=client in sets.u5)
    return traffic


def expansion(clients: int, dim: int, bits: int, *, active: bool = False,
              degree: int | None = None) -> float:
    """Return mean client upload / plaintext upload (dim elements at ``bits`` bits), no dropout.

    ``degree`` gives every client that many neighbours (SecAgg+); None is the
    complete graph.
    """
    traffic = _regular_traffic(clients, dim, bits, active, degree)
    return traffic["upload"] / packed_size(dim, bits)


def _regular_traffic(clients: int, dim: int, bits: int, active: bool, degree: int | None) -> dict:
    """Per-client bytes without dropout, where every client has the same neighbour count."""
    modulus = modulus_for(clients, bits)
    k = clients - 1 if degree is None else degree
    upload = (advertise_keys(active) + share_keys(k) + id_list(0) + masked_input(dim, modulus)
              + (consistency_signature() if active else 0) + unmasking_response(k + 1))
    download = (server_keys(k + 1, active) + forwarded_shares(k) + id_list(0)
                + (survivors(clients) if active else 0)
                + unmasking_request(k + 1, clients if active else 0))
    return {"upload": upload, "download": download}


def per_client_bytes(clients: int, dim: int, bits: int, *, active: bool = False,
                     degree: int | None = None) -> dict:
    """Return one client's upload and download bytes without dropout, at any scale."""
    return _regular_traffic(clients, dim, bits, active, degree)
