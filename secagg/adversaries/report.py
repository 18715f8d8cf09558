"""Parameters of one attack run and the typed report it returns.

:class:`AttackSpec` contains what the ``secagg attack`` options set, validated
once at :meth:`AttackSpec.create`. :class:`AttackReport` is what every attack
returns: what the adversary obtained, compared with the ground truth.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from secagg._validation import check_choice, check_int
from secagg.protocols.base import Exclusion

MASKING_PROTOCOLS = ("secagg", "secagg+")
CKKS = "ckks"
PROTOCOLS = (*MASKING_PROTOCOLS, CKKS)
CKKS_DEFAULT_MIN_CLIENTS = 2
"""Default threshold of a ckks attack: the key holder's ``min_clients`` of :class:`secagg.he.CkksConfig`."""
COLLUDER_GROUPS = ("neighbours", "non-neighbours")
ALL_CASES = "all"
MAX_INPUT_BITS = 24
"""Widest input the attacks accept; with at most 2**16 clients the sum fits 40 bits."""


@dataclass(frozen=True)
class AttackSpec:
    """Validated parameters of one attack run. Build it with :meth:`create`.

    ``degree`` is the number of neighbours of each client (``clients - 1``
    for SecAgg), and ``threshold`` the Shamir threshold t out of the
    ``degree + 1`` share holders of each client's secrets.

    For ``ckks`` every client receives the secret key, so ``degree`` is
    ``clients - 1``, and ``threshold`` is the key holder's ``min_clients``:
    the fewest clients a decryption request must list.
    """

    protocol: str
    clients: int
    threshold: int
    degree: int
    active: bool
    naive: bool
    colluders: int
    colluders_from: str
    target: int
    deceived: int | None
    case: str
    dim: int
    bits: int
    seed: int

    @classmethod
    def create(cls, protocol: str = "secagg", clients: int = 8, threshold: int | None = None,
               degree: int | None = None, *, active: bool = False, naive: bool = False,
               colluders: int = 0, colluders_from: str = "neighbours", target: int = 0,
               deceived: int | None = None, case: str = ALL_CASES, dim: int = 16,
               bits: int = 16, seed: int | None = None) -> "AttackSpec":
        """Validate the parameters, fill in the defaults and return a spec.

        Defaults: SecAgg+ uses the largest even degree up to ``clients / 2``.
        The threshold is ``floor(h / 2) + 1`` (semi-honest) or
        ``floor(2h / 3) + 1`` (active) for ``h = degree + 1`` share holders,
        the SecAgg defaults of :mod:`secagg.simulation` applied to one
        neighbourhood. A missing seed is drawn from the OS and reported.
        For ``ckks`` the threshold defaults to 2, and ``degree``, ``active``,
        ``naive``, ``colluders`` and ``colluders_from`` raise ValueError when set.
        """
        check_choice("protocol", protocol, PROTOCOLS)
        clients = check_int("clients", clients, minimum=3, maximum=2**16,
                            hint="an attack needs a target and at least two other clients")
        if protocol == CKKS:
            _reject_masking_options(degree=degree, active=active, naive=naive, colluders=colluders,
                                    colluders_from=colluders_from)
            degree = clients - 1
            threshold = check_int("threshold", CKKS_DEFAULT_MIN_CLIENTS if threshold is None
                                  else threshold, minimum=1, maximum=clients,
                                  hint="for ckks it is min_clients, the fewest clients whose "
                                       "sum the key holder decrypts")
        else:
            degree = _resolve_degree(protocol, clients, degree)
            holders = degree + 1
            if threshold is None:
                threshold = (2 * holders) // 3 + 1 if active else holders // 2 + 1
            threshold = check_int("threshold", threshold, minimum=1, maximum=holders,
                                  hint=f"each secret has {holders} share holders "
                                       "(the neighbours and the client itself)")
        target = check_int("target", target, minimum=0, maximum=clients - 1)
        check_choice("colluders_from", colluders_from, COLLUDER_GROUPS)
        available = degree if colluders_from == "neighbours" else clients - 1 - degree
        colluders = check_int("colluders", colluders, minimum=0, maximum=available,
                              hint=f"the target has {available} {colluders_from} "
                                   f"in a {protocol} graph of degree {degree}")
        if deceived is not None:
            deceived = check_int("deceived", deceived, minimum=0, maximum=clients - 1)
        dim = check_int("dim", dim, minimum=1, maximum=2**20)
        bits = check_int("bits", bits, minimum=1, maximum=MAX_INPUT_BITS)
        seed = secrets.randbits(32) if seed is None else check_int("seed", seed, minimum=0)
        return cls(protocol, clients, threshold, degree, bool(active), bool(naive), colluders,
                   colluders_from, target, deceived, case, dim, bits, seed)

    @property
    def config_degree(self) -> int | None:
        """The degree as :class:`MaskingConfig` takes it: None for the complete graph."""
        return None if self.degree == self.clients - 1 else self.degree


