"""The bell2020 reproduction: the (k, t) table against Google's values and the results folder."""

import json

import pytest

from secagg.reproduce import bell2020, reproduce
from tests.protocols.test_graph_parameters import GOOGLE_CASES

PARAMETER_KEYS = {"clients", "gamma", "delta", "model", "degree", "threshold"}

# The degrees named in the reproduction's brief, n = 10**2 to 10**6.
BRIEF_DEGREES = {
    (0.05, 0.05, bell2020.SEMI_HONEST): [12, 30, 34, 36, 38],
    (0.05, 0.05, bell2020.SEMI_MALICIOUS): [16, 52, 62, 68, 74],
    (0.33, 0.33, bell2020.SEMI_HONEST): [68, 286, 422, 480, 518],
}


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bell2020")
    reproduce("bell2020", out, "tiny", log=lambda line: None)
    return out, json.loads((out / "results.json").read_text())


def test_parameter_table_equals_reference():
    rows = bell2020.parameter_table()

    assert len(rows) == len(bell2020.REFERENCE) * len(bell2020.TABLE_CLIENTS)
    mismatches = [row for row in rows if not row["match"]]
    assert mismatches == []


@pytest.mark.parametrize("pair", list(BRIEF_DEGREES))
def test_brief_degrees(pair):
    rows = [r for r in bell2020.parameter_table() if (r["gamma"], r["delta"], r["model"]) == pair]

    assert [r["degree"] for r in rows] == BRIEF_DEGREES[pair]


def test_reference_copies_google_cases():
    google = {(n, gamma, delta, bell2020.SEMI_MALICIOUS if active else bell2020.SEMI_HONEST):
              (degree, threshold)
              for n, gamma, delta, active, degree, threshold in GOOGLE_CASES}

    for (gamma, delta, model), values in bell2020.REFERENCE.items():
        for clients, value in zip(bell2020.TABLE_CLIENTS, values):
            assert google[(clients, gamma, delta, model)] == value


def test_secagg_plus_overhead_grows_slowly():
    rows = bell2020.communication_series()

    def overhead_growth(protocol, gamma):
        curve = [r for r in rows if r["protocol"] == protocol and r["gamma"] == gamma
                 and r["clients"] in (10**2, 10**6)]
        return curve[1]["overhead_bytes"] / curve[0]["overhead_bytes"]

    assert overhead_growth("secagg", None) > 5_000
    assert overhead_growth("secagg+", 0.05) < 5
    assert overhead_growth("secagg+", 0.33) < 10


def test_results_json_parameters(tiny_results):
    _, results = tiny_results

    assert results["paper"] == "bell2020"
    assert all(PARAMETER_KEYS <= set(row) for row in results["parameters"])
    assert {row["model"] for row in results["parameters"]} == {bell2020.SEMI_HONEST,
                                                              bell2020.SEMI_MALICIOUS}
    assert {"cpu", "versions", "date"} <= set(results["machine"])


def test_results_json_model_checks(tiny_results):
    _, results = tiny_results

    checked = {(c["protocol"], c["clients"]) for c in results["model_checks"]}
    assert checked == {(p, n) for p in ("secagg", "secagg+")
                       for n in bell2020.PLANS["tiny"]["check_clients"]}
    assert all(check["match"] for check in results["model_checks"])


def test_folder_has_table_and_figures(tiny_results):
    out, results = tiny_results

    for name in ("communication.png", "parameters.png"):
        assert name in results["figures"]
        assert (out / name).stat().st_size > 0
    table = (out / "results.md").read_text()
    assert f"**30 of 30 cells equal Google's values.**" in table
