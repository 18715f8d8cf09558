"""The he-vs-masking reproduction on its tiny grid."""

import json

import pytest

from secagg.reproduce import he_vs_masking, reproduce

pytest.importorskip("tenseal")


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("he-vs-masking")
    reproduce("he-vs-masking", out, "tiny", log=lambda line: None)
    return out, json.loads((out / "results.json").read_text())


def test_every_point_run_for_every_protocol(tiny_results):
    _, results = tiny_results
    plan = he_vs_masking.PLANS["tiny"]

    run = {(r["protocol"], r["bits"], r["clients"], r["dim"]) for r in results["runs"]}
    expected = {(protocol, None if protocol == "ckks" else bits, n, m)
                for protocol, bits in he_vs_masking.variants(plan)
                for n in plan["clients"] for m in plan["dims"]}
    assert run == expected
    assert len(results["runs"]) == len(expected)


def test_runs_correct_and_measured(tiny_results):
    _, results = tiny_results

    for row in results["runs"]:
        assert row["correct"], row
        assert row["client_s"] > 0
        assert row["input_upload_bytes"] <= row["client_upload_bytes"]


def test_ckks_costs_more_bytes_per_parameter(tiny_results):
    _, results = tiny_results
    largest = max(he_vs_masking.PLANS["tiny"]["dims"])

    at_largest = {r["protocol"]: r["bytes_per_parameter"] for r in results["runs"]
                  if r["dim"] == largest and r["clients"] == 5}
    assert at_largest["ckks"] > at_largest["secagg"]
    assert at_largest["ckks"] > at_largest["secagg+"]


def test_folder_has_table_and_figures(tiny_results):
    out, results = tiny_results

    assert results["figures"] == ["bytes_per_parameter.png", "time.png"]
    assert all((out / name).stat().st_size > 0 for name in results["figures"])
    assert "| CKKS | 5 |" in (out / "results.md").read_text()
