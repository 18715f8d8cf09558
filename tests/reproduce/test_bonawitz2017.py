"""The bonawitz2017 reproduction: expansion at the published settings and the results folder."""

import json

import pytest

from secagg.protocols.graph_parameters import find_graph_parameters
from secagg.reproduce import bonawitz2017, reproduce

EXPANSION_KEYS = {"protocol", "clients", "dim", "bits", "expansion", "published"}


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bonawitz2017")
    reproduce("bonawitz2017", out, "tiny", log=lambda line: None)
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("clients, dim, published", [(2**10, 2**20, 1.73), (2**14, 2**24, 1.98)])
def test_secagg_expansion_near_published(clients, dim, published):
    row = bonawitz2017.expansion_row("secagg", clients, dim, 16)

    assert row["published"] == published
    assert row["expansion"] == pytest.approx(published, rel=0.05)
    assert row["element_bits"] == 16 + (clients - 1).bit_length()


def test_expansion_table_covers_settings():
    rows = bonawitz2017.expansion_table()

    settings = {(r["protocol"], r["clients"], r["dim"]) for r in rows}
    assert settings == {(protocol, n, m) for n, m in bonawitz2017.EXPANSION_SETTINGS
                        for protocol in ("secagg", "secagg+")}
    assert all(EXPANSION_KEYS <= set(r) for r in rows)
    assert all(r["bits"] == 16 for r in rows)


def test_published_only_at_paper_settings():
    for row in bonawitz2017.expansion_table():
        expected = bonawitz2017.PUBLISHED_EXPANSION.get((row["clients"], row["dim"]))
        if row["protocol"] == "secagg+":
            expected = None
        assert row["published"] == expected, row


def test_secagg_plus_degree_from_parameter_rule():
    row = bonawitz2017.expansion_row("secagg+", 2**14, 2**24, 16)

    assert row["degree"] == find_graph_parameters(2**14, 0.05, 0.05).degree
    assert row["expansion"] < bonawitz2017.expansion_row("secagg", 2**14, 2**24, 16)["expansion"]


def test_per_peer_upload_sums_parts():
    ours = bonawitz2017.per_peer_upload()["ours"]

    assert ours["total"] == ours["encrypted_share_pair"] + ours["unmasking_share"]


def test_timing_points_are_distinct():
    plan = {"sweeps": [{"vary": "clients", "values": [10, 20], "dim": 100, "dropout": 0.0},
                       {"vary": "dim", "values": [100, 200], "clients": 10, "dropout": 0.0},
                       {"vary": "dropout", "values": [0.0, 0.3], "clients": 10, "dim": 100},
                       {"vary": "dropout", "values": [0.0, 0.3], "clients": 20, "dim": 100}]}

    points = bonawitz2017.timing_points(plan)

    keys = [(p["clients"], p["dim"], p["dropout"]) for p in points]
    assert keys == [(10, 100, 0.0), (10, 100, 0.3), (10, 200, 0.0), (20, 100, 0.0),
                    (20, 100, 0.3)]
    assert points[0]["sweeps"] == ["A", "B", "C"]
    assert points[3]["sweeps"] == ["A", "D"]


def test_results_json_structure(tiny_results):
    out, results = tiny_results

    assert results["paper"] == "bonawitz2017"
    assert results["scale"] == "tiny"
    assert {"cpu", "cores", "versions", "date"} <= set(results["machine"])
    assert all(EXPANSION_KEYS <= set(row) for row in results["expansion"])
    assert len(results["expansion"]) == 2 * len(bonawitz2017.EXPANSION_SETTINGS)
    assert results["duration_s"] > 0


def test_results_record_points_run(tiny_results):
    _, results = tiny_results
    plan = bonawitz2017.PLANS["tiny"]

    expected = [(p["clients"], p["dim"], p["dropout"]) for p in bonawitz2017.timing_points(plan)]
    run = [(r["clients"], r["dim"], r["dropout"]) for r in results["timing"]]
    assert run == expected
    assert all(r["correct"] for r in results["timing"])
    assert all(r["client_s"] > 0 and r["server_s"] > 0 for r in results["timing"])


def test_model_checks_match(tiny_results):
    _, results = tiny_results

    assert len(results["model_checks"]) == len(bonawitz2017.PLANS["tiny"]["model_checks"])
    assert all(check["match"] for check in results["model_checks"])


def test_folder_has_table_and_figures(tiny_results):
    out, results = tiny_results

    assert results["figures"] == ["expansion.png", "timing.png"]
    for name in results["figures"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (out / "results.md").read_text()
    assert "| secagg | 2^10 | 2^20 |" in table
    assert "Published points outside this plan" in table
