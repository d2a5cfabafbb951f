"""The symptom bot's walkthrough (examples/symptom_bot/README.md) stays runnable: the make
targets and modules it names exist, the events it offers are there, and the Messenger profile
it applies validates and leads into the bot."""

from __future__ import annotations

import importlib
import json
import re
import subprocess

import pytest

from bridge.local.sample_bot.symptoms import respond
from bridge.ops.setup.profile_file import load_profile
from examples.symptom_bot import EXAMPLE_DIR
from tests.support.servers import ROOT

README = (EXAMPLE_DIR / "README.md").read_text(encoding="utf-8")
PROFILE = EXAMPLE_DIR / "messenger-profile.json"


def test_every_make_target_in_the_walkthrough_exists() -> None:
    makefile = (EXAMPLE_DIR / "Makefile").read_text(encoding="utf-8")
    defined = set(re.findall(r"^([a-z]+):", makefile, re.MULTILINE))
    used = {
        target
        for line in re.findall(r"make -C examples/symptom_bot ([a-z ]+)", README)
        for target in line.split()
    }
    assert used and used <= defined, used - defined


def test_the_makefile_runs_the_modules_the_walkthrough_names() -> None:
    dry = subprocess.run(
        ["make", "-n", "-C", str(EXAMPLE_DIR), "deploy", "load", "BUCKET=b", "AWS=aws"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "-m examples.symptom_bot.build" in dry.stdout
    assert "aws cloudformation package --template-file template.yaml --s3-bucket b" in dry.stdout
    assert "--capabilities CAPABILITY_IAM" in dry.stdout
    assert "-m examples.symptom_bot.load --table" in dry.stdout


def test_every_module_and_event_named_exists() -> None:
    for module in set(re.findall(r"python -m (examples\.symptom_bot\.\w+)", README)):
        assert callable(importlib.import_module(module).main), module
    for event in re.findall(r"EVENT=([a-z-]+)", README):
        assert (EXAMPLE_DIR / "events" / f"{event}.json").is_file(), event
    for link in re.findall(r"\]\((\.\./\.\./[^)#]+)", README):
        assert (EXAMPLE_DIR / link).resolve().is_file(), link


def test_the_main_readme_points_at_the_example() -> None:
    assert "examples/symptom_bot/README.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_messenger_profile_validates() -> None:
    profile = load_profile(PROFILE)
    assert profile["get_started"] == {"payload": "GET_STARTED"}


@pytest.mark.parametrize(
    "payload",
    [
        item.get("payload", "")
        for section in ("persistent_menu", "ice_breakers")
        for entry in json.loads(PROFILE.read_text(encoding="utf-8"))[section]
        for item in entry["call_to_actions"]
    ]
    + ["GET_STARTED"],
)
def test_every_payload_of_the_profile_leads_into_the_bot(payload: str) -> None:
    assert respond(payload, {}, asset_base="").intent != "FallbackIntent"


def test_the_ignore_file_keeps_builds_out_of_the_repository() -> None:
    assert (EXAMPLE_DIR / ".gitignore").read_text() == "build/\n"
