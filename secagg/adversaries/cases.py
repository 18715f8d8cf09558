"""Attacks that try several variants, one protocol run each, selected with ``--case``.

Each variant ("case") makes one client, or the network in front of it,
misbehave in one way. The case's outcome records whether an honest party
noticed (the server excluded the client, a client flagged or aborted, or the
server aborted on inconsistent shares), whether the run aborted, and whether
the output is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from secagg.adversaries.harness import Parties, aggregate_correct, honest_aborts
from secagg.adversaries.report import ALL_CASES, AttackReport, AttackSpec, CaseOutcome
from secagg.protocols.base import AbortReason, AggregationResult, ExclusionReason


@dataclass(frozen=True)
class Case:
    """One variant of an attack: a name, a description and how to run it."""

    name: str
    description: str
    """One sentence; ``{client}`` is replaced by the client the case concerns."""
    run: Callable[..., CaseOutcome]
    active_only: bool = False


def select_cases(spec: AttackSpec, cases: list[Case]) -> list[Case]:
    """Return the cases that ``spec.case`` selects; raise ValueError for an unknown one."""
    applicable = [case for case in cases if spec.active or not case.active_only]
    if spec.case == ALL_CASES:
        return applicable
    for case in cases:
        if case.name == spec.case:
            if case not in applicable:
                raise ValueError(f"case {spec.case!r} applies to the active variant only; "
                                 "add --active")
            return [case]
    names = ", ".join(case.name for case in cases)
    raise ValueError(f"case must be {ALL_CASES!r} or one of {names}, got {spec.case!r}")


def case_outcome(case: Case, parties: Parties, result: AggregationResult, client: int, *,
                 adversarial: set[int]) -> CaseOutcome:
    """Summarise one case run: what the honest parties noticed about ``client``, and the output.

    ``adversarial`` are the clients whose aborts do not count as detection.
    """
    exclusions = [e for e in result.exclusions if e.client == client]
    noticed = [e for e in exclusions if e.reason is not ExclusionReason.DROPPED]
    flagged = {c.client_id: c.context.misbehaving[client] for c in parties.clients
               if client in c.context.misbehaving and c.client_id not in adversarial}
    aborts = honest_aborts(parties, adversarial)
    inconsistent = result.aborted and result.abort_reason is AbortReason.INCONSISTENT_SHARES
    correct = aggregate_correct(parties, result)
    abort_reason = (f"{result.abort_reason.name}: {result.abort_detail}" if result.aborted else None)

    description = case.description.format(client=client)
    parts = []
    if noticed:
        first = noticed[0]
        parts.append(f"the server excluded client {client} in round {first.round.name} "
                     f"({first.reason.name}: {first.detail or first.reason.value})")
    if flagged:
        parts.append(f"{_clients(len(flagged))} rejected its share ciphertexts "
                     f"({next(iter(flagged.values()))})")
    if aborts:
        parts.append(f"{_clients(len(aborts), 'honest ')} aborted ({next(iter(aborts.values()))})")
    if not (noticed or flagged or aborts or inconsistent):
        parts.append("nothing noticed it")
    if result.aborted:
        parts.append(f"the run aborted ({abort_reason})")
    elif correct:
        parts.append(f"the sum of the {len(result.included)} included clients is exact")
    else:
        parts.append("the output differs from the sum of the included clients' true inputs")
    explanation = f"{description} Then " + "; ".join(parts) + "."
    return CaseOutcome(case.name, description, bool(noticed or flagged or aborts or inconsistent),
                       result.aborted, correct, explanation, exclusions, flagged, aborts,
                       abort_reason)


def _clients(count: int, adjective: str = "") -> str:
    return f"{count} {adjective}client{'s' if count != 1 else ''}"


def report_cases(name: str, spec: AttackSpec, outcomes: list[CaseOutcome]) -> AttackReport:
    """Combine case outcomes: detected and exact only if every case is, aborted if any case is."""
    detected = all(o.detected for o in outcomes)
    aborted = any(o.aborted for o in outcomes)
    correct = all(o.aggregate_correct for o in outcomes)
    if len(outcomes) == 1:
        explanation = outcomes[0].explanation
    else:
        explanation = _summarise(outcomes)
    return AttackReport.from_spec(name, spec, recovered_target=False, detected=detected,
                                  aborted=aborted, aggregate_correct=correct,
                                  explanation=explanation, cases=outcomes)


def _summarise(outcomes: list[CaseOutcome]) -> str:
    handled = [o.case for o in outcomes if o.detected and o.aggregate_correct]
    aborted = [o.case for o in outcomes if o.aborted]
    unnoticed = [o.case for o in outcomes if not o.detected]
    wrong = [o.case for o in outcomes if not o.aborted and not o.aggregate_correct and o.detected]
    sentences = [f"{len(handled)} of {len(outcomes)} cases were noticed and left an exact sum"
                 + (f" ({', '.join(handled)})" if handled else "")]
    if aborted:
        sentences.append(f"the run aborted in {', '.join(aborted)}")
    if unnoticed:
        sentences.append(f"nothing noticed {', '.join(unnoticed)}")
    if wrong:
        sentences.append(f"the output was wrong in {', '.join(wrong)}")
    return "; ".join(sentences) + ". Each case gives its reasons."
