"""A thread's own changes in one transaction of the writer (``Writer.batch``).

The server's event loop so commits the webhooks it reads in one turn (bridge/web/worker.py):
one ``BEGIN IMMEDIATE`` … ``COMMIT`` and one fsync for all of them instead of one each. Inside
the block each change joins the transaction in a savepoint of its own (a failing one is undone
alone and raised to its caller) and returns before the commit; what must wait for the commit
(waking a delivery thread for a new job) is passed to ``after_commit``. The transaction begins
with the block's first change, after any transaction in progress, and holds the writer (and the
lock between processes) until the block ends; the end commits, or raises ``QueueError`` and
none of the block's changes is kept.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from bridge.errors import QueueError
from bridge.queue.sqlite.transactions import Change, observe, rollback, run_saved

T = TypeVar("T")


class _Batch:
    """A thread's open ``batch``: its transaction (once a change began it) and what follows
    its commit."""

    __slots__ = ("began", "broken", "callbacks", "changes", "open")

    def __init__(self) -> None:
        self.open = False  # the transaction began (the writer is this batch's until it ends)
        self.began = 0.0
        self.broken: BaseException | None = None  # SQLite ended the transaction itself
        self.changes: list[Change[object]] = []
        self.callbacks: list[Callable[[bool], None]] = []


class BatchWriting:
    """``Writer``'s batches; the attributes are the writer's own."""

    _condition: threading.Condition
    _committing: bool
    _connection: sqlite3.Connection | None
    _lock: int | None
    _local: threading.local
    taken: int
    transactions: int

    def _open(self) -> tuple[sqlite3.Connection, int]:
        raise NotImplementedError

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Gather this thread's changes until the block ends into one transaction, committed
        then (``QueueError`` if it cannot be: none of them is kept). The transaction begins
        with the first change, so a block without changes costs nothing; inside one, a further
        ``batch`` is part of it."""
        if self._local.__dict__.get("batch") is not None:
            yield
            return
        batch = self._local.batch = _Batch()
        try:
            yield
        except BaseException:
            self._local.batch = None
            self._end(batch, commit=False)
            raise
        self._local.batch = None
        self._end(batch, commit=True)

    def after_commit(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback`` once this thread's changes so far are settled: with True once
        committed, False if their batch's commit failed. Outside a batch (or before its first
        change) that is now."""
        batch: _Batch | None = self._local.__dict__.get("batch")
        if batch is None or not batch.open:
            callback(True)
        else:
            batch.callbacks.append(callback)

    def _run_in(self, batch: _Batch, what: str, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` in its own savepoint of the batch's transaction (begun now if it
        is the first change); its result, before the commit."""
        change: Change[T] = Change(what, operation)
        if batch.broken is not None:
            raise QueueError(f"{what} failed: {batch.broken}")
        if not batch.open:
            self._begin(batch, what)
        assert self._connection is not None
        batch.changes.append(change)  # type: ignore[arg-type]
        try:
            saved = run_saved(self._connection, change)
        except sqlite3.Error as exc:
            batch.broken = exc
            raise QueueError(f"{what} failed: {exc}") from exc
        if not saved:
            assert change.error is not None
            raise change.error
        return change.result  # type: ignore[return-value]

    def _begin(self, batch: _Batch, what: str) -> None:
        """Take the writer for ``batch`` (after any transaction in progress) and begin it."""
        with self._condition:
            while self._committing:
                self._condition.wait()
            self._committing = True
        try:
            connection, lock = self._open()
            fcntl.flock(lock, fcntl.LOCK_EX)
        except QueueError:
            self._release(None)
            raise
        except OSError as exc:
            self._release(None)
            raise QueueError(f"{what} failed: {exc}") from exc
        batch.began = time.perf_counter()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._release(lock)
            raise QueueError(f"{what} failed: {exc}") from exc
        batch.open = True

    def _end(self, batch: _Batch, *, commit: bool) -> None:
        """Commit (or undo) the batch's transaction, let the next transaction go, then call
        what waited for the commit."""
        if not batch.open:
            return
        error: BaseException | None = batch.broken
        committed = False
        try:
            if commit and error is None:
                assert self._connection is not None
                self._connection.execute("COMMIT")
                committed = True
        except sqlite3.Error as exc:
            error = exc
        finally:
            if not committed:
                rollback(self._connection)
            observe(batch.changes, batch.began, time.perf_counter())
            self._release(self._lock, taken=len(batch.changes), committed=committed)
        for callback in batch.callbacks:
            callback(committed)
        if commit and not committed:
            raise QueueError(f"a batch of {len(batch.changes)} changes failed: {error}")

    def _release(self, lock: int | None, *, taken: int = 0, committed: bool = False) -> None:
        """A batch's transaction is over: unlock, count it, let the next one go."""
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)
        with self._condition:
            self.taken += taken
            self.transactions += int(committed)
            self._committing = False
            self._condition.notify_all()

    def _submit_in(
        self, batch: _Batch, what: str, operation: Callable[[sqlite3.Connection], T]
    ) -> Callable[[], T]:
        """``submit`` inside a batch: the change joins it at once; the waiter returns its
        result or raises its error."""
        try:
            result = self._run_in(batch, what, operation)
        except Exception as exc:  # noqa: BLE001 - raised by the waiter, as handed over
            error = exc

            def failed() -> T:
                raise error

            return failed
        return lambda: result
