import json
import subprocess
import sys

import numpy as np
import pytest

from secagg.cli.main import main


def run_json(capsys, *args):
    code = main(["simulate", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else out


REQUIRED_KEYS = {"protocol", "clients", "dim", "bits", "modulus", "threshold", "degree", "active",
                 "included", "aborted", "abort_reason", "bytes", "expansion", "seconds", "correct"}


@pytest.mark.parametrize("protocol", ["secagg", "secagg+", "plaintext"])
def test_simulate_json_contract(capsys, protocol):
    code, doc = run_json(capsys, "--protocol", protocol, "--clients", "12", "--dim", "50",
                         "--seed", "3")
    assert code == 0
    assert REQUIRED_KEYS <= set(doc)
    assert doc["correct"] is True
    assert doc["included"] == list(range(12))
    assert {"client_upload_mean", "client_upload_max", "client_download_mean",
            "client_download_max", "server_sent", "server_received", "rounds"} <= set(doc["bytes"])
    assert {"rounds", "client_mean", "server"} <= set(doc["seconds"])


@pytest.mark.parametrize("stage, included", [(0, 10), (1, 10), (2, 10), (3, 12), (4, 12)])
def test_drop_stage_semantics(capsys, stage, included):
    code, doc = run_json(capsys, "--protocol", "secagg", "--clients", "12", "--dim", "20",
                         "--drop-stage", str(stage), "--drop-clients", "3,7", "--active")
    assert code == 0
    assert len(doc["included"]) == included
    assert doc["correct"] is True


def test_integer_inputs_sum_exactly(tmp_path, capsys):
    inputs = np.random.default_rng(0).integers(0, 2**12, (8, 30), dtype=np.uint16)
    np.save(tmp_path / "in.npy", inputs)
    code, doc = run_json(capsys, "--protocol", "secagg", "--clients", "8", "--dim", "30",
                         "--bits", "12", "--inputs", str(tmp_path / "in.npy"),
                         "--output", str(tmp_path / "out.npy"), "--drop-clients", "5")
    assert code == 0
    out = np.load(tmp_path / "out.npy")
    assert out.dtype.kind == "u"
    assert np.array_equal(out, inputs[doc["included"]].astype(np.uint64).sum(axis=0))


def test_float_inputs_are_encoded(tmp_path, capsys):
    inputs = np.random.default_rng(0).uniform(-1, 1, (8, 30))
    np.save(tmp_path / "in.npy", inputs)
    code, doc = run_json(capsys, "--protocol", "secagg+", "--clients", "8", "--dim", "30",
                         "--bits", "16", "--clip", "1.0", "--inputs", str(tmp_path / "in.npy"),
                         "--output", str(tmp_path / "out.npy"))
    assert code == 0
    out = np.load(tmp_path / "out.npy")
    step = 2.0 / (2**16 - 1)
    assert np.max(np.abs(out - inputs.sum(axis=0))) <= 8 * step


@pytest.mark.parametrize("make, match", [
    (lambda: np.full((4, 5), 2**8), "is outside \\[0, 2\\*\\*8\\)"),
    (lambda: np.where(np.eye(4, 5) > 0, np.nan, 0.0), "is nan"),
    (lambda: np.zeros((4, 6), dtype=np.uint8), "shape \\(4, 5\\)"),
])
def test_invalid_inputs_exit_2(tmp_path, make, match):
    np.save(tmp_path / "in.npy", make())
    result = subprocess.run([sys.executable, "-m", "secagg.cli.main", "simulate", "--clients", "4",
                             "--dim", "5", "--bits", "8", "--clip", "1", "--inputs",
                             str(tmp_path / "in.npy")], capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert pytest.importorskip("re").search(match, lines[0])


def test_clean_abort_exits_0(capsys):
    code, doc = run_json(capsys, "--protocol", "secagg", "--clients", "6", "--dim", "5",
                         "--threshold", "4", "--drop-clients", "0,1,2", "--drop-stage", "2")
    assert code == 0
    assert doc["aborted"] is True
    assert doc["abort_reason"].startswith("TOO_FEW_CLIENTS")
    assert doc["correct"] is False


def test_bad_threshold_exits_2(capsys):
    assert main(["simulate", "--protocol", "secagg", "--clients", "6", "--dim", "5",
                 "--threshold", "9"]) == 2
    assert "--threshold must be between 1 and 6, got 9" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, message", [
    ("--dropout-rate", "1.5", "--dropout-rate must be in [0, 1), got 1.5"),
    ("--drop-clients", "7", "--drop-clients must be ids in 0..5, got [7]"),
    ("--dim", "0", "--dim must be >= 1, got 0"),
])
def test_errors_name_the_option(capsys, option, value, message):
    arguments = {"--clients": "6", "--dim": "5", option: value}
    assert main(["simulate", *[item for pair in arguments.items() for item in pair]]) == 2
    assert capsys.readouterr().err == f"secagg simulate: error: {message}\n"


def test_text_output_shows_rounds(capsys):
    assert main(["simulate", "--protocol", "secagg", "--clients", "6", "--dim", "5"]) == 0
    out = capsys.readouterr().out
    assert "round 4 UNMASKING" in out
    assert "correct: True" in out


def test_network_model_reports_wall_clock(capsys):
    code, doc = run_json(capsys, "--protocol", "secagg", "--clients", "6", "--dim", "100",
                         "--latency-ms", "30", "--deadline", "5")
    assert code == 0
    assert doc["correct"] is True
    assert doc["estimated_wall_clock_s"]["total"] > 4 * 0.03


def test_deadline_drops_slow_uploads(capsys):
    # 100,000 elements at 19 bits is about 240 kB: 1.9 s at 1 Mbit/s, past a 1 s deadline.
    code, doc = run_json(capsys, "--protocol", "secagg", "--clients", "6", "--dim", "100000",
                         "--latency-ms", "10", "--uplink-mbps", "1", "--deadline", "1")
    assert code == 0
    assert doc["aborted"] is True
    assert doc["abort_reason"].startswith("TOO_FEW_CLIENTS: MASKED_INPUT_COLLECTION")


def test_deadline_without_network_model_exits_2(capsys):
    assert main(["simulate", "--clients", "6", "--dim", "5", "--deadline", "1"]) == 2
    assert "--deadline needs the network model" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--threshold", "0"], "threshold must be between 1 and 10, got 0"),
    (["--protocol", "secagg", "--degree", "2"], "degree applies to secagg+ only"),
    (["--protocol", "secagg+", "--degree", "20"], "degree must be between 2 and 9, got 20"),
    (["--protocol", "plaintext", "--active"], "active does not apply to the plaintext protocol"),
    (["--drop-clients", "1,1"], "--drop-clients lists a client twice"),
    (["--output", "out.txt"], "--output out.txt: the file name must end in .npy"),
    (["--output", "missing-folder/out.npy"], "folder missing-folder does not exist"),
    (["--inputs", "missing.npy"], "--inputs missing.npy: file not found"),
])
def test_invalid_options_exit_2(capsys, args, message):
    assert main(["simulate", "--clients", "10", "--dim", "10", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_huge_run_rejected_before_allocating(capsys):
    assert main(["simulate", "--clients", "3000", "--dim", "100000000000"]) == 2
    assert "for the inputs alone" in capsys.readouterr().err


def test_clipped_floats_are_counted(tmp_path, capsys):
    inputs = np.array([[0.5, 3.0], [-2.0, 0.1], [0.0, 0.0]])
    np.save(tmp_path / "in.npy", inputs)
    code, doc = run_json(capsys, "--protocol", "secagg", "--clients", "3", "--dim", "2",
                         "--clip", "1", "--inputs", str(tmp_path / "in.npy"))
    assert code == 0
    assert doc["clipped"] == 2
