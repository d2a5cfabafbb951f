"""One SQLite connection per thread, safe across ``fork``; and ``while_locked`` for setup steps.

The public API for every SQLite user of the package (the queue, and local mode's own files):
``PerThread`` and ``while_locked``.

The server builds its app in the master and forks the workers from it (``preload_app``), so a
connection opened before the fork would be inherited. SQLite forbids using a connection in a
child, and closing one there is unsafe too: closing a descriptor drops every POSIX lock the
process holds on that file, including the locks of the child's own connections. So after a fork
the child forgets the inherited connections without closing them, and opens its own.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from bridge.errors import QueueError

_ALL: weakref.WeakSet[PerThread] = weakref.WeakSet()
# Inherited from the parent: kept referenced (never closed, never collected) in the child.
_INHERITED: list[sqlite3.Connection] = []


class PerThread:
    """Each thread's own connection, opened by ``connect`` on first use."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[threading.Thread, sqlite3.Connection]] = []
        _ALL.add(self)

    def get(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._open.append((threading.current_thread(), connection))
        return connection

    def close(self) -> None:
        """Close the connections of this thread and of threads that ended.

        A connection still used by a live thread (a delivery thread finishing a turn after a
        shutdown released its job) is left to that thread: closing it under it is unsafe.
        """
        current = threading.current_thread()
        with self._lock:
            keep = []
            for thread, connection in self._open:
                if thread is current or not thread.is_alive():
                    connection.close()
                else:
                    keep.append((thread, connection))
            self._open = keep
        self._local = threading.local()

    def _forget_after_fork(self) -> None:
        _INHERITED.extend(connection for _, connection in self._open)
        self._open = []
        self._lock = threading.Lock()
        self._local = threading.local()


def _after_fork_in_child() -> None:
    for connections in list(_ALL):
        connections._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def while_locked(operation: Callable[[], object], path: Path, timeout: float) -> None:
    """Run a setup step, retrying while another process holds the lock it needs.

    Switching a new database to WAL takes an exclusive lock without waiting on the busy
    handler, so server processes starting together would otherwise fail to boot.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            operation()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise QueueError(f"cannot open database {path}: {exc}") from exc
            time.sleep(0.01)
