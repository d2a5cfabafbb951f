"""Notification-messages opt-ins through the real server: signed webhooks → tokens stored in the
webhook's commit → ``python -m bridge notifications list`` shows them, hashed; the token itself
is in no log line, job payload, recording, metric or CLI output."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.obs.logs import hash_id
from tests.support.servers import ROOT, START_MS, Bridge, body_of, start_bridge, stop_bridge

pytestmark = pytest.mark.e2e

PSID = "7300000000000001"
TOKEN = "NmToKen4815162342e2eSecretValue"


def optin(ts: int, status: str | None = None, token: str = TOKEN) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "notification_messages",
        "payload": "FLU_ALERTS",
        "title": "Flu alerts",
        "notification_messages_token": token,
        "notification_messages_frequency": "WEEKLY",
        "notification_messages_timezone": "Europe/Paris",
        "token_expiry_timestamp": START_MS + 180 * 86_400_000,
    }
    if status is not None:
        fields["notification_messages_status"] = status
    return {
        "sender": {"id": PSID},
        "recipient": {"id": LOCAL_PAGE_ID},
        "timestamp": START_MS + ts,
        "optin": fields,
    }


def listed(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "notifications", "list", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "BRIDGE_DB": str(db)},
        check=False,
    )


def status_of(db: Path) -> str:
    done = listed(db, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 1
    return str(rows[0]["status"])


def test_opt_ins_are_stored_listed_hashed_and_never_leak(tmp_path: Path) -> None:
    records = tmp_path / "recorded"
    bridge: Bridge = start_bridge(
        tmp_path, BRIDGE_RECORD_DIR=str(records), BRIDGE_RECORD_REDACT="false"
    )
    db = tmp_path / "bridge.db"
    try:
        assert bridge.post(body_of(optin(0))).status_code == 200
        # Committed with the 200: listed at once.
        table = listed(db)
        assert table.returncode == 0, table.stderr
        assert LOCAL_PAGE_ID in table.stdout and hash_id(PSID) in table.stdout
        assert "FLU_ALERTS" in table.stdout and "WEEKLY" in table.stdout
        assert "active" in table.stdout and PSID not in table.stdout
        assert status_of(db) == "active"

        assert bridge.post(body_of(optin(10, "STOP_NOTIFICATIONS"))).status_code == 200
        assert status_of(db) == "stopped"
        # Meta redelivers an older resume after the stop: ignored.
        assert bridge.post(body_of(optin(5, "RESUME_NOTIFICATIONS"))).status_code == 200
        assert status_of(db) == "stopped"
        assert bridge.post(body_of(optin(20, "RESUME NOTIFICATIONS"))).status_code == 200
        assert status_of(db) == "active"
        metrics = bridge.http.get(f"{bridge.url}/metrics", timeout=10).text
        assert 'bridge_notification_token_updates_total{status="stopped"} 1.0' in metrics
        outputs = [listed(db).stdout, listed(db, "--json").stdout, metrics]
    finally:
        assert stop_bridge(bridge) == 0
    outputs.append(bridge.log.read_text())
    outputs += [path.read_text() for path in sorted(records.iterdir())]
    assert len(list(records.glob("*.json"))) == 4
    with sqlite3.connect(db) as connection:
        outputs += [row[0] for row in connection.execute("SELECT payload FROM jobs")]
        stored = connection.execute("SELECT token FROM notification_tokens").fetchall()
    assert stored == [(TOKEN,)]  # stored to send with...
    assert all(TOKEN not in output for output in outputs)  # ...and nowhere else
    assert "webhook accepted" in outputs[3]
