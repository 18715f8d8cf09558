"""The attacks that ``secagg attack NAME`` runs, by name.

An attack is a module under :mod:`secagg.adversaries` with a function
``run(spec: AttackSpec) -> AttackReport``. Adding one takes that module and
one :class:`AttackEntry` in :data:`ATTACKS`. Modules are imported only when
their attack runs, so an attack may need an optional dependency (for
example an HE library) without the others needing it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from secagg.adversaries.report import ALL_CASES, CKKS, MASKING_PROTOCOLS, AttackReport, AttackSpec


@dataclass(frozen=True)
class AttackEntry:
    """How to find and describe one attack."""

    name: str
    module: str
    """Importable module that defines ``run(spec) -> AttackReport``."""
    summary: str
    protocols: tuple[str, ...] = MASKING_PROTOCOLS
    """Protocols the attack runs against; the first is its default."""
    uses_colluders: bool = False
    uses_deceived: bool = False
    cases: tuple[str, ...] = ()
    """Names accepted by ``--case`` besides "all"; empty if the attack has no cases."""


ATTACKS: dict[str, AttackEntry] = {entry.name: entry for entry in (
    AttackEntry("collusion", "secagg.adversaries.collusion",
                "a semi-honest server and C colluding clients pool their views to recover "
                "one client's input", uses_colluders=True),
    AttackEntry("dropout-lie", "secagg.adversaries.dropout_lie",
                "the server claims a client dropped after receiving its masked input and asks "
                "for both kinds of its shares", uses_colluders=True),
    AttackEntry("inconsistent-survivors", "secagg.adversaries.inconsistent_survivors",
                "the server sends different survivor lists to different clients to collect "
                "both kinds of one client's shares", uses_colluders=True, uses_deceived=True),
    AttackEntry("replay", "secagg.adversaries.replay",
                "messages of one aggregation are resent in the next",
                cases=("advertise-keys", "share-keys", "share-receipt", "masked-input",
                       "consistency-signature", "unmasking-response", "server-message")),
    AttackEntry("malformed", "secagg.adversaries.malformed",
                "one client sends wrong-length, garbage, foreign or out-of-range data",
                cases=("wrong-length", "garbage-message", "garbage-ciphertexts",
                       "foreign-ciphertexts", "foreign-shares", "out-of-range-vector",
                       "out-of-range-share", "out-of-range-input")),
    AttackEntry("ckks-server", "secagg.adversaries.ckks_server",
                "a server that keeps every ciphertext it relays tries to decrypt one client's "
                "input", protocols=(CKKS,)),
    AttackEntry("ckks-keyholder", "secagg.adversaries.ckks_keyholder",
                "a client, holding the secret key as every ckks client does, decrypts another "
                "client's intercepted upload", protocols=(CKKS,)),
)}


def get_attack(name: str) -> AttackEntry:
    """Return the registry entry of ``name``; raise ValueError listing the known names."""
    try:
        return ATTACKS[name]
    except KeyError:
        raise ValueError(f"unknown attack {name!r}; choose one of {', '.join(ATTACKS)}") from None


def check_spec(entry: AttackEntry, spec: AttackSpec) -> None:
    """Raise ValueError if ``spec`` sets an option that ``entry`` does not use."""
    if spec.protocol not in entry.protocols:
        others = [e.name for e in ATTACKS.values() if spec.protocol in e.protocols]
        raise ValueError(f"attack {entry.name!r} runs against {', '.join(entry.protocols)}, "
                         f"got protocol {spec.protocol!r}; the attacks on {spec.protocol} are "
                         f"{', '.join(others)}")
    if spec.colluders and not entry.uses_colluders:
        raise ValueError(f"attack {entry.name!r} has no colluders; drop --colluders")
    if spec.deceived is not None and not entry.uses_deceived:
        raise ValueError(f"attack {entry.name!r} takes no --deceived")
    if spec.case != ALL_CASES and spec.case not in entry.cases:
        if not entry.cases:
            raise ValueError(f"attack {entry.name!r} has no cases; drop --case")
        raise ValueError(f"case must be {ALL_CASES!r} or one of {', '.join(entry.cases)} for "
                         f"attack {entry.name!r}, got {spec.case!r}")


def run_attack(name: str, spec: AttackSpec) -> AttackReport:
    """Run the attack ``name`` with ``spec`` and return its report.

    Raises ValueError for an unknown name or an option the attack does not use.
    """
    entry = get_attack(name)
    check_spec(entry, spec)
    module = importlib.import_module(entry.module)
    return module.run(spec)
