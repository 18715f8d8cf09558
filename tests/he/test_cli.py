"""``secagg simulate --protocol ckks``: the JSON report, and the error lines of invalid options."""

import json
import subprocess
import sys

import numpy as np
import pytest

from secagg.cli.main import main
from secagg.simulation import RunSpec, run

REQUIRED_KEYS = {"protocol", "clients", "dim", "bits", "modulus", "threshold", "degree", "active",
                 "included", "aborted", "abort_reason", "bytes", "expansion", "seconds", "correct",
                 "max_abs_error", "error_bound", "ckks"}


def run_json(capsys, *args):
    code = main(["simulate", "--protocol", "ckks", *args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else captured.err


def test_json_contract(capsys):
    code, doc = run_json(capsys, "--clients", "6", "--dim", "300", "--seed", "3")

    assert code == 0
    assert REQUIRED_KEYS <= set(doc)
    assert doc["correct"] is True
    assert doc["included"] == list(range(6))
    assert 0 < doc["max_abs_error"] <= doc["error_bound"]
    assert doc["expansion"] == pytest.approx(doc["bytes"]["client_upload_mean"] / (4 * 300))
    assert doc["ckks"]["ciphertexts_per_client"] == 1
    assert doc["ckks"]["key_holder"] == 0
    assert set(doc["bytes"]["by_type"]) == {"CKKS_CONTEXT", "CKKS_CIPHERTEXT", "UNMASKING_REQUEST",
                                            "UNMASKING_RESPONSE"}


def test_other_protocols_report_no_error_bound(capsys):
    code = main(["simulate", "--protocol", "plaintext", "--clients", "3", "--dim", "5", "--json"])
    doc = json.loads(capsys.readouterr().out)

    assert code == 0
    assert doc["max_abs_error"] is None
    assert doc["error_bound"] is None
    assert doc["ckks"] is None


@pytest.mark.parametrize("stage, included", [(0, 4), (1, 4), (2, 4), (3, 6), (4, 6)])
def test_drop_stage_semantics(capsys, stage, included):
    code, doc = run_json(capsys, "--clients", "6", "--dim", "20", "--drop-stage", str(stage),
                         "--drop-clients", "2,5")

    assert code == 0
    assert len(doc["included"]) == included
    assert doc["correct"] is True


def test_key_holder_drop_aborts(capsys):
    code, doc = run_json(capsys, "--clients", "4", "--dim", "20", "--key-holder", "3",
                         "--drop-clients", "3", "--drop-stage", "2")

    assert code == 0
    assert doc["aborted"] is True
    assert doc["abort_reason"].startswith("KEY_HOLDER_DROPPED: key holder client 3")
    assert doc["correct"] is False
    assert doc["max_abs_error"] is None


def test_authority_key_holder(capsys):
    code, doc = run_json(capsys, "--clients", "4", "--dim", "20", "--key-holder", "authority",
                         "--drop-clients", "0")

    assert code == 0
    assert doc["included"] == [1, 2, 3]
    assert doc["ckks"]["key_holder"] == "authority"
    assert "4" in doc["bytes"]["client_upload"]


def test_float_and_integer_inputs(tmp_path, capsys):
    floats = np.random.default_rng(0).uniform(-2, 2, (4, 10))
    integers = np.arange(40, dtype=np.uint16).reshape(4, 10)
    np.save(tmp_path / "f.npy", floats)
    np.save(tmp_path / "i.npy", integers)

    code, err = run_json(capsys, "--clients", "4", "--dim", "10", "--inputs", str(tmp_path / "f.npy"))
    assert code == 2
    assert "float inputs need a clipping range" in err

    code, doc = run_json(capsys, "--clients", "4", "--dim", "10", "--bits", "8",
                         "--inputs", str(tmp_path / "i.npy"), "--output", str(tmp_path / "o.npy"))
    assert code == 0
    assert doc["ckks"]["clip"] == 255.0
    assert np.allclose(np.load(tmp_path / "o.npy"), integers.sum(axis=0), atol=doc["error_bound"])


def test_clipped_inputs_reference_sum(tmp_path, capsys):
    floats = np.random.default_rng(1).uniform(-2, 2, (4, 10))
    np.save(tmp_path / "f.npy", floats)

    code, doc = run_json(capsys, "--clients", "4", "--dim", "10", "--clip", "1",
                         "--inputs", str(tmp_path / "f.npy"), "--output", str(tmp_path / "o.npy"))

    assert code == 0
    assert doc["correct"] is True
    assert np.allclose(np.load(tmp_path / "o.npy"), np.clip(floats, -1, 1).sum(axis=0), atol=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--clip", "1e6"], "the sum of 4 inputs at clip 1000000.0 can reach 4e+06, but coeff_mod_bit_sizes "
                        "[60, 40] with scale_bits = 40 decode magnitudes below 2**18"),
    (["--clip", "-1"], "clip must be a finite number > 0, got -1.0"),
    (["--active"], "active applies to the masking protocols, not to ckks"),
    (["--degree", "2"], "degree applies to the masking protocols, not to ckks"),
    (["--deterministic"], "deterministic is not available for ckks"),
    (["--key-holder", "9"], "--key-holder must be between 0 and 3, got 9; pass 'authority'"),
    (["--threshold", "5"], "threshold must be between 1 and 4, got 5"),
])
def test_invalid_options_exit_2(args, message):
    result = subprocess.run([sys.executable, "-m", "secagg.cli.main", "simulate", "--protocol", "ckks",
                             "--clients", "4", "--dim", "5", *args], capture_output=True, text=True)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]


def test_key_holder_rejected_for_masking(capsys):
    code = main(["simulate", "--protocol", "secagg", "--clients", "4", "--dim", "5",
                 "--key-holder", "authority"])

    assert code == 2
    assert "--key-holder applies to ckks only, not to secagg" in capsys.readouterr().err


def test_stdout_is_only_json_when_chunking():
    result = subprocess.run([sys.executable, "-m", "secagg.cli.main", "simulate", "--protocol", "ckks",
                             "--clients", "3", "--dim", "9000", "--seed", "1", "--json"],
                            capture_output=True, text=True)

    assert result.returncode == 0
    assert "WARNING" not in result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["ckks"]["ciphertexts_per_client"] == 3
    assert doc["correct"] is True


def test_run_spec_ckks_outcome():
    outcome = run(RunSpec("ckks", 5, 50, 16, seed=4, drop_clients=(1,)))

    assert outcome.result.included == [0, 2, 3, 4]
    assert outcome.aggregate.dtype == np.float64
    assert outcome.max_abs_error <= outcome.error_bound
    assert outcome.correct
