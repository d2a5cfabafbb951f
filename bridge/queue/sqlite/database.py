"""What every part of ``SqliteQueue`` stands on: the file, its connections and its writer.

Reads use this thread's own connection (WAL readers never wait for the writer); writes go to
the process's writer (``bridge.queue.sqlite.writer``): one transaction at a time, committed by
its caller when nobody else is committing, else together with every change waiting meanwhile.
SQLite errors become ``QueueError`` here, so no part handles them itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

from bridge.config.private import private_database, private_file
from bridge.errors import QueueError
from bridge.queue.sqlite.connections import PerThread, while_locked
from bridge.queue.sqlite.schema import create_schema
from bridge.queue.sqlite.writer import Writer

T = TypeVar("T")


class Database:
    """One SQLite file in WAL mode, safe across threads and processes; the schema is made on
    opening."""

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._connections = PerThread(self._open)
        self._writer = Writer(self._open, _private_files(path))
        while_locked(self._create_schema, path, busy_timeout)

    def _create_schema(self) -> None:
        # Its own connection, closed at once: a process that only creates the queue (the
        # server's master before it forks its workers) keeps no connection open.
        connection = self._open()
        try:
            create_schema(connection)
        finally:
            connection.close()

    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise QueueError(f"cannot open queue database {self.path}: {exc}") from exc
        while_locked(
            lambda: connection.execute("PRAGMA journal_mode=WAL"), self.path, self._busy_timeout
        )
        # FULL: a committed job survives power loss too, not only a killed process.
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, for reads (WAL readers never wait for the writer)."""
        return self._connections.get()

    def _transaction(self, what: str, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` in a write transaction (shared with this process's other
        writers, see ``bridge.queue.sqlite.writer``); SQLite errors become ``QueueError``."""
        return self._writer.run(what, operation)

    def batch(self) -> AbstractContextManager[None]:
        """This thread's writes until the block ends in one transaction, committed then
        (``bridge.queue.sqlite.batches``)."""
        return self._writer.batch()

    def after_commit(self, callback: Callable[[bool], None]) -> None:
        """``callback(committed)`` once this thread's writes so far are settled."""
        self._writer.after_commit(callback)

    def _write(self, sql: str, params: dict[str, object] | list[object]) -> int:
        return self._transaction("queue write", lambda c: c.execute(sql, params).rowcount)

    def _read(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[Any]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise QueueError(f"queue read failed: {exc}") from exc

    def close(self) -> None:
        """Commit what is pending, stop the writer's thread and close its connection; close this
        thread's connection
        and those of threads that ended (see ``PerThread.close``). The queue stays usable."""
        self._writer.close()
        self._connections.close()


def _private_files(path: Path) -> Path:
    """Make the database file and its siblings owner-only; returns the lock file's path."""
    try:
        private_database(path)
        return private_file(path.with_name(f"{path.name}-lock"))
    except OSError as exc:
        raise QueueError(f"cannot open queue database {path}: {exc}") from exc
