"""Group commit: every write of a process runs on one thread, many callers per transaction.

SQLite has one write lock per database. Taken by each thread for each small change, it is
fought over (SQLite's busy handler sleeps 1, 2, 5 … 100 ms between tries, which is where a
webhook's tail latency went) and each commit waits for its own fsync. Here each process has one
writer thread: callers hand it a function and wait; it runs every function waiting at that
moment inside one ``BEGIN IMMEDIATE`` … ``COMMIT`` (each in its own savepoint, so one failing
change does not undo the others) and wakes them all after one fsync. Between processes the
write lock is taken in turn through an exclusive ``flock`` on a file beside the database,
which hands it over as soon as it is free instead of after a sleep.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from bridge.errors import QueueError

T = TypeVar("T")

MAX_BATCH = 512  # changes per transaction: bounds how long one commit keeps others waiting


class _Change(Generic[T]):
    """One caller's change; ``done`` is held until the change is committed (or failed)."""

    __slots__ = ("done", "error", "handed", "operation", "result", "what")

    def __init__(self, what: str, operation: Callable[[sqlite3.Connection], T]) -> None:
        self.what = what
        self.handed = time.perf_counter()
        self.operation = operation
        self.done = threading.Lock()  # cheaper than an Event: acquired now, released once
        self.done.acquire()
        self.result: T | None = None
        self.error: BaseException | None = None

    def wait(self) -> T:
        """Wait until the change is committed (or failed); its result."""
        self.done.acquire()
        self.done.release()  # a second wait returns at once
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class Writer:
    """The one thread of this process that writes to the database (started on first use)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], lock_path: Path) -> None:
        self._connect = connect
        self._lock_path = lock_path
        self._condition = threading.Condition()
        self._pending: list[_Change[object]] = []
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopping = False
        # Counts for this process (group commit's measure): changes taken into transactions,
        # and transactions committed.
        self.taken = 0
        self.transactions = 0

    def run(self, what: str, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` in the next transaction and return its result once committed.

        An ``sqlite3.Error`` (in the operation or at commit) becomes ``QueueError``; any other
        exception of the operation is raised here as it is, and its changes are undone.
        """
        return self.submit(what, operation)()

    def submit(self, what: str, operation: Callable[[sqlite3.Connection], T]) -> Callable[[], T]:
        """Hand ``operation`` to the next transaction without waiting for it; the function
        returned waits until it is committed and returns its result (or raises, as ``run``).
        Changes are committed in the order they were handed over."""
        change: _Change[T] = _Change(what, operation)
        with self._condition:
            self._ensure_thread()
            self._pending.append(change)  # type: ignore[arg-type]
            self._condition.notify()
        return change.wait

    @property
    def waiting(self) -> int:
        """Changes handed over and not yet taken into a transaction."""
        with self._condition:
            return len(self._pending)

    def close(self) -> None:
        """Commit what is pending, then stop the thread (a later ``run`` starts a new one)."""
        with self._condition:
            thread = self._thread if self._pid == os.getpid() else None
            if thread is None:
                return
            self._stopping = True
            self._condition.notify()
        thread.join()
        with self._condition:
            if self._thread is thread:
                self._thread = None
            self._stopping = False

    def _ensure_thread(self) -> None:
        # Called with the condition held. A forked child gets its own thread (threads do not
        # survive fork; the parent's pending changes were the parent's). A stopping thread
        # commits what is pending before it ends.
        if self._thread is not None and self._pid == os.getpid():
            return
        self._pending = []
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name="queue-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            connection = self._connect()
            lock = self._lock_path.open("a")
        except (OSError, QueueError) as exc:
            # Nothing can be written: fail what waits; the next change tries again.
            error = exc if isinstance(exc, QueueError) else QueueError(f"queue lock: {exc}")
            with self._condition:
                failed, self._pending = self._pending, []
                self._thread = None
            for change in failed:
                change.error = error
                change.done.release()
            return
        with lock:
            while True:
                with self._condition:
                    while not self._pending and not self._stopping:
                        self._condition.wait()
                    if not self._pending:
                        break
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                    self.taken += len(batch)
                if self._commit(connection, lock.fileno(), batch):
                    self.transactions += 1
        connection.close()

    @staticmethod
    def _commit(connection: sqlite3.Connection, lock: int, batch: list[_Change[object]]) -> bool:
        """Run ``batch`` in one transaction; True if it was committed."""
        committed = locked = False
        began = time.perf_counter()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            locked = True
            began = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            for change in batch:
                connection.execute("SAVEPOINT change")
                try:
                    change.result = change.operation(connection)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    connection.execute("ROLLBACK TO change")
                    change.error = (
                        QueueError(f"{change.what} failed: {exc}")
                        if isinstance(exc, sqlite3.Error)
                        else exc
                    )
                connection.execute("RELEASE change")
            connection.execute("COMMIT")
            committed = True
        except (sqlite3.Error, OSError) as exc:  # the transaction, the disk or the lock failed
            if connection.in_transaction:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite already rolled back (e.g. after an I/O error)
            for change in batch:
                change.result = None
                if change.error is None:
                    change.error = QueueError(f"{change.what} failed: {exc}")
        finally:
            if locked:
                fcntl.flock(lock, fcntl.LOCK_UN)
            ended = time.perf_counter()
            for change in batch:
                change.done.release()
            _observe(batch, began, ended)
        return committed


def _observe(batch: list[_Change[object]], began: float, ended: float) -> None:
    """Each change's wait for its transaction, and the transaction's time (both as its caller
    waited them)."""
    # Imported here: gunicorn.conf.py imports the queue before prometheus_client may be
    # imported (it prepares the multi-process metrics folder first).
    from bridge.obs.stages import observe_queue_write

    took = ended - began
    for change in batch:
        observe_queue_write(change.what, max(0.0, began - change.handed), took)
