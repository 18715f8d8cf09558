import pytest

from secagg.adversaries import AttackSpec, run_attack

UPLOAD_CASES = {
    "advertise-keys": "ADVERTISE_KEYS",
    "share-keys": "SHARE_KEYS",
    "share-receipt": "SHARE_RECEIPTS",
    "masked-input": "MASKED_INPUT_COLLECTION",
    "unmasking-response": "UNMASKING",
}


def replay(**options):
    return run_attack("replay", AttackSpec.create(seed=11, clients=6, **options))


@pytest.mark.parametrize("protocol", ["secagg", "secagg+"])
@pytest.mark.parametrize("case, round_name", UPLOAD_CASES.items())
def test_replayed_client_message_is_wrong_session(protocol, case, round_name):
    report = replay(protocol=protocol, case=case)
    (outcome,) = report.cases
    reasons = [(e.round.name, e.reason.name) for e in outcome.exclusions]
    assert (round_name, "WRONG_SESSION") in reasons
    assert outcome.detected
    assert not outcome.aborted
    assert outcome.aggregate_correct


def test_replayed_consistency_signature_is_wrong_session():
    report = replay(active=True, case="consistency-signature")
    (outcome,) = report.cases
    assert [(e.round.name, e.reason.name) for e in outcome.exclusions] == \
        [("CONSISTENCY_CHECK", "WRONG_SESSION")]
    assert outcome.aggregate_correct


def test_replayed_server_message_makes_client_abort():
    report = replay(case="server-message", target=2)
    (outcome,) = report.cases
    assert list(outcome.client_aborts) == [2]
    assert "another session" in outcome.client_aborts[2]
    assert outcome.aggregate_correct


@pytest.mark.parametrize("active", [False, True])
def test_all_cases_leave_exact_aggregate(active):
    report = replay(active=active)
    assert len(report.cases) == (7 if active else 6)
    assert report.detected
    assert not report.aborted
    assert report.aggregate_correct
    assert not report.recovered_target
