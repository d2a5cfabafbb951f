"""The symptom bot's Lambda package (examples/symptom_bot/build.py): exactly the dialog and the
code hook's modules, importable without any third-party package, answering as the repository's
own code does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.local.sample_bot.conditions import DATA_FILE, catalog
from examples.symptom_bot import EXAMPLE_DIR
from examples.symptom_bot.build import DEFAULT_OUT, MARKER, build, main
from examples.symptom_bot.handler import handle
from tests.support.servers import ROOT

EVENT = EXAMPLE_DIR / "events" / "match-symptom-filled.json"
STANDARD_LIBRARY_ONLY = [
    "bridge.local.sample_bot.turn",
    "bridge.local.sample_bot.conditions",
    "bridge.local.sample_bot.wording",
    "bridge.local.sample_bot.matching",
    "bridge.local.sample_bot.session",
    "bridge.local.sample_bot.answers",
    "bridge.local.sample_bot.diagnostics",
    "bridge.local.sample_bot.symptoms",
    "bridge.messenger.text",
    "examples.symptom_bot.lexv2",
    "examples.symptom_bot.items",
]


def test_the_package_holds_the_dialog_and_the_code_hook(tmp_path: Path) -> None:
    out = tmp_path / "lambda"
    files = build(out)
    assert files == [
        "bridge/__init__.py",
        "bridge/local/__init__.py",
        "bridge/local/sample_bot/__init__.py",
        "bridge/local/sample_bot/answers.py",
        "bridge/local/sample_bot/conditions.py",
        "bridge/local/sample_bot/diagnostics.py",
        "bridge/local/sample_bot/matching.py",
        "bridge/local/sample_bot/session.py",
        "bridge/local/sample_bot/symptoms.py",
        "bridge/local/sample_bot/turn.py",
        "bridge/local/sample_bot/wording.py",
        "bridge/messenger/__init__.py",
        "bridge/messenger/text.py",
        "examples/__init__.py",
        "examples/symptom_bot/__init__.py",
        "examples/symptom_bot/dynamo.py",
        "examples/symptom_bot/handler.py",
        "examples/symptom_bot/items.py",
        "examples/symptom_bot/lexv2.py",
    ]
    for path in files:
        if path != "bridge/__init__.py":
            assert (out / path).read_bytes() == (ROOT / path).read_bytes(), path
    assert "import" not in (out / "bridge/local/__init__.py").read_text()
    assert "import" not in (out / "bridge/messenger/__init__.py").read_text()
    assert DEFAULT_OUT == ROOT / "examples" / "symptom_bot" / "build" / "lambda"


def test_the_dialog_needs_nothing_but_the_standard_library(tmp_path: Path) -> None:
    """With no site-packages at all (-S) the dialog and the Lex wire format import and answer;
    the handler adds only boto3/botocore, which the Lambda runtime has."""
    out = tmp_path / "lambda"
    build(out)
    script = f"""
import json, sys
sys.path.insert(0, {str(out)!r})
for name in {STANDARD_LIBRARY_ONLY!r}:
    __import__(name)
from pathlib import Path
from bridge.local.sample_bot.conditions import read_catalog
from bridge.local.sample_bot.symptoms import respond
from examples.symptom_bot.lexv2 import lex_response, parse_event
event = json.loads(Path({str(EVENT)!r}).read_text())
request = parse_event(event)
store = read_catalog(Path({str(DATA_FILE)!r}))
turn = respond(request.text, request.session, asset_base="", store=store, hint=request.hint)
print(json.dumps(lex_response(request, turn)))
assert not any(m.split(".")[0] in ("boto3", "botocore", "flask") for m in sys.modules)
"""
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    expected = handle(json.loads(EVENT.read_text()), catalog(), asset_base="")
    assert json.loads(run.stdout) == expected


def test_the_handler_runs_from_the_package(tmp_path: Path) -> None:
    out = tmp_path / "lambda"
    build(out)
    script = f"""
import json, sys
sys.path.insert(0, {str(out)!r})
from pathlib import Path
from examples.symptom_bot import handler
from bridge.local.sample_bot.conditions import read_catalog
assert handler.__file__.startswith({str(out)!r})
event = json.loads(Path({str(EVENT)!r}).read_text())
store = read_catalog(Path({str(DATA_FILE)!r}))
print(json.dumps(handler.handle(event, store, asset_base="")))
"""
    run = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == handle(json.loads(EVENT.read_text()), catalog(), asset_base="")


def test_a_build_replaces_an_earlier_one_but_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "lambda"
    build(out)
    (out / "stale.py").write_text("", encoding="utf-8")
    build(out)
    assert not (out / "stale.py").exists() and (out / MARKER).exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        build(other)
    assert main(["--out", str(other)]) == 2
    assert (other / "keep.txt").read_text() == "mine"


def test_the_build_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path / "lambda")]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'lambda'}: 19 files\n"
