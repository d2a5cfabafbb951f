"""The server a fuzz run posts to: its own, or one already running at ``--url``.

``OwnServer`` starts the real thing as the benchmark does (``bench.servers``): gunicorn with
gunicorn.conf.py at its default settings (2 processes × 8 threads, JSON logs), a fresh SQLite
queue, Lex V2 and the Graph Send API faked on loopback (``bench.fakes``), serving the Page of
the webhook corpus, so whatever parses is also delivered: asked of the bot, answered, acked.
``drain`` waits (bounded) for the queue to empty after the load, ``stop`` stops the server and
the fakes and leaves its log to read until ``close``. ``health`` asks any server's
``/healthz``.
"""

from __future__ import annotations

import http.client
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.fakes import Fake
from bench.fuzz.sender import NO_ANSWER, connect
from bench.servers import Server, bridge_env, start_server
from bridge.queue.sqlite.store import SqliteQueue

CORPUS_PAGE_ID = "104859375629481"  # the Page of tests/fixtures/webhooks (tests/support/ids.py)
WORKERS = 2  # gunicorn.conf.py's default WEB_CONCURRENCY, as bench.servers starts it
MAX_BODY_BYTES = 1024 * 1024  # BRIDGE_MAX_BODY_BYTES at its default
_SECRETS = ("FB_APP_SECRET", "FB_VERIFY_TOKEN", "FB_PAGE_ACCESS_TOKEN", "AWS_SECRET_ACCESS_KEY")


def health(base_url: str) -> int:
    """The status of ``GET /healthz`` (``NO_ANSWER`` if there was none)."""
    conn = connect(base_url, timeout=10)
    try:
        conn.request("GET", urlsplit(base_url).path.rstrip("/") + "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return NO_ANSWER
    finally:
        conn.close()


class OwnServer:
    """The bridge and its fakes in a temporary folder, from ``start()`` to ``stop()``."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="fuzz-")
        self.folder = Path(self._folder.name)
        self.graph: Fake | None = None
        self.lex: Fake | None = None
        self.server: Server | None = None
        self.env: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    @property
    def log(self) -> Path:
        assert self.server is not None
        return self.server.log

    @property
    def secret(self) -> str:
        return self.env["FB_APP_SECRET"]

    def secrets(self) -> dict[str, str]:
        """The secrets the server was given, by the variable that holds each."""
        return {name: self.env[name] for name in _SECRETS}

    def start(self) -> OwnServer:
        self.graph = Fake("graph", "--cert-dir", str(self.folder))
        self.lex = Fake("lex")
        self.env = {**bridge_env(self.graph, self.lex, self.folder), "FB_PAGE_ID": CORPUS_PAGE_ID}
        self.server = start_server("wsgi:app", "gunicorn.conf.py", self.env, self.folder, "bridge")
        return self

    def alive(self) -> bool:
        return self.server is not None and self.server.process.poll() is None

    def drain(self, timeout: float) -> dict[str, Any]:
        """Wait until no job is queued or running (at most ``timeout`` seconds); the queue's
        counts then."""
        queue = SqliteQueue(self.folder / "bridge.db")
        try:
            deadline = time.monotonic() + timeout
            while True:
                stats = queue.stats(now=time.time())
                if stats["queued"] + stats["running"] == 0 or time.monotonic() > deadline:
                    return stats
                time.sleep(0.2)
        finally:
            queue.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM, as a deployment would) and the fakes; the folder and
        the log stay until ``close()``."""
        try:
            if self.server is not None:
                self.server.stop()
        finally:
            for fake in (self.lex, self.graph):
                if fake is not None:
                    fake.stop()
            self.lex = self.graph = None

    def close(self) -> None:
        """Stop whatever still runs and remove the folder (queue, certificate, log)."""
        try:
            self.stop()
        finally:
            self._folder.cleanup()