def _reject_masking_options(*, degree: int | None, active: bool, naive: bool, colluders: int,
                            colluders_from: str) -> None:
    """Raise ValueError for an option that only the masking protocols use."""
    for name, value, default in (("degree", degree, None), ("active", active, False),
                                 ("naive", naive, False), ("colluders", colluders, 0),
                                 ("colluders_from", colluders_from, "neighbours")):
        if value != default:
            hint = (". Every ckks client holds the secret key, and attack ckks-keyholder shows "
                    "what one client obtains" if name == "colluders" else "")
            raise ValueError(f"{name} applies to the masking protocols, not to ckks; "
                             f"remove it{hint}")


def _resolve_degree(protocol: str, clients: int, degree: int | None) -> int:
    if protocol == "secagg":
        if degree is not None and degree != clients - 1:
            raise ValueError(f"degree applies to secagg+ only: SecAgg connects every client "
                             f"to the other {clients - 1}, got degree {degree}")
        return clients - 1
    if clients < 4:
        raise ValueError(f"secagg+ needs at least 4 clients for a graph sparser than "
                         f"SecAgg's, got {clients}; use --protocol secagg")
    if degree is None:
        return max(2, (clients // 2) // 2 * 2)
    degree = check_int("degree", degree, minimum=2, maximum=clients - 2,
                       hint="a degree of clients - 1 is the complete graph; use --protocol secagg")
    if degree % 2:
        raise ValueError(f"degree must be even for a Harary graph, got {degree}; use {degree + 1}")
    return degree


@dataclass
class CaseOutcome:
    """One protocol run of an attack that tries several variants (``--case``)."""

    case: str
    description: str
    detected: bool
    aborted: bool
    aggregate_correct: bool
    explanation: str
    exclusions: list[Exclusion] = field(default_factory=list)
    """The server's exclusions of the adversarial client."""
    flagged_by: dict[int, str] = field(default_factory=dict)
    """Honest clients that rejected the adversarial client's shares, with their reason."""
    client_aborts: dict[int, str] = field(default_factory=dict)
    """Honest clients that aborted, with their reason."""
    abort_reason: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "case": self.case, "description": self.description, "detected": self.detected,
            "aborted": self.aborted, "aggregate_correct": self.aggregate_correct,
            "explanation": self.explanation,
            "exclusions": [exclusion_json(e) for e in self.exclusions],
            "flagged_by": {str(c): reason for c, reason in sorted(self.flagged_by.items())},
            "client_aborts": {str(c): reason for c, reason in sorted(self.client_aborts.items())},
            "abort_reason": self.abort_reason,
        }


@dataclass
class AttackReport:
    """Outcome of one attack: what the adversary obtained, compared with the ground truth.

    ``recovered_target``: the adversary computed the target's exact input.
    ``detected``: an honest party noticed the attack (it aborted, excluded or
    flagged the adversarial party). ``aborted``: the aggregation produced no
    output. ``aggregate_correct``: an output exists and equals the sum of the
    true inputs of the clients it claims to include.
    """

    attack: str
    protocol: str
    active: bool
    naive: bool
    clients: int
    threshold: int
    degree: int
    target: int
    colluders: int
    colluder_ids: list[int]
    recovered_target: bool
    detected: bool
    aborted: bool
    aggregate_correct: bool
    explanation: str
    seed: int
    details: dict[str, Any] = field(default_factory=dict)
    """Attack-specific facts: share counts, reconstruction results, exclusions."""
    cases: list[CaseOutcome] = field(default_factory=list)

    @classmethod
    def from_spec(cls, attack: str, spec: AttackSpec, *, recovered_target: bool, detected: bool,
                  aborted: bool, aggregate_correct: bool, explanation: str,
                  colluder_ids: list[int] | None = None, details: dict[str, Any] | None = None,
                  cases: list[CaseOutcome] | None = None) -> "AttackReport":
        colluder_ids = sorted(colluder_ids or [])
        return cls(attack, spec.protocol, spec.active, spec.naive, spec.clients, spec.threshold,
                   spec.degree, spec.target, len(colluder_ids), colluder_ids,
                   bool(recovered_target), bool(detected), bool(aborted), bool(aggregate_correct),
                   explanation, spec.seed, details or {}, cases or [])

    def to_json_dict(self) -> dict[str, Any]:
        document = {
            "attack": self.attack, "protocol": self.protocol, "active": self.active,
            "naive": self.naive, "clients": self.clients, "threshold": self.threshold,
            "degree": self.degree, "target": self.target, "colluders": self.colluders,
            "colluder_ids": self.colluder_ids, "recovered_target": self.recovered_target,
            "detected": self.detected, "aborted": self.aborted,
            "aggregate_correct": self.aggregate_correct, "explanation": self.explanation,
            "seed": self.seed, "details": self.details,
        }
        if self.cases:
            document["cases"] = [case.to_json_dict() for case in self.cases]
        return document


def exclusion_json(exclusion: Exclusion) -> dict[str, Any]:
    return {"client": exclusion.client, "round": exclusion.round.name,
            "reason": exclusion.reason.name, "detail": exclusion.detail}
