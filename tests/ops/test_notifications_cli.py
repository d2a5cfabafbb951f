"""``python -m bridge notifications list`` (through click's runner), on a real database, and
against the SQS backend's table on the local AWS server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.obs.logs import hash_id
from bridge.queue.sqlite.store import SqliteQueue
from tests.queue.notifications_contract import DAY_MS, NOW_MS, update

SECRET = "NMsecretTokenValue0042"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "bridge.db"
    queue = SqliteQueue(path)
    queue.record_notification_tokens(
        [
            update(SECRET, page="111", user="701", topic="FLU_ALERTS", at=NOW_MS - DAY_MS),
            update("T2secret", page="111", user="702", status="stopped", expires_at=None),
            update("T3secret", page="222", user="701", expires_at=NOW_MS - DAY_MS),
        ],
        now=time.time(),
    )
    queue.close()
    return path


def run(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["notifications", "--db", str(db), "list", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_table_shows_every_token_hashed_and_never_a_token(db: Path) -> None:
    out = run(db)
    lines = out.splitlines()
    assert lines[0].split() == [
        "page",
        "person",
        "topic",
        "frequency",
        "status",
        "expiry",
        "updated",
    ]
    assert len(lines) == 4
    assert hash_id("701") in out and hash_id("702") in out and "701 " not in out
    assert "FLU_ALERTS" in out and "stopped" in out and "expired" in out
    for secret in (SECRET, "T2secret", "T3secret", SECRET[-4:]):
        assert secret not in out


def test_json_and_one_page(db: Path) -> None:
    rows = json.loads(run(db, "--page-id", "111", "--json"))
    assert [(r["page"], r["person"], r["status"]) for r in rows] == [
        ("111", hash_id("702"), "stopped"),
        ("111", hash_id("701"), "active"),
    ]
    assert rows[0]["expiry"] == "-" and rows[1]["expiry"].endswith("Z")
    assert rows[1]["updated"].endswith("Z") and "token" not in rows[1]
    assert run(db, "--page-id", "333") == "no notification-messages tokens\n"


def test_help_and_a_missing_database(tmp_path: Path) -> None:
    help_text = CliRunner().invoke(main, ["notifications", "list", "--help"]).output
    assert "--page-id" in help_text and "never shown" in help_text
    missing = CliRunner().invoke(main, ["notifications", "--db", str(tmp_path / "no.db"), "list"])
    assert missing.exit_code == 1 and "no queue database" in missing.output
