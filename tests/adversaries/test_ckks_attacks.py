"""The ckks-server and ckks-keyholder attacks: what each adversary obtains, and the CLI contract."""

import json

import pytest

from secagg.adversaries import AttackSpec, run_attack
from secagg.adversaries.report import CKKS_DEFAULT_MIN_CLIENTS
from secagg.cli.main import main
from secagg.he.config import DEFAULT_MIN_CLIENTS

REQUIRED_KEYS = {"attack", "protocol", "active", "naive", "clients", "threshold", "colluders",
                 "recovered_target", "detected", "aborted", "aggregate_correct", "explanation"}
SMALL = ["--clients", "4", "--dim", "8", "--seed", "2"]


def attack(name, **options):
    options = {"clients": 4, "dim": 8, "seed": 2, **options}
    return run_attack(name, AttackSpec.create("ckks", **options))


def run_cli(capsys, *args):
    code = main(["attack", *args])
    return code, capsys.readouterr()


def test_server_decryption_fails():
    report = attack("ckks-server")
    details = report.details

    assert not details["server_context_has_secret_key"]
    assert not details["server_context_has_public_key"]
    assert details["decryption_error"].startswith("ValueError: ")
    assert "secret_key" in details["decryption_error"]
    assert details["ciphertexts_seen"] == 4


def test_server_does_not_recover_target():
    report = attack("ckks-server", target=2)
    details = report.details

    assert not report.recovered_target
    assert details["sealed_contexts_relayed"] == 3
    assert details["sealed_contexts_loaded"] == 0
    assert not details["target_input_bytes_in_view"]
    assert details["sum_distance_to_target"] > details["tolerance"]
    assert "Decrypting client 2's ciphertext" in report.explanation


def test_server_run_stays_correct():
    report = attack("ckks-server")

    assert not report.detected
    assert not report.aborted
    assert report.aggregate_correct
    assert report.details["included"] == [0, 1, 2, 3]
    assert report.details["aggregate_max_abs_error"] <= report.details["aggregate_error_bound"]


def test_server_explanation_states_trust_limit():
    explanation = attack("ckks-server").explanation

    assert "the server learns only the sum, provided no key holder colludes with it" in explanation
    assert "every client is a key holder" in explanation


def test_keyholder_recovers_clipped_input():
    report = attack("ckks-keyholder")
    details = report.details

    assert report.recovered_target
    assert details["secret_context_opened"]
    assert details["max_abs_error"] <= details["tolerance"]
    # Some drawn values exceed the clip, so the decryption matches the clipped input only.
    assert details["target_values_clipped"] > 0
    assert details["max_abs_error_before_clipping"] > details["tolerance"]


def test_keyholder_is_undetected():
    report = attack("ckks-keyholder")

    assert not report.detected
    assert not report.aborted
    assert report.aggregate_correct
    assert "protects the inputs from the server only" in report.explanation


@pytest.mark.parametrize("target, adversary", [(0, 1), (1, 2), (3, 1)])
def test_keyholder_adversary_is_plain_client(target, adversary):
    report = attack("ckks-keyholder", target=target)

    assert report.details["key_holder"] == 0
    assert report.details["adversary"] == adversary
    assert report.recovered_target


def test_ckks_spec_defaults():
    spec = AttackSpec.create("ckks", clients=5)

    assert spec.threshold == CKKS_DEFAULT_MIN_CLIENTS == DEFAULT_MIN_CLIENTS
    assert spec.degree == 4
    assert spec.colluders == 0


def test_ckks_threshold_sets_min_clients():
    report = attack("ckks-server", threshold=4)

    assert report.threshold == 4
    assert report.aggregate_correct


@pytest.mark.parametrize("name", ["ckks-server", "ckks-keyholder"])
def test_cli_json_contract(capsys, name):
    code, captured = run_cli(capsys, name, *SMALL, "--json")
    document = json.loads(captured.out)

    assert code == 0
    assert REQUIRED_KEYS <= set(document)
    assert document["attack"] == name
    assert document["protocol"] == "ckks"
    assert (document["clients"], document["threshold"], document["degree"]) == (4, 2, 3)
    assert (document["active"], document["naive"], document["colluders"]) == (False, False, 0)
    assert document["recovered_target"] is (name == "ckks-keyholder")
    assert document["detected"] is False
    assert document["aborted"] is False
    assert document["aggregate_correct"] is True


def test_cli_accepts_explicit_protocol(capsys):
    code, captured = run_cli(capsys, "ckks-keyholder", "--protocol", "ckks", *SMALL, "--json")

    assert code == 0
    assert json.loads(captured.out)["recovered_target"] is True


def test_cli_text_summary(capsys):
    code, captured = run_cli(capsys, "ckks-server", *SMALL)
    lines = captured.out.splitlines()

    assert code == 0
    assert lines[0] == ("ckks-server against ckks: 4 clients, key holder client 0, min_clients 2, "
                        "target 0, seed 2")
    assert lines[1].startswith("recovered target: no")
    assert "Trust limit" in lines[2]


@pytest.mark.parametrize("args, message", [
    (["ckks-server", "--active"], "active applies to the masking protocols, not to ckks; remove it"),
    (["ckks-server", "--naive"], "naive applies to the masking protocols, not to ckks"),
    (["ckks-keyholder", "--degree", "2"], "degree applies to the masking protocols, not to ckks"),
    (["ckks-keyholder", "--colluders", "1"], "colluders applies to the masking protocols, not to ckks"),
    (["ckks-server", "--colluders-from", "non-neighbours"], "colluders_from applies to the masking"),
    (["ckks-server", "--deceived", "1"], "takes no --deceived"),
    (["ckks-server", "--case", "wrong-length"], "has no cases"),
    (["ckks-server", "--threshold", "9"], "threshold must be between 1 and 8, got 9"),
    (["ckks-server", "--protocol", "secagg"],
     "attack 'ckks-server' runs against ckks, got protocol 'secagg'"),
    (["collusion", "--protocol", "ckks"],
     "got protocol 'ckks'; the attacks on ckks are ckks-server, ckks-keyholder"),
    (["malformed", "--protocol", "ckks"], "attack 'malformed' runs against secagg, secagg+"),
])
def test_invalid_options_exit_2(capsys, args, message):
    code, captured = run_cli(capsys, *args)
    lines = captured.err.strip().splitlines()

    assert code == 2
    assert captured.out == ""
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("secagg attack: error: ")
    assert message in lines[0]
