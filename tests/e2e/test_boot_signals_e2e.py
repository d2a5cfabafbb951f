"""A stop signal that reaches a worker while it boots stops it as soon as it can act on it.

gunicorn hands a worker its own signal handlers only some time after the fork; a SIGTERM in
between used to be swallowed by the master's handler in the child, and the server then took
its whole graceful timeout (60 s) to stop. Here each worker waits at a gate right after the
fork (tests/support/gated_boot.conf.py) while the server is told to stop.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import wait_for
from tests.support.servers import ROOT, free_port, server_environment

_TERM_BIT = 1 << (signal.SIGTERM - 1)


def _worker_pids(log: Path) -> list[int]:
    return [int(n) for n in re.findall(r"Booting worker with pid: (\d+)", log.read_text())]


def _term_pending(pid: int) -> bool:
    """SIGTERM waits in the kernel for this process (blocked, not yet handled)."""
    status = Path(f"/proc/{pid}/status").read_text()
    pending = re.search(r"^ShdPnd:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return pending is not None and bool(int(pending.group(1), 16) & _TERM_BIT)


def test_sigterm_while_the_workers_boot_stops_the_server_promptly(tmp_path: Path) -> None:
    gate, log = tmp_path / "gate", tmp_path / "server.log"
    environment = {
        **server_environment(),
        "BRIDGE_MODE": "local",
        "PORT": str(free_port()),
        "BRIDGE_DB": str(tmp_path / "bridge.db"),
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
        "BOOT_GATE": str(gate),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "tests/support/gated_boot.conf.py"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "wsgi:app"], cwd=ROOT, env=environment, stdout=out, stderr=out
        )
    try:
        workers = wait_for(
            lambda: len(_worker_pids(log)) == 2 and _worker_pids(log),
            timeout=30,
            what="two workers forked",
        )
        server.send_signal(signal.SIGTERM)
        # The master passed the signal on; each worker, still without its own handlers,
        # holds it instead of losing it.
        wait_for(lambda: all(_term_pending(pid) for pid in workers), timeout=10, what="held")
        gate.touch()
        started = time.monotonic()
        assert server.wait(timeout=30) == 0
        assert time.monotonic() - started < 15  # not the 60 s graceful timeout
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    stopped = [line for line in lines if line.get("message") == "delivery stopped"]
    assert len(stopped) == 2 and all(line["drained"] is True for line in stopped)
