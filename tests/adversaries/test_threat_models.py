"""Every command in docs/threat-models.md must produce the result its table states."""

import contextlib
import io
import json
import pathlib
import re
import shlex

import pytest

from secagg.cli.main import main

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "threat-models.md"
ROW = re.compile(r"^\|.*\| `secagg (attack [^`]+)` \| (.+) \|$")
RESULT = re.compile(r"`([\w.]+): (true|false|\d+)`")


def documented_claims():
    claims = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            expected = {key: json.loads(value) for key, value in RESULT.findall(match.group(2))}
            claims.append(pytest.param(match.group(1), expected, id=match.group(1)[7:]))
    return claims


def lookup(document, dotted):
    for key in dotted.split("."):
        document = document[key]
    return document


def test_doc_has_claims():
    assert len(documented_claims()) >= 30


@pytest.mark.parametrize("command, expected", documented_claims())
def test_documented_result_holds(command, expected):
    assert expected, f"no result stated for {command}"
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main([*shlex.split(command), "--json"])
    assert code == 0
    document = json.loads(output.getvalue())
    for key, value in expected.items():
        assert lookup(document, key) == value, f"{key}: {document['explanation']}"
