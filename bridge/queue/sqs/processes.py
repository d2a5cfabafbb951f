"""The delivery processes running inside this process, and which of them stopped.

One bridge process may run several deliveries (tests do; a server runs one), each naming
itself ``process``. The queue holds SQS messages for all of them together, so it lets go of
its messages only when the last one stops, and never claims for a process that stopped.
"""

from __future__ import annotations

import threading


class Processes:
    """Thread-safe sets of running and stopped delivery processes, and their claimers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._stopped: set[str] = set()
        self._claimers: set[str] = set()

    def join(self, process: str, owner: str) -> bool:
        """``owner`` (a delivery thread of ``process``) claims; False if ``process`` stopped."""
        with self._lock:
            if process in self._stopped:
                return False
            self._running.add(process)
            self._claimers.add(owner)
            return True

    def has_stopped(self, process: str) -> bool:
        with self._lock:
            return process in self._stopped

    def claimers(self) -> int:
        """How many delivery threads ever claimed here (an upper bound of those idle)."""
        with self._lock:
            return len(self._claimers)

    def stop(self, names: list[str]) -> bool:
        """Mark the running processes among ``names`` stopped; True if that stopped the last
        one (only an explicit name: a late heartbeat of our own must not stop our delivery)."""
        with self._lock:
            stopping = set(names) & self._running
            self._running -= stopping
            self._stopped |= stopping
            return bool(stopping) and not self._running

    def stop_all(self) -> None:
        with self._lock:
            self._stopped |= self._running
            self._running.clear()
