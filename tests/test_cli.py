import subprocess
import sys

import secagg
from secagg.cli.main import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"secagg {secagg.__version__}"


def test_selftest_passes(capsys):
    assert main(["selftest"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 8
    assert all(line.startswith("PASS") for line in lines)


def test_selftest_reports_failure(capsys, monkeypatch):
    from secagg import selftest

    def broken():
        raise AssertionError("mismatch")

    monkeypatch.setattr(selftest, "CHECKS", selftest.CHECKS + (selftest.Check("broken", broken),))
    assert main(["selftest"]) == 1
    assert "FAIL  broken: AssertionError: mismatch" in capsys.readouterr().out


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "secagg.cli.main", "selftest", "--help"],
                            capture_output=True, text=True, check=True)
    assert "known-answer" in result.stdout


def test_core_imports_without_extras():
    code = ("import sys; import secagg.primitives.shamir, secagg.primitives.prg, secagg.cli.main; "
            "bad = [m for m in ('torch', 'tenseal', 'sklearn', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
