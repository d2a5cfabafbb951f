"""Every kind of server the tests start, in one place, each on a free loopback port:

- ``wsgi_server``: a WSGI app (a Flask app mounted once its port is known) in a thread;
- ``http_server``: a ``BaseHTTPRequestHandler`` class (fakes that speak a wire format) in a thread;
- ``start_bridge`` / ``stop_bridge`` / ``kill_bridge``: the real server,
  ``gunicorn -c gunicorn.conf.py wsgi:app``, in local mode, with helpers to post signed
  webhooks, read the local Graph inbox and the queue state of an event, and inject faults;
  ``run_gunicorn``: the same command run to its end (startup failures);
- ``moto_server``: moto's AWS-compatible server in a subprocess.

Each stops what it started, whatever the test did.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import pytest
import requests
from werkzeug.serving import make_server

from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_PAGE_ID
from bridge.messenger.signature import sign
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
MOTO_STARTUP = 60  # seconds moto's server may take to answer
_CONFIG_PREFIXES = ("FB_", "LEX_", "BRIDGE_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- servers in a thread of the test process ---------------------------------------------------


class _Serving(Protocol):
    def serve_forever(self, poll_interval: float = ...) -> None: ...
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...


@contextmanager
def _serving(server: _Serving, name: str) -> Iterator[None]:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


@dataclass
class LiveServer:
    """A WSGI server on a loopback port; ``mount`` the app once its port is known (an app
    that calls itself, such as local mode's Lex and Graph endpoints, needs the port first)."""

    port: int
    app: WsgiApp | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def mount(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        assert self.app is not None, "no app mounted"
        return self.app(environ, start_response)


@contextmanager
def wsgi_server(app: WsgiApp | None = None, *, threaded: bool = True) -> Iterator[LiveServer]:
    """Serve ``app`` (or, later, what is mounted) on a free loopback port until the end."""
    live = LiveServer(0, app)
    server = make_server("127.0.0.1", 0, live, threaded=threaded)
    live.port = server.server_port
    with _serving(server, "test-wsgi-server"):
        yield live


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    with _serving(server, "test-http-server"):
        yield f"http://127.0.0.1:{server.server_address[1]}"


# --- the real bridge ---------------------------------------------------------------------------


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


def server_environment(*prefixes: str, **env: str) -> dict[str, str]:
    """This process's environment without the bridge's settings (nor variables starting with
    ``prefixes``), plus ``env``."""
    drop = (*_CONFIG_PREFIXES, *prefixes)
    return {**{k: v for k, v in os.environ.items() if not k.startswith(drop)}, **env}


def run_gunicorn(environment: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """The server command run to its end (a bad configuration stops it at startup)."""
    return subprocess.run(
        GUNICORN, cwd=ROOT, env=dict(environment), capture_output=True, text=True, timeout=60
    )


def start_bridge(tmp: Path, log_name: str = "server.log", **env: str) -> Bridge:
    port = free_port()
    log = tmp / log_name
    environment = {
        **server_environment(),
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
            GUNICORN,
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
            return requests.get(f"{bridge.url}/webhook", timeout=5).status_code == 403
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still booting
            return False

    wait_for(up, timeout=30, interval=0.1, what="server start")
    return bridge


def stop_bridge(bridge: Bridge) -> int:
    """SIGTERM, and the exit code of a graceful stop; a server still up after 60 s is killed
    (so it outlives no test) and the test fails with its log."""
    bridge.process.send_signal(signal.SIGTERM)
    try:
        code = bridge.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        kill_bridge(bridge)
        log = bridge.log.read_text()
        raise AssertionError(f"server still up 60 s after SIGTERM:\n{log}") from None
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


# --- moto's AWS-compatible server -------------------------------------------------------------


def _moto_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def moto_server(folder: Path) -> Iterator[str]:
    """Start moto's server, yield its URL, stop it."""
    port = free_port()
    log = folder / "moto.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + MOTO_STARTUP
    try:
        while not _moto_answers(url):
            if time.monotonic() > deadline:
                pytest.fail(f"moto did not answer within {MOTO_STARTUP} s: {log.read_text()}")
            try:  # a pause that ends early if the server died
                process.wait(timeout=0.05)
                pytest.fail(f"moto exited with {process.returncode}: {log.read_text()}")
            except subprocess.TimeoutExpired:
                pass
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
