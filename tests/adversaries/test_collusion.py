import pytest

from secagg.adversaries import AttackSpec, run_attack


def collude(**options):
    return run_attack("collusion", AttackSpec.create(seed=3, **options))


@pytest.mark.parametrize("active", [False, True])
def test_secagg_threshold_colluders_recover(active):
    spec_threshold = AttackSpec.create(active=active).threshold
    report = collude(active=active, colluders=spec_threshold)
    assert report.recovered_target
    assert report.details["shares_held"]["mask_key"] == spec_threshold
    assert report.details["pairwise_masks_from"] == "mask key"
    assert not report.detected
    assert report.aggregate_correct


@pytest.mark.parametrize("active", [False, True])
def test_secagg_one_below_threshold_hides(active):
    spec_threshold = AttackSpec.create(active=active).threshold
    report = collude(active=active, colluders=spec_threshold - 1)
    assert not report.recovered_target
    assert report.details["shares_held"]["mask_key"] == spec_threshold - 1
    assert "Shamir reconstruction rejects them" in report.details["mask_key"]
    assert not report.details["mask_key_guess_is_key"]
    assert "below the threshold" in report.explanation
    assert report.aggregate_correct


def test_server_alone_holds_no_key_share():
    report = collude(colluders=0)
    assert not report.recovered_target
    assert report.details["shares_held"]["mask_key"] == 0
    # The target survived, so the honest unmasking gave the server its self-mask seed.
    assert report.details["self_mask_seed"].endswith("reconstructed")


def test_secagg_plus_neighbour_colluders_recover():
    report = collude(protocol="secagg+", clients=10, degree=4, threshold=3, colluders=3)
    assert report.recovered_target
    assert len(report.details["colluding_neighbours"]) == 3
    assert set(report.colluder_ids) <= set(report.details["target_neighbours"])


def test_secagg_plus_non_neighbours_do_not_count():
    report = collude(protocol="secagg+", clients=10, degree=4, threshold=3, colluders=5,
                     colluders_from="non-neighbours")
    assert not report.recovered_target
    assert report.details["colluding_neighbours"] == []
    assert report.details["shares_held"]["mask_key"] == 0
    assert not set(report.colluder_ids) & set(report.details["target_neighbours"])


def test_secagg_plus_below_threshold_neighbours_hide():
    report = collude(protocol="secagg+", clients=10, degree=4, threshold=3, colluders=2)
    assert not report.recovered_target
    assert report.details["shares_held"]["mask_key"] == 2


def test_all_neighbours_colluding_expose_target_below_threshold():
    report = collude(protocol="secagg+", clients=10, degree=4, threshold=5, colluders=4)
    assert report.details["shares_held"]["mask_key"] == 4
    assert report.recovered_target
    assert report.details["pairwise_masks_from"] == "colluding neighbours"


def test_target_option_moves_the_victim():
    report = collude(target=5, colluders=5)
    assert report.target == 5
    assert 5 not in report.colluder_ids
    assert report.recovered_target
