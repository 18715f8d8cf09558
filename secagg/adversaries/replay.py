"""Replay: messages of one aggregation are resent in the next.

Threat: an adversary that recorded an earlier aggregation among the same
clients (the network, the server, or a client replaying its own traffic)
resends one of its messages in a new aggregation. Every aggregation has a
fresh aggregation id and fresh keys, and every message header carries the
configuration digest (round 0) or the session id (later rounds), so a
replayed message names another session.

Steps:

1. Run a first aggregation honestly and record every message.
2. Run a second aggregation with a fresh configuration in which one message
   of the target client, or one server message to it, is replaced by the
   same message from the first aggregation.
3. Check who rejected it and whether the second aggregation's output is
   the exact sum of the clients it includes.
"""

from __future__ import annotations

from secagg.adversaries.cases import Case, case_outcome, report_cases, select_cases
from secagg.adversaries.harness import Driver, build_parties
from secagg.adversaries.report import AttackReport, AttackSpec, CaseOutcome
from secagg.protocols.base import Round

NAME = "replay"


def run(spec: AttackSpec) -> AttackReport:
    """Run the selected replay cases; see the module docstring."""
    selected = select_cases(spec, CASES)
    first = build_parties(spec, "aggregation-1")
    recorder = Driver(first)
    recorder.run()
    outcomes = [case.run(case, spec, recorder) for case in selected]
    return report_cases(NAME, spec, outcomes)


def _replay_upload(round_: Round):
    """Build a case that swaps the target's round-``round_`` message for its first-run one."""

    def run_case(case: Case, spec: AttackSpec, recorder: Driver) -> CaseOutcome:
        old = recorder.transcript.uploads[round_][spec.target]

        def tamper(current: Round, sender: int, message: bytes) -> bytes:
            return old if current is round_ and sender == spec.target else message

        second = build_parties(spec, "aggregation-2")
        result = Driver(second, tamper=tamper).run()
        return case_outcome(case, second, result, spec.target, adversarial={spec.target})

    return run_case


def _replay_download(case: Case, spec: AttackSpec, recorder: Driver) -> CaseOutcome:
    """Hand the target the first run's FORWARDED_SHARES in place of the second run's."""
    old = recorder.transcript.downloads[Round.SHARE_RECEIPTS][spec.target]

    def intercept(opened: Round, requests: dict[int, bytes]) -> dict[int, bytes]:
        if opened is Round.SHARE_RECEIPTS and spec.target in requests:
            requests[spec.target] = old
        return requests

    second = build_parties(spec, "aggregation-2")
    result = Driver(second, intercept=intercept).run()
    return case_outcome(case, second, result, spec.target, adversarial=set())


CASES = [
    Case("advertise-keys", "Client {client}'s round-0 ADVERTISE_KEYS of the previous aggregation "
         "replaced its new one.", _replay_upload(Round.ADVERTISE_KEYS)),
    Case("share-keys", "Client {client}'s round-1 SHARE_KEYS (its encrypted shares) of the "
         "previous aggregation replaced its new one.", _replay_upload(Round.SHARE_KEYS)),
    Case("share-receipt", "Client {client}'s round-1 SHARE_RECEIPT of the previous aggregation "
         "replaced its new one.", _replay_upload(Round.SHARE_RECEIPTS)),
    Case("masked-input", "Client {client}'s round-2 MASKED_INPUT of the previous aggregation "
         "replaced its new one.", _replay_upload(Round.MASKED_INPUT_COLLECTION)),
    Case("consistency-signature", "Client {client}'s round-3 CONSISTENCY_SIGNATURE of the "
         "previous aggregation replaced its new one.", _replay_upload(Round.CONSISTENCY_CHECK),
         active_only=True),
    Case("unmasking-response", "Client {client}'s round-4 UNMASKING_RESPONSE (its revealed "
         "shares) of the previous aggregation replaced its new one.",
         _replay_upload(Round.UNMASKING)),
    Case("server-message", "Client {client} received the FORWARDED_SHARES message of the "
         "previous aggregation in place of the new one.", _replay_download),
]
