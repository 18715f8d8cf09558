"""The typed measurements of one simulated run.

Bytes are the real serialized lengths of the messages, header included.
A message counts as sent when its sender produced it, even if it was late or
its recipient had dropped, and as received only when it was delivered. Per-round
totals and per-type totals count bytes sent by either side.

Seconds are ``time.perf_counter`` measurements of the parties' calls
(``start``, ``handle``, ``receive``, ``close_round``) on the machine that ran
the simulation. Clients run one after another there, but a round's time is
taken as ``server_s + slowest_client_s``: the critical path when clients work
in parallel. The first call of a Numba kernel in a process includes loading or
compiling it, so the first client of a run can look slower than the others.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from secagg.protocols.base import Exclusion, Round


class DropCause(enum.Enum):
    """Reason the simulator stopped running a client."""

    MODEL = "chosen by the dropout model"
    LATE = "its message arrived after the round closed"
    FAILURE = "raised an exception or returned something other than bytes or None"


@dataclass(frozen=True)
class Dropout:
    """A client that stopped at ``stage`` and sent nothing from that round on."""

    client: int
    stage: Round
    cause: DropCause
    detail: str = ""


@dataclass
class RoundStats:
    """Traffic and time of one round.

    ``download_bytes`` counts the server messages that open the round, and
    ``upload_bytes`` the client messages sent in it.
    """

    round: Round
    upload_bytes: int = 0
    download_bytes: int = 0
    delivered: int = 0
    late: list[int] = field(default_factory=list)
    server_s: float = 0.0
    slowest_client_s: float = 0.0
    close_s: float | None = None
    """Simulated time at which the server closed the round; None without a latency model."""

    @property
    def seconds(self) -> float:
        """Measured critical path: the server's time plus the slowest client's time."""
        return self.server_s + self.slowest_client_s

    @property
    def estimated_wall_clock_s(self) -> float | None:
        """``close_s + server_s``, the latency model's estimate; None without one."""
        return None if self.close_s is None else self.close_s + self.server_s


@dataclass
class ByteCounts:
    """Bytes per party and per message type.

    The per-client maps contain exactly the clients whose ``start`` was called.
    """

    client_upload: dict[int, int] = field(default_factory=dict)
    client_download: dict[int, int] = field(default_factory=dict)
    server_sent: int = 0
    server_received: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    """Bytes sent, keyed by MessageType name, or "unknown" for an invalid header."""


@dataclass
class SimulationReport:
    """Everything the simulator measured in one run."""

    seed: int
    """Entropy of the ``numpy.random.SeedSequence`` behind the dropout and latency draws."""
    clients: list[int]
    bytes: ByteCounts
    rounds: list[RoundStats]
    client_s: dict[int, float]
    """Total compute seconds of each client whose ``start`` was called."""
    server_s: float
    included: list[int]
    aborted: bool
    abort_reason: str | None
    """AbortReason name, for example "TOO_FEW_CLIENTS"; None when the run finished."""
    abort_detail: str
    exclusions: list[Exclusion]
    dropouts: list[Dropout]
    latency_model: bool

    @property
    def client_mean_s(self) -> float:
        """Mean total compute time over the clients whose ``start`` was called."""
        return _mean(self.client_s.values())

    def bytes_by_round(self) -> dict[str, int]:
        """Return the bytes sent in each round, uploads plus downloads, keyed by round name."""
        totals: dict[str, int] = {}
        for stats in self.rounds:
            totals[stats.round.name] = totals.get(stats.round.name, 0) + stats.upload_bytes + stats.download_bytes
        return totals

    def seconds_by_round(self) -> dict[str, float]:
        """Return each round's measured critical path, keyed by round name."""
        totals: dict[str, float] = {}
        for stats in self.rounds:
            totals[stats.round.name] = totals.get(stats.round.name, 0.0) + stats.seconds
        return totals

    def dropped_by_stage(self) -> dict[str, list[int]]:
        """Return the dropped client ids, ascending, keyed by stage name."""
        stages: dict[str, list[int]] = {}
        for dropout in self.dropouts:
            stages.setdefault(dropout.stage.name, []).append(dropout.client)
        return {stage: sorted(ids) for stage, ids in stages.items()}

    def to_json_dict(self) -> dict[str, Any]:
        """Return the report as plain dicts, lists, strings and numbers for ``json.dumps``."""
        uploads = list(self.bytes.client_upload.values())
        downloads = list(self.bytes.client_download.values())
        estimated = None
        if self.latency_model:
            per_round: dict[str, float] = {}
            for stats in self.rounds:
                per_round[stats.round.name] = per_round.get(stats.round.name, 0.0) + stats.estimated_wall_clock_s
            estimated = {"rounds": per_round, "total": sum(per_round.values())}

        return {
            "seed": int(self.seed),
            "clients": len(self.clients),
            "bytes": {
                "client_upload_mean": _mean(uploads),
                "client_upload_max": max(uploads, default=0),
                "client_download_mean": _mean(downloads),
                "client_download_max": max(downloads, default=0),
                "server_sent": self.bytes.server_sent,
                "server_received": self.bytes.server_received,
                "rounds": self.bytes_by_round(),
                "by_type": dict(self.bytes.by_type),
                "client_upload": {str(c): n for c, n in self.bytes.client_upload.items()},
                "client_download": {str(c): n for c, n in self.bytes.client_download.items()},
            },
            "seconds": {
                "rounds": self.seconds_by_round(),
                "total": sum(stats.seconds for stats in self.rounds),
                "client_mean": self.client_mean_s,
                "client_max": max(self.client_s.values(), default=0.0),
                "server": self.server_s,
            },
            "estimated_wall_clock_s": estimated,
            "included": [int(c) for c in self.included],
            "aborted": bool(self.aborted),
            "abort_reason": self.abort_reason,
            "abort_detail": self.abort_detail,
            "exclusions": [{"client": int(e.client), "round": e.round.name, "reason": e.reason.name,
                            "detail": e.detail} for e in self.exclusions],
            "dropouts": [{"client": d.client, "stage": d.stage.name, "cause": d.cause.name,
                          "detail": d.detail} for d in self.dropouts],
            "dropped": self.dropped_by_stage(),
            "round_details": [{"round": s.round.name, "upload_bytes": s.upload_bytes,
                               "download_bytes": s.download_bytes, "delivered": s.delivered,
                               "late": list(s.late), "server_s": s.server_s,
                               "slowest_client_s": s.slowest_client_s, "close_s": s.close_s}
                              for s in self.rounds],
        }


def _mean(values) -> float:
    values = list(values)
    return float(sum(values)) / len(values) if values else 0.0
