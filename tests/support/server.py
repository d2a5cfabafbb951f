"""A real bridge server for end-to-end tests: gunicorn -c gunicorn.conf.py wsgi:app, local mode.

Helpers to start and stop it, post signed webhooks, read the local Graph inbox and the queue
state of an event, and inject faults into its local Lex and Graph endpoints.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bridge.config.settings import LOCAL_APP_SECRET, LOCAL_PAGE_ID
from bridge.messenger.signature import sign
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Bridge:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    http: requests.Session

    def post(self, body: bytes, secret: str = LOCAL_APP_SECRET) -> requests.Response:
        return self.http.post(
            f"{self.url}/webhook",
            data=body,
            timeout=10,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)},
        )

    def inbox(self, psid: str) -> list[dict[str, Any]]:
        response = self.http.get(
            f"{self.url}/local/graph/inbox", params={"recipient": psid}, timeout=10
        )
        return [entry["body"] for entry in response.json()["entries"]]

    def messages(self, psid: str) -> list[dict[str, Any]]:
        return [body["message"] for body in self.inbox(psid) if "message" in body]

    def state(self, mid: str) -> str | None:
        state = self.http.get(f"{self.url}/local/status", params={"key": mid}, timeout=10)
        return state.json()["state"]  # type: ignore[no-any-return]

    def wait_done(self, *mids: str) -> None:
        wait_for(
            lambda: all(self.state(mid) == "done" for mid in mids),
            timeout=30,
            what=f"jobs {mids} done",
        )


def start_bridge(tmp: Path, log_name: str = "server.log", **env: str) -> Bridge:
    port = free_port()
    log = tmp / log_name
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FB_", "LEX_", "BRIDGE_"))},
        "BRIDGE_MODE": "local",
        "PORT": str(port),
        "BRIDGE_DB": str(tmp / "bridge.db"),
        "WEB_CONCURRENCY": "2",
        "BRIDGE_DELIVERY_THREADS": "4",
        "BRIDGE_POLL_INTERVAL": "0.05",
        "LOG_FORMAT": "json",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill_bridge hits every worker
        )
    bridge = Bridge(f"http://127.0.0.1:{port}", process, log, requests.Session())

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text()}")
        try:
            return requests.get(f"{bridge.url}/webhook", timeout=1).status_code == 403
        except requests.ConnectionError:
            return False

    wait_for(up, timeout=30, interval=0.1, what="server start")
    return bridge


def stop_bridge(bridge: Bridge) -> int:
    bridge.process.send_signal(signal.SIGTERM)
    code = bridge.process.wait(timeout=60)
    bridge.http.close()
    return code


def body_of(*items: dict[str, Any], page_id: str = LOCAL_PAGE_ID) -> bytes:
    return json.dumps(
        {"object": "page", "entry": [{"id": page_id, "time": 1, "messaging": list(items)}]}
    ).encode()


START_MS = int(time.time() * 1000)  # events must be recent: older ones are not answered


def text(psid: str, words: str, mid: str, ts: int = 0) -> dict[str, Any]:
    """A text message; ``ts`` is milliseconds after the test run started."""
    return {
        "sender": {"id": psid},
        "recipient": {"id": LOCAL_PAGE_ID},
        "timestamp": START_MS + ts,
        "message": {"mid": mid, "text": words},
    }


def kill_bridge(bridge: Bridge) -> None:
    """kill -9 the master and every worker at once, as an OOM kill or a host crash would."""
    os.killpg(bridge.process.pid, signal.SIGKILL)
    bridge.process.wait(timeout=30)
    bridge.http.close()


def add_fault(bridge: Bridge, target: str, *faults: dict[str, Any]) -> None:
    response = bridge.http.post(
        f"{bridge.url}/local/faults/{target}", json=list(faults), timeout=10
    )
    assert response.status_code == 200, response.text


def clear_faults(bridge: Bridge, target: str = "") -> None:
    suffix = f"/{target}" if target else ""
    assert bridge.http.delete(f"{bridge.url}/local/faults{suffix}", timeout=10).ok
