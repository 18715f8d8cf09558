import pytest

from secagg.adversaries import AttackSpec, run_attack


def lie(**options):
    return run_attack("dropout-lie", AttackSpec.create(seed=5, **options))


@pytest.mark.parametrize("protocol", ["secagg", "secagg+"])
def test_honest_clients_refuse_second_kind(protocol):
    report = lie(protocol=protocol, clients=10)
    assert not report.recovered_target
    assert report.detected
    reasons = list(report.details["client_aborts"])
    assert len(reasons) == 1
    assert "after its MASK_KEY share was revealed" in reasons[0]
    # The lie alone yields the mask key, but the self mask keeps the input hidden.
    assert report.details["mask_key"].endswith("reconstructed")
    assert report.details["shares_held"]["self_mask_seed"] < report.threshold


@pytest.mark.parametrize("protocol", ["secagg", "secagg+"])
def test_naive_clients_reveal_both(protocol):
    report = lie(protocol=protocol, clients=10, naive=True)
    assert report.recovered_target
    assert not report.detected
    assert not report.aborted
    assert report.aggregate_correct


@pytest.mark.parametrize("naive", [False, True])
def test_active_variant_rejects_unsigned_list(naive):
    report = lie(active=True, naive=naive)
    assert not report.recovered_target
    assert report.detected
    assert report.details["mask_key_shares_from_lie"] == 0
    assert any("other survivors than the signed list" in r for r in report.details["client_aborts"])


def test_refusal_leaves_no_output():
    report = lie()
    assert report.aborted
    assert not report.aggregate_correct
    assert report.details["abort_reason"].startswith("TOO_FEW_CLIENTS")
