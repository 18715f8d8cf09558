import json
import subprocess
import sys

import pytest

from secagg.adversaries.registry import ATTACKS
from secagg.cli.main import main

REQUIRED_KEYS = {"attack", "protocol", "active", "naive", "clients", "threshold", "colluders",
                 "recovered_target", "detected", "aborted", "aggregate_correct", "explanation"}
SMALL = ["--clients", "5", "--dim", "4", "--seed", "1"]


def run_json(capsys, *args):
    code = main(["attack", *args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_every_attack_prints_the_json_contract(capsys, name):
    code, document = run_json(capsys, name, *SMALL)
    assert code == 0
    assert REQUIRED_KEYS <= set(document)
    assert document["attack"] == name
    assert document["clients"] == 5
    for key in ("recovered_target", "detected", "aborted", "aggregate_correct", "active", "naive"):
        assert isinstance(document[key], bool), key
    assert isinstance(document["explanation"], str) and document["explanation"]


def test_json_reflects_options(capsys):
    code, document = run_json(capsys, "collusion", "--protocol", "secagg+", "--clients", "10",
                              "--degree", "4", "--threshold", "3", "--colluders", "3",
                              "--active", "--seed", "2")
    assert code == 0
    assert (document["protocol"], document["active"], document["threshold"]) == ("secagg+", True, 3)
    assert document["colluders"] == 3
    assert len(document["colluder_ids"]) == 3
    assert document["recovered_target"] is True


def test_dropout_lie_naive_flag(capsys):
    _, refused = run_json(capsys, "dropout-lie", *SMALL)
    _, naive = run_json(capsys, "dropout-lie", *SMALL, "--naive")
    assert (refused["naive"], refused["recovered_target"], refused["detected"]) == (False, False, True)
    assert (naive["naive"], naive["recovered_target"], naive["detected"]) == (True, True, False)


def test_cases_in_json(capsys):
    code, document = run_json(capsys, "replay", *SMALL, "--case", "masked-input")
    assert code == 0
    assert [case["case"] for case in document["cases"]] == ["masked-input"]
    assert document["cases"][0]["exclusions"][0]["reason"] == "WRONG_SESSION"


def test_text_summary(capsys):
    assert main(["attack", "collusion", *SMALL, "--colluders", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("collusion against secagg (semi-honest): 5 clients")
    assert lines[1].startswith("recovered target: yes")


def exit_code_of(args):
    try:
        return main(["attack", *args])
    except SystemExit as exit_:
        return exit_.code


@pytest.mark.parametrize("args, message", [
    (["collusion", "--colluders", "9"], "colluders must be between 0 and 7, got 9"),
    (["collusion", "--clients", "2"], "clients must be between 3 and"),
    (["collusion", "--threshold", "0"], "threshold must be between 1 and 8, got 0"),
    (["collusion", "--protocol", "secagg+", "--degree", "3"], "degree must be even"),
    (["collusion", "--colluders", "1", "--colluders-from", "non-neighbours"],
     "the target has 0 non-neighbours"),
    (["replay", "--colluders", "1"], "has no colluders"),
    (["malformed", "--case", "nosuch"], "case must be 'all' or one of"),
    (["replay", "--case", "consistency-signature"], "applies to the active variant only"),
    (["dropout-lie", "--deceived", "2"], "takes no --deceived"),
    (["nosuch"], "invalid choice: 'nosuch'"),
    (["collusion", "--clients", "x"], "invalid int value: 'x'"),
])
def test_invalid_arguments_exit_2_with_one_line(capsys, args, message):
    assert exit_code_of(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("secagg attack: error: ")
    assert message in lines[0]


def test_console_script_reports_error_and_exit_status():
    result = subprocess.run([sys.executable, "-m", "secagg.cli.main", "attack", "collusion",
                             "--target", "8"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "secagg attack: error: target must be between 0 and 7, got 8"


def test_help_lists_attacks():
    result = subprocess.run([sys.executable, "-m", "secagg.cli.main", "attack", "--help"],
                            capture_output=True, text=True, check=True)
    for name in ATTACKS:
        assert name in result.stdout
