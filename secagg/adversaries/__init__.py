"""Attacks on the aggregation protocols, run against the real protocol code.

Each attack replaces some parties of a real run by adversarial ones and
reports, in an :class:`AttackReport`, what the adversary obtained compared
with the ground truth. ``docs/threat-models.md`` lists what each protocol
variant protects against whom, with the attack that shows it.

Example::

    from secagg.adversaries import AttackSpec, run_attack

    report = run_attack("collusion", AttackSpec.create(clients=8, colluders=5, seed=1))
    print(report.recovered_target, report.explanation)
"""

from __future__ import annotations

from secagg.adversaries.registry import ATTACKS, AttackEntry, get_attack, run_attack
from secagg.adversaries.report import AttackReport, AttackSpec, CaseOutcome

__all__ = ["ATTACKS", "AttackEntry", "AttackReport", "AttackSpec", "CaseOutcome", "get_attack",
           "run_attack"]
