import pytest

from secagg.adversaries import AttackSpec, run_attack
from secagg.adversaries.malformed import CASES
from secagg.adversaries.registry import ATTACKS

EXCLUDED = {
    "wrong-length": ("MASKED_INPUT_COLLECTION", "INVALID_CONTENT", "expected"),
    "garbage-message": ("SHARE_KEYS", "MALFORMED", "magic bytes"),
    "out-of-range-vector": ("MASKED_INPUT_COLLECTION", "INVALID_CONTENT", ">= R"),
    "out-of-range-share": ("UNMASKING", "INVALID_CONTENT", "field elements"),
    "foreign-shares": ("UNMASKING", "INVALID_CONTENT", "another sharing"),
    "garbage-ciphertexts": ("SHARE_RECEIPTS", "UNDECRYPTABLE_SHARES", "5 recipients"),
    "foreign-ciphertexts": ("SHARE_RECEIPTS", "UNDECRYPTABLE_SHARES", "5 recipients"),
}


def malformed(case, **options):
    report = run_attack("malformed", AttackSpec.create(seed=13, clients=6, case=case, **options))
    (outcome,) = report.cases
    return outcome


@pytest.mark.parametrize("active", [False, True])
@pytest.mark.parametrize("case", EXCLUDED)
def test_excluded_with_reason_and_exact(case, active):
    round_name, reason, detail = EXCLUDED[case]
    outcome = malformed(case, active=active)
    first = outcome.exclusions[0]
    assert (first.round.name, first.reason.name) == (round_name, reason)
    assert detail in first.detail
    assert outcome.detected
    assert not outcome.aborted
    assert outcome.aggregate_correct


@pytest.mark.parametrize("case", ["garbage-ciphertexts", "foreign-ciphertexts"])
def test_unreadable_share_ciphertexts_are_reported_by_every_recipient(case):
    # The server cannot read the ciphertexts; each recipient rejects its own
    # and reports it in its share receipt, before any masked input is summed.
    outcome = malformed(case)
    assert set(outcome.flagged_by) == {1, 2, 3, 4, 5}
    assert all("failed authentication" in reason for reason in outcome.flagged_by.values())
    assert outcome.aggregate_correct


def test_out_of_range_input_goes_unnoticed():
    outcome = malformed("out-of-range-input")
    assert not outcome.detected
    assert not outcome.aborted
    assert not outcome.aggregate_correct


def test_registry_lists_every_case():
    assert ATTACKS["malformed"].cases == tuple(case.name for case in CASES)


def test_replay_registry_lists_every_case():
    from secagg.adversaries.replay import CASES as REPLAY_CASES
    assert ATTACKS["replay"].cases == tuple(case.name for case in REPLAY_CASES)
