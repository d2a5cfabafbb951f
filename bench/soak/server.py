"""The bridge under the soak: one port and one queue database through a kill -9 and a SIGTERM.

``SoakServer`` starts gunicorn (``bench.servers``: its own process group), and restarts it
where it was, on the same port and database: ``kill`` sends SIGKILL to the whole group (the
master and every worker at once, nothing runs a handler) and ``terminate`` sends SIGTERM (a
graceful stop: turns in flight finish, the rest is released); each waits until no process of
the group is left, starts a new server and returns the ``Outage``. ``queue_stats`` asks
``python -m bridge queue stats --json`` of the database; ``log_problems`` counts tracebacks
and lines at ERROR or above in every run's log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.procs import group_alive
from bench.servers import ROOT, Server, clean_environment, free_port, start_server
from bench.soak.tally import KILL, Outage

_STOP_TIMEOUT = 90.0  # the graceful stop waits for turns in flight (gunicorn's is 60 s)
_POLL = 0.05


class SoakServer:
    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.port = free_port()
        self.runs = 0
        self.server = self._start()

    def _start(self) -> Server:
        self.runs += 1
        name = f"bridge-{self.runs}"
        return start_server(
            "wsgi:app", "gunicorn.conf.py", self.env, self.folder, name, self.port, metrics=True
        )

    def kill(self) -> Outage:
        """kill -9 of the whole server, then the same server again."""
        return self._restart(KILL, signal.SIGKILL)

    def terminate(self) -> Outage:
        """A graceful stop (SIGTERM to the whole server), then the same server again."""
        return self._restart("SIGTERM", signal.SIGTERM)

    def _restart(self, kind: str, how: signal.Signals) -> Outage:
        pgid = self.server.process.pid
        at = time.time()
        os.killpg(pgid, how)
        self.server.process.wait(timeout=_STOP_TIMEOUT)
        deadline = time.monotonic() + _STOP_TIMEOUT
        while group_alive(pgid):  # the workers, now children of init, end after the master
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server's processes outlived {kind}")
            time.sleep(_POLL)
        stopped = time.time()
        self.server = self._start()
        return Outage(kind, at, time.time(), stopped)

    def stop(self) -> None:
        self.server.stop()

    def queue_stats(self) -> dict[str, int]:
        """The queue's counts by state (``queued``, ``retrying``, ``running``, ``done`` …)."""
        done = subprocess.run(
            [sys.executable, "-m", "bridge", "queue", "--db", self.env["BRIDGE_DB"], "stats"]
            + ["--json"],
            cwd=ROOT,
            env=clean_environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        stats = json.loads(done.stdout)
        return {k: int(v) for k, v in stats.items() if isinstance(v, int)}

    def log_problems(self) -> tuple[int, int]:
        """Tracebacks, and lines at ERROR or above, in the logs of every run so far."""
        tracebacks = errors = 0
        for run in range(1, self.runs + 1):
            for line in (
                (self.folder / f"bridge-{run}.log").read_text(errors="replace").splitlines()
            ):
                tracebacks += "Traceback (most recent call last)" in line  # JSON lines too
                errors += _level(line) in ("ERROR", "CRITICAL")
        return tracebacks, errors


def _level(line: str) -> str:
    if not line.startswith("{"):
        return ""
    try:
        record = json.loads(line)
    except ValueError:
        return ""
    level = record.get("level") if isinstance(record, dict) else None
    return level if isinstance(level, str) else ""
