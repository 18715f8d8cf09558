"""``secagg reproduce``: argument errors and one run through the command."""

import json

import pytest

from secagg.cli.main import main
from secagg.reproduce import bell2020


def test_unknown_name_exits_2(capsys):
    assert main(["reproduce", "nope"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "secagg reproduce: error: unknown paper 'nope'; choose one of bonawitz2017, bell2020, "
        "he-vs-masking"]


def test_missing_name_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce"])

    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "secagg reproduce: error: the following arguments are required: NAME"]


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")

    assert main(["reproduce", "bell2020", "--out", str(blocker / "sub")]) == 2

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"secagg reproduce: error: cannot write the results to {blocker / 'sub'}")


def test_quick_run_writes_folder(tmp_path, monkeypatch):
    monkeypatch.setitem(bell2020.PLANS, "quick", bell2020.PLANS["tiny"])

    assert main(["reproduce", "bell2020", "--quick", "--out", str(tmp_path)]) == 0

    results = json.loads((tmp_path / "results.json").read_text())
    assert results["scale"] == "quick"
    assert results["command"] == f"secagg reproduce bell2020 --quick --out {tmp_path}"
    assert (tmp_path / "results.md").exists()
