"""The servers under load: gunicorn in its own process group, and the settings it runs with.

``start_server`` starts one (bridge or baseline) on a free loopback port (or the one given,
to restart a server where it was) with the caller's environment stripped of every bridge,
Facebook, Lex, AWS, Prometheus and log setting (``clean_environment``), then waits until it
answers HTTP; the bridge (``metrics=True``) gets a free port for its metrics listener too
(``BRIDGE_METRICS_PORT``, on 127.0.0.1: ``Server.metrics_url``). ``bridge_env`` points the
bridge at the fakes (Lex through ``AWS_ENDPOINT_URL_LEX_RUNTIME_V2``, Graph through
``FB_GRAPH_API_URL`` trusting the fake's certificate via ``REQUESTS_CA_BUNDLE``) with a fresh
SQLite queue; ``baseline_env`` does the same for the baselines, which need only the Graph side.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.fakes import Fake

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-app-secret"
PAGE_ID = "100000000000001"
PAGE_TOKEN = "bench-page-token-0123456789"
_STRIP = ("FB_", "LEX_", "BRIDGE_", "AWS_", "PROMETHEUS_", "LOG_")
_START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    metrics_port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """The bridge's metrics listener (where its /metrics is open)."""
        assert self.metrics_port is not None, "started without a metrics listener"
        return f"http://127.0.0.1:{self.metrics_port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def clean_environment() -> dict[str, str]:
    """This process's environment without any bridge, Facebook, Lex, AWS or log setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_STRIP)}


def start_server(
    app: str,
    config: str,
    env: dict[str, str],
    folder: Path,
    name: str,
    port: int | None = None,
    *,
    metrics: bool = False,
) -> Server:
    """Start ``app`` on ``port`` (a free one if None), its log in ``folder/<name>.log``; with
    ``metrics``, its metrics listener on a free port of its own."""
    port = port or free_port()
    metrics_port = None
    log = folder / f"{name}.log"
    if metrics:
        while metrics_port in (None, port):
            metrics_port = free_port()
    environment = server_environment(clean_environment(), port, env, metrics_port)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", config, app],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: CPU, PSS and stop cover it all
        )
    server = Server(process, port, log, metrics_port)
    _wait_until_serving(server, name)
    return server


def server_environment(
    base: dict[str, str], port: int, env: dict[str, str], metrics_port: int | None
) -> dict[str, str]:
    """``base`` with the server's port, 2 processes of 8 threads unless ``env`` says otherwise,
    then ``env``, and the metrics listener's port if there is one."""
    environment = base | {"PORT": str(port), "WEB_CONCURRENCY": "2", "BRIDGE_WEB_THREADS": "8"}
    environment |= env
    if metrics_port is not None:
        environment["BRIDGE_METRICS_PORT"] = str(metrics_port)
    return environment


def _wait_until_serving(server: Server, name: str) -> None:
    """Return once the server answers HTTP; stop it and raise if it exits or takes too long."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{name} exited at start:\n{server.log.read_text()[-3000:]}")
        if _answers_http(server.port):
            return
    server.stop()
    raise RuntimeError(f"{name} did not start:\n{server.log.read_text()[-3000:]}")


def _answers_http(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.")
    except OSError:
        time.sleep(0.1)
        return False


def bridge_env(graph: Fake, lex: Fake, folder: Path) -> dict[str, str]:
    assert graph.cert is not None
    return {
        "FB_APP_SECRET": SECRET,
        "FB_VERIFY_TOKEN": "bench-verify-token",
        "FB_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
        "FB_PAGE_ID": PAGE_ID,
        "FB_GRAPH_API_URL": f"https://127.0.0.1:{graph.port}",
        "REQUESTS_CA_BUNDLE": graph.cert,
        "BRIDGE_BOT": "lexv2",
        **lex_env(lex),
        "BRIDGE_DB": str(folder / "bridge.db"),
    }


def lex_env(lex: Fake) -> dict[str, str]:
    """The Lex V2 bot at the Lex fake, for the bridge and the inline baseline that asks it."""
    return {
        "LEX_BOT_ID": "BENCHBOT01",
        "LEX_BOT_ALIAS_ID": "TSTALIASID",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_LEX_RUNTIME_V2": f"http://127.0.0.1:{lex.port}",
    }


def baseline_env(graph: Fake) -> dict[str, str]:
    assert graph.cert is not None
    return {
        "FB_APP_SECRET": SECRET,
        "FB_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
        "FB_GRAPH_API_URL": f"https://127.0.0.1:{graph.port}",
        "REQUESTS_CA_BUNDLE": graph.cert,
    }
