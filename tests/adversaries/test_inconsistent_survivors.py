from secagg.adversaries import AttackSpec, run_attack


def split(**options):
    return run_attack("inconsistent-survivors", AttackSpec.create(seed=7, **options))


def test_semi_honest_split_recovers_input():
    report = split(clients=8, threshold=4)
    assert len(report.details["deceived"]) == 4
    assert report.recovered_target
    assert not report.detected
    assert report.aggregate_correct


def test_semi_honest_too_few_deceived_hides():
    report = split(clients=8, threshold=4, deceived=3)
    assert not report.recovered_target
    assert not report.detected
    assert report.details["shares_held"]["mask_key"] == 3


def test_semi_honest_default_threshold_blocks_split():
    # t = floor(n/2) + 1 leaves no two disjoint groups of t share holders.
    report = split(clients=8)
    assert not report.recovered_target


def test_colluders_lower_the_bar():
    report = split(clients=8, threshold=5, colluders=2)
    assert report.recovered_target


def test_active_consistency_check_detects():
    report = split(clients=8, active=True)
    assert not report.recovered_target
    assert report.detected
    assert all(client in report.details["deceived"]
               for ids in report.details["client_aborts"].values() for client in ids)
    assert any("consistency signatures, below the threshold" in reason
               for reason in report.details["client_aborts"])
    assert report.details["shares_held"]["mask_key"] == 0


def test_active_detects_too_few_deceived_at_low_threshold():
    report = split(clients=8, threshold=4, deceived=3, active=True)
    assert report.detected
    assert not report.recovered_target


def test_active_split_succeeds_without_majority_threshold():
    # With n >= 2t two disjoint groups can each collect t signatures on their own list.
    report = split(clients=8, threshold=4, active=True)
    assert report.recovered_target
    assert not report.detected


def test_secagg_plus_split_counts_neighbours_only():
    report = split(protocol="secagg+", clients=12, degree=6, threshold=3)
    assert set(report.details["deceived"]) | set(report.details["given_honest_list"]) <= \
        set(range(12)) - {report.target}
    assert len(report.details["deceived"]) + len(report.details["given_honest_list"]) == 6
    assert report.recovered_target
