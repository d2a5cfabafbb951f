"""Record deliveries from a running server, replay them into a fresh one: the same sends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import ROOT, Bridge, body_of, start_bridge, stop_bridge, text

pytestmark = pytest.mark.e2e

USERS = ("7100000000000001", "7100000000000002")


def conversation(psid: str, offset: int) -> list[bytes]:
    tap = {
        "sender": {"id": psid},
        "recipient": {"id": text(psid, "", "")["recipient"]["id"]},
        "timestamp": text(psid, "", "", offset + 2)["timestamp"],
        "message": {
            "mid": f"m_rr_{psid}_q",
            "text": "List conditions",
            "quick_reply": {"payload": "list"},
        },
    }
    return [
        body_of(text(psid, "hello", f"m_rr_{psid}_1", offset)),
        body_of(text(psid, "I have a fever, é / @", f"m_rr_{psid}_2", offset + 1)),
        body_of(tap),
    ]


def sends(bridge: Bridge) -> dict[str, list[dict[str, Any]]]:
    everything = bridge.http.get(f"{bridge.url}/local/graph/inbox", timeout=10).json()["entries"]
    by_user: dict[str, list[dict[str, Any]]] = {}
    for entry in everything:
        by_user.setdefault(entry["recipient"], []).append(entry["body"])
    return by_user


def replay(folder: Path, bridge: Bridge) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "replay", str(folder), "--url", bridge.url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize("redact", [False, True], ids=["raw", "redacted"])
def test_a_recording_replays_into_a_fresh_bridge_with_the_same_sends(
    tmp_path: Path, redact: bool
) -> None:
    folder = tmp_path / "recorded"
    for server in ("first", "second"):
        (tmp_path / server).mkdir()
    first = start_bridge(
        tmp_path / "first", BRIDGE_RECORD_DIR=str(folder), BRIDGE_RECORD_REDACT=str(redact).lower()
    )
    try:
        for n, psid in enumerate(USERS):
            for body in conversation(psid, n * 10):
                assert first.post(body).status_code == 200
        first.wait_done(*(f"m_rr_{p}_{s}" for p in USERS for s in ("1", "2", "q")))
        original = sends(first)
    finally:
        assert stop_bridge(first) == 0
    recorded = sorted(folder.glob("*.json"))
    assert len(recorded) == 6
    assert len((folder / "index.jsonl").read_text().splitlines()) == 6

    second = start_bridge(tmp_path / "second")
    try:
        result = replay(folder, second)
        assert result.returncode == 0, result.stdout + result.stderr
        summary = json.loads(result.stdout.splitlines()[-1])["summary"]
        assert (summary["accepted"], summary["refused"]) == (6, 0)
        replayed = sends(second)
    finally:
        assert stop_bridge(second) == 0
    if not redact:
        # The same bodies Graph received, in the same order (card images name the server).
        assert _without_host(replayed, second.url) == _without_host(original, first.url)
        return
    # Redacted: other PSIDs and stand-ins for the words; each person's choices still work.
    assert len(replayed) == 2 and not set(replayed) & set(USERS)
    text = json.dumps(replayed, ensure_ascii=False)
    assert "안녕" not in text and "— é" not in text  # what the people wrote is gone
    for bodies in replayed.values():
        # Three fast turns each: the answers alone, no seen or typing in front of them.
        assert [b for b in bodies if "sender_action" in b] == []
        assert len(bodies) >= 3
        last = bodies[-1]["message"]
        assert last["attachment"]["payload"]["template_type"] == "generic"  # "list" was tapped


def _without_host(sent: dict[str, list[dict[str, Any]]], url: str) -> object:
    return json.loads(json.dumps(sent).replace(url, "<bridge>"))
