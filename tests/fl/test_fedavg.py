import json
import re
import subprocess
import sys

import pytest

from secagg.cli.main import main
from secagg.fl.fedavg import FedAvgConfig, run_fedavg
from secagg.simulation import PROTOCOLS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_secure_accuracy_matches_plaintext(protocol):
    result = run_fedavg(FedAvgConfig(protocol=protocol, rounds=3, dropout_rate=0.2, seed=1))

    assert len(result.records) == 3
    assert result.final_accuracy > 0.8
    assert abs(result.final_accuracy - result.plaintext_accuracy) <= 0.005
    for record in result.records:
        assert abs(record.accuracy - record.plaintext_accuracy) <= 0.005


def test_label_skew_accuracy_matches_plaintext():
    result = run_fedavg(FedAvgConfig(split="label-skew", rounds=3, hospitals=4, seed=2))

    assert abs(result.final_accuracy - result.plaintext_accuracy) <= 0.005


def test_dropped_hospitals_are_excluded():
    result = run_fedavg(FedAvgConfig(protocol="secagg", rounds=6, dropout_rate=0.3, seed=3))

    assert any(record.dropped for record in result.records)
    for record in result.records:
        if not record.aborted:
            assert record.included == sorted(set(range(5)) - set(record.dropped))


def test_aborted_round_keeps_both_models():
    # With seed 0 at dropout rate 0.6, every hospital drops in round 4.
    result = run_fedavg(FedAvgConfig(protocol="secagg+", rounds=4, dropout_rate=0.6, seed=0))

    aborted = [record for record in result.records if record.aborted]
    assert aborted, "expected at least one aborted round at dropout rate 0.6"
    assert result.rounds_aborted == len(aborted)
    for record in aborted:
        assert record.included == []
        assert record.abort_reason
        if record.round > 1:
            previous = result.records[record.round - 2]
            assert record.accuracy == previous.accuracy
            assert record.plaintext_accuracy == previous.plaintext_accuracy


def test_same_seed_same_run():
    config = FedAvgConfig(rounds=3, seed=4, deterministic=True)

    first, second = run_fedavg(config), run_fedavg(config)

    assert [r.accuracy for r in first.records] == [r.accuracy for r in second.records]
    assert [r.dropped for r in first.records] == [r.dropped for r in second.records]
    assert first.bytes_total == second.bytes_total


@pytest.mark.parametrize("kwargs, error, message", [
    ({"protocol": "fhe"}, ValueError, "protocol must be one of"),
    ({"rounds": 0}, ValueError, "rounds must be >= 1, got 0"),
    ({"hospitals": 1}, ValueError, "hospitals must be >= 2, got 1"),
    ({"dropout_rate": 1.0}, ValueError, r"dropout_rate must be a number in \[0, 1\), got 1.0"),
    ({"dropout_rate": "0.1"}, ValueError, "dropout_rate must be a number"),
    ({"clip": -1.0}, ValueError, "clip must be a finite number > 0"),
    ({"bits": 64}, ValueError, "bits must be between 1 and 52"),
    ({"learning_rate": 0}, ValueError, "learning_rate must be a finite number > 0"),
])
def test_invalid_config_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        FedAvgConfig(**kwargs)


def test_cli_json_contract(tmp_path, capsys):
    code = main(["fedavg", "--rounds", "3", "--hospitals", "4", "--seed", "5", "--json",
                 "--out", str(tmp_path)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    assert captured.out.count("\n") == 1
    assert document["protocol"] == "secagg+"
    assert document["hospitals"] == 4
    assert document["rounds"] == 3
    assert 0.0 <= document["final_accuracy"] <= 1.0
    assert abs(document["final_accuracy"] - document["plaintext_accuracy"]) <= 0.005
    assert document["rounds_aborted"] == sum(r["aborted"] for r in document["per_round"])
    assert document["bytes_total"] == sum(r["bytes"] for r in document["per_round"])
    assert document["bytes_total"] > 0
    assert len(document["per_round"]) == 3

    json_path, png_path = tmp_path / "fedavg-secagg+.json", tmp_path / "fedavg-secagg+.png"
    assert document["files"] == {"json": str(json_path), "png": str(png_path)}
    assert json.loads(json_path.read_text()) == document
    assert png_path.read_bytes().startswith(PNG_SIGNATURE)


def test_cli_prints_one_row_per_round(tmp_path, capsys):
    code = main(["fedavg", "--protocol", "plaintext", "--rounds", "2", "--out", str(tmp_path)])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].startswith("FedAvg with plaintext: 5 hospitals (iid), 2 rounds")
    assert lines[1].split()[:3] == ["round", "accuracy", "plaintext"]
    assert [line.split()[0] for line in lines[2:4]] == ["1", "2"]
    assert lines[4].startswith("final test accuracy")
    assert (tmp_path / "fedavg-plaintext.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["--dropout-rate", "1.5"], r"--dropout-rate must be a number in \[0, 1\), got 1.5"),
    (["--hospitals", "100"], "hospitals must be between 2 and 56, got 100"),
    (["--rounds", "0"], "rounds must be >= 1, got 0"),
    (["--bits", "60"], "bits must be between 1 and 52, got 60"),
    (["--clip", "0"], "clip must be a finite number > 0"),
])
def test_cli_rejects_invalid_options(tmp_path, capsys, argv, message):
    code = main(["fedavg", "--json", "--out", str(tmp_path), *argv])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith("secagg fedavg: error: ")
    assert len(captured.err.splitlines()) == 1
    assert re.search(message, captured.err)


def test_cli_rejects_out_file(tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("")

    code = main(["fedavg", "--rounds", "1", "--out", str(target)])

    assert code == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_cli_names_the_extras_when_torch_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)

    code = main(["fedavg", "--rounds", "1", "--json", "--out", str(tmp_path)])

    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("secagg fedavg: error: torch is not installed, and secagg fedavg "
                           "needs it; install the extras with: pip install -e \".[all]\"")


def test_core_imports_without_extras():
    code = ("import sys; import secagg.fl, secagg.fl.fedavg, secagg.fl.plot, secagg.cli.fedavg; "
            "from secagg.cli.main import build_parser; build_parser(); "
            "bad = [m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif("ckks" not in PROTOCOLS, reason="the ckks protocol is not available")
def test_cli_reports_ckks_without_deterministic(tmp_path, capsys):
    code = main(["fedavg", "--protocol", "ckks", "--deterministic", "--rounds", "1",
                 "--out", str(tmp_path)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "deterministic is not available for ckks" in captured.err
