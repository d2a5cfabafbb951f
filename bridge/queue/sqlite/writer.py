"""Group commit: one transaction at a time per process, many callers' changes in each.

SQLite has one write lock per database. Taken by each thread for each small change, it is
fought over (SQLite's busy handler sleeps 1, 2, 5 … 100 ms between tries, which is where a
webhook's tail latency went) and each commit waits for its own fsync. Here each process writes
through one connection, one transaction at a time. A caller that finds nobody committing
commits its own change at once, on its own thread (no hand-over to another thread, no wake-up:
the common case at light load). Changes that arrive while a transaction is being committed
wait for the process's writer thread (started when first needed), which runs every change
waiting at that moment inside one ``BEGIN IMMEDIATE`` … ``COMMIT`` and wakes them all after one
fsync. Between processes the write lock is taken in turn through an exclusive ``flock`` on a
file beside the database, which hands it over as soon as it is free instead of after a sleep.

A transaction runs its changes one after the other without savepoints; only if one of them
fails is the transaction rolled back and run again with each change in its own savepoint, so
one failing change does not undo the others. An operation may therefore run twice: it must only
change the database through its connection (and return a value computed from it).

A thread may also gather its own changes into one transaction (``batch``: the server's event
loop so commits the webhooks it reads in one turn with one fsync). Inside the block each change
joins the transaction in a savepoint of its own and returns before the commit; what must wait
for the commit is passed to ``after_commit``. The block's end commits, or raises ``QueueError``
and none of its changes is kept.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bridge.errors import QueueError
from bridge.queue.sqlite.batches import BatchWriting, _Batch
from bridge.queue.sqlite.transactions import (
    Change,
    fail,
    observe,
    run_all,
    run_each,
)

T = TypeVar("T")

MAX_BATCH = 512  # changes per transaction: bounds how long one commit keeps others waiting

_ALL: weakref.WeakSet[Writer] = weakref.WeakSet()
# Inherited from a parent process: kept referenced (never closed: closing a descriptor would drop
# the child's own POSIX locks on the file, see ``bridge.queue.sqlite.connections``).
_INHERITED: list[object] = []


class Writer(BatchWriting):
    """This process's writes: one transaction at a time, led by a caller or by its thread."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], lock_path: Path) -> None:
        self._connect = connect
        self._lock_path = lock_path
        self._condition = threading.Condition()
        self._pending: list[Change[object]] = []
        self._committing = False  # a transaction is in progress (a caller's or the thread's)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._connection: sqlite3.Connection | None = None
        self._lock: int | None = None  # the lock file's descriptor
        self._local = threading.local()  # ``batch``: this thread's open batch, if any
        # Counts for this process (group commit's measure): changes taken into transactions,
        # and transactions committed.
        self.taken = 0
        self.transactions = 0
        _ALL.add(self)

    def run(self, what: str, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` in a transaction and return its result once committed: at once on
        this thread when nobody else is committing, else in the next transaction.

        An ``sqlite3.Error`` (in the operation or at commit) becomes ``QueueError``; any other
        exception of the operation is raised here as it is, and its changes are undone.
        Inside a ``batch`` on this thread the change joins the batch's transaction instead,
        and its result is returned before the commit.
        """
        batch: _Batch | None = self._local.__dict__.get("batch")
        if batch is not None:
            return self._run_in(batch, what, operation)
        change: Change[T] = Change(what, operation)
        with self._condition:
            queued = self._committing or bool(self._pending) or self._stopping
            if queued:
                self._hand_over(change)
            else:
                self._committing = True
                self.taken += 1
        if not queued:
            self._lead([change])  # type: ignore[list-item]
        return change.wait()

    def submit(self, what: str, operation: Callable[[sqlite3.Connection], T]) -> Callable[[], T]:
        """Hand ``operation`` to the writer thread without waiting for it; the function
        returned waits until it is committed and returns its result (or raises, as ``run``).
        Changes are committed in the order they were handed over. Inside a ``batch`` on this
        thread the change joins the batch at once, as with ``run``."""
        batch: _Batch | None = self._local.__dict__.get("batch")
        if batch is not None:
            return self._submit_in(batch, what, operation)
        change: Change[T] = Change(what, operation)
        with self._condition:
            self._hand_over(change)
        return change.wait

    @property
    def waiting(self) -> int:
        """Changes handed over and not yet taken into a transaction."""
        with self._condition:
            return len(self._pending)

    def close(self) -> None:
        """Commit what is pending, stop the thread and close the connection (a later ``run``
        opens them again)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._condition:
            while self._committing:  # a caller's transaction still in progress
                self._condition.wait()
            self._stopping = False
            connection, lock, self._connection, self._lock = (
                self._connection,
                self._lock,
                None,
                None,
            )
        if connection is not None:
            connection.close()
        if lock is not None:
            os.close(lock)

    def _hand_over(self, change: Change[T]) -> None:
        # Called with the condition held.
        self._pending.append(change)  # type: ignore[arg-type]
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="queue-writer", daemon=True)
            self._thread.start()
        self._condition.notify_all()

    def _forget_after_fork(self) -> None:
        # In a forked child: threads do not survive fork, the parent's pending changes were the
        # parent's, and its connection and lock file are not this process's to use or close.
        _INHERITED.extend(item for item in (self._connection, self._lock) if item is not None)
        self._condition = threading.Condition()
        self._pending, self._committing, self._stopping = [], False, False
        self._thread, self._connection, self._lock = None, None, None
        self._local = threading.local()

    def _lead(self, batch: list[Change[object]]) -> None:
        """Commit ``batch`` (``_committing`` is set: nobody else is), then let the next go."""
        try:
            if self._commit(batch):
                self.transactions += 1
        finally:
            with self._condition:
                self._committing = False
                self._condition.notify_all()

    def _loop(self) -> None:
        while True:
            with self._condition:
                while self._committing or not (self._pending or self._stopping):
                    self._condition.wait()
                if not self._pending:
                    self._thread = None
                    return
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                self.taken += len(batch)
                self._committing = True
            self._lead(batch)

    def _open(self) -> tuple[sqlite3.Connection, int]:
        """This process's write connection and lock file, opened on first use."""
        if self._connection is None:
            try:
                lock = os.open(self._lock_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                raise QueueError(f"queue lock: {exc}") from exc
            try:
                self._connection = self._connect()
            except BaseException:
                os.close(lock)
                raise
            self._lock = lock
        assert self._lock is not None
        return self._connection, self._lock

    def _commit(self, batch: list[Change[object]]) -> bool:
        """Run ``batch`` in one transaction; True if it was committed."""
        committed = locked = False
        began = time.perf_counter()
        try:
            connection, lock = self._open()
            fcntl.flock(lock, fcntl.LOCK_EX)
            locked = True
            began = time.perf_counter()
            if not run_all(connection, batch):
                run_each(connection, batch)
            connection.execute("COMMIT")
            committed = True
        except (sqlite3.Error, OSError, QueueError) as exc:  # the database, disk or lock failed
            fail(self._connection, batch, exc)
        finally:
            if locked:
                fcntl.flock(lock, fcntl.LOCK_UN)
            ended = time.perf_counter()
            for change in batch:
                change.done.release()
            observe(batch, began, ended)
        return committed


def _after_fork_in_child() -> None:
    for writer in list(_ALL):
        writer._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
