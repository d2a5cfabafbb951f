"""Whether another delivery process is gone, so its running jobs may go to someone else.

On this host (the same pid namespace) a process is gone when its pid no longer exists: a
process that is merely slow or stopped (``SIGSTOP``, a long GC pause, a host suspend) keeps its
jobs, so no turn is run twice. A process elsewhere is judged by its heartbeat: gone once the
heartbeat it writes has not changed for ``STALE_AFTER`` seconds of this process's monotonic
clock, so a step of either clock neither cuts the lease short nor stretches it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable

from bridge.queue import Worker

STALE_AFTER = 10.0  # a process elsewhere silent this long is taken for gone


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (ours, or someone else's)."""
    if pid == os.getpid() or os.name != "posix":  # os.kill(pid, 0) terminates on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def process_namespace() -> str:
    """Where a pid means something: the host name plus the pid namespace, so containers that
    share a host name (and a queue volume) never judge each other's pids."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/pidns:{namespace}"


class HeartbeatWatch:
    """The processes elsewhere whose heartbeat stopped changing, as this process sees it."""

    def __init__(
        self, stale_after: float = STALE_AFTER, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._stale_after = stale_after
        self._monotonic = monotonic
        self._seen: dict[str, tuple[float, float]] = {}  # process → (heartbeat, when it changed)

    def silent(self, workers: Iterable[Worker]) -> list[str]:
        """Of ``workers`` (read now), those whose heartbeat has not changed for
        ``stale_after`` seconds since this watch first saw it or saw it change."""
        now = self._monotonic()
        seen: dict[str, tuple[float, float]] = {}
        for worker in workers:
            last = self._seen.get(worker.process)
            if last is None or last[0] != worker.heartbeat:
                last = (worker.heartbeat, now)
            seen[worker.process] = last
        self._seen = seen
        return [process for process, (_, since) in seen.items() if now - since >= self._stale_after]
