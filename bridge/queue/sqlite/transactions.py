"""The writer's changes and the statements of its transactions (``bridge.queue.sqlite.writer``).

A batch of changes runs in one transaction without savepoints (``run_all``); only if one of
them fails is it rolled back and run again with each change in its own savepoint
(``run_each``), so one failing change does not undo the others. A change may also join an open
transaction in a savepoint of its own at once (``run_saved``: the changes of a batch scope).
A transaction that could not be committed fails every change of it (``fail``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from bridge.errors import QueueError

T = TypeVar("T")


class Change(Generic[T]):
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


def run_all(connection: sqlite3.Connection, batch: list[Change[object]]) -> bool:
    """Run every change in a new transaction; False (and rolled back) if one of them failed."""
    connection.execute("BEGIN IMMEDIATE")
    for change in batch:
        try:
            change.result = change.operation(connection)
        except BaseException:  # noqa: BLE001 - run again one by one to tell whose it was
            connection.execute("ROLLBACK")
            return False
    return True


def run_each(connection: sqlite3.Connection, batch: list[Change[object]]) -> None:
    """Run every change in a new transaction, each in its own savepoint: a failing change is
    undone alone and its error kept for its caller."""
    connection.execute("BEGIN IMMEDIATE")
    for change in batch:
        run_saved(connection, change)


def run_saved(connection: sqlite3.Connection, change: Change[T]) -> bool:
    """Run ``change`` in its own savepoint of the open transaction; False if it failed (undone
    alone, its error kept for its caller: an ``sqlite3.Error`` as ``QueueError``). A savepoint
    that cannot be undone (SQLite ended the transaction itself) raises ``sqlite3.Error``."""
    change.result = None
    connection.execute("SAVEPOINT change")
    try:
        change.result = change.operation(connection)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller
        connection.execute("ROLLBACK TO change")
        connection.execute("RELEASE change")
        change.error = (
            QueueError(f"{change.what} failed: {exc}") if isinstance(exc, sqlite3.Error) else exc
        )
        return False
    connection.execute("RELEASE change")
    return True


def fail(
    connection: sqlite3.Connection | None, batch: list[Change[object]], exc: Exception
) -> None:
    """The transaction could not be committed: undo it, and fail every change of it."""
    rollback(connection)
    error = exc if isinstance(exc, QueueError) else None
    for change in batch:
        change.result = None
        if change.error is None:
            change.error = error or QueueError(f"{change.what} failed: {exc}")


def rollback(connection: sqlite3.Connection | None) -> None:
    """Undo the open transaction, if any."""
    if connection is not None and connection.in_transaction:
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back (e.g. after an I/O error)


def observe(batch: list[Change[object]], began: float, ended: float) -> None:
    """Each change's wait for its transaction, and the transaction's time (both as its caller
    waited them)."""
    # Imported here: gunicorn.conf.py imports the queue before prometheus_client may be
    # imported (it prepares the multi-process metrics folder first).
    from bridge.obs.stages import observe_queue_write

    took = ended - began
    for change in batch:
        observe_queue_write(change.what, max(0.0, began - change.handed), took)
