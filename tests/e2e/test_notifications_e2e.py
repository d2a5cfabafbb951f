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
import requests

from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.obs.logs import hash_id
from tests.conftest import wait_for
from tests.support.servers import ROOT, START_MS, Bridge, body_of, start_bridge, stop_bridge

pytestmark = pytest.mark.e2e

PSID = "7300000000000001"
TOKEN = "NmToKen4815162342e2eSecretValue"
API_TOKEN = "e2e-notifications-api-token-0123456789ab"
OLD_TOKEN = "NmToKenExpired2718281828e2eValue"


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


def post_message(bridge: Bridge, recipient: dict[str, str]) -> requests.Response:
    return bridge.http.post(
        f"{bridge.url}/v1/messages",
        json={"recipient": recipient, "text": "Flu season is here: how to protect yourself."},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
    )


def message_status(bridge: Bridge, message_id: str) -> dict[str, Any]:
    response = bridge.http.get(
        f"{bridge.url}/v1/messages/{message_id}",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


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
    webhooks = [
        json.loads(line)
        for line in outputs[3].splitlines()
        if '"logger": "gunicorn.access"' in line and '"path": "/webhook"' in line
    ]
    assert sum(int(line.get("notification_tokens", 0)) for line in webhooks) == 4  # counted


def test_a_notification_message_reaches_the_token_and_a_stopped_one_is_refused(
    tmp_path: Path,
) -> None:
    """Opt in by webhook → ``POST /v1/messages`` to the token → sent to the token (no window
    needed, no messaging type) and shown in its person's inbox; after STOP, 422 token_expired;
    an opt-in already past its expiry is refused the same way."""
    bridge: Bridge = start_bridge(tmp_path, BRIDGE_API_TOKEN=API_TOKEN)
    try:
        assert bridge.post(body_of(optin(0))).status_code == 200
        queued = post_message(bridge, {"notification_messages_token": TOKEN})
        assert queued.status_code == 202, queued.text
        message_id = queued.json()["id"]
        done = wait_for(
            lambda: (s := message_status(bridge, message_id))["status"] == "sent" and s,
            timeout=30,
            what=f"{message_id} sent",
        )
        assert done["parts_sent"] == 1 and len(done["message_ids"]) == 1
        # In the person's thread (the local Graph knows whose token it is), after the bot's
        # answer to the opt-in itself.
        sent = [
            body
            for body in bridge.inbox(PSID)
            if "notification_messages_token" in body["recipient"]
        ]
        assert sent == [
            {
                "recipient": {"notification_messages_token": TOKEN},
                "message": {"text": "Flu season is here: how to protect yourself."},
            }
        ]

        assert bridge.post(body_of(optin(10, "STOP_NOTIFICATIONS"))).status_code == 200
        stopped = post_message(bridge, {"notification_messages_token": TOKEN})
        assert stopped.status_code == 422
        assert stopped.json()["error"]["code"] == "token_expired"

        expired = optin(20, token=OLD_TOKEN)
        expired["optin"]["token_expiry_timestamp"] = START_MS - 1_000
        assert bridge.post(body_of(expired)).status_code == 200
        refused = post_message(bridge, {"notification_messages_token": OLD_TOKEN})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "token_expired"
        unknown = post_message(bridge, {"notification_messages_token": "NmNeverGivenOut"})
        assert unknown.status_code == 422
    finally:
        assert stop_bridge(bridge) == 0
    log = bridge.log.read_text()
    assert TOKEN not in log and OLD_TOKEN not in log
    assert "outbound message queued" in log
