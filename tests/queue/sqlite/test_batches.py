"""A thread's changes gathered into one transaction of the SQLite queue's writer
(bridge/queue/sqlite/batches.py): what the server's event loop commits a turn's webhooks with."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from bridge.errors import QueueError
from bridge.queue.sqlite.store import SqliteQueue
from tests.queue.sqlite.test_writer import HeldLock, job, poll


def test_a_batch_commits_its_puts_in_one_transaction_when_it_ends(queue: SqliteQueue) -> None:
    writer = queue._writer
    before = writer.transactions
    settled: list[bool] = []
    with queue.batch():
        results = [queue.put([job(f"m{n}", f"p:{n}")], now=1).added for n in range(5)]
        queue.after_commit(settled.append)
        # the puts returned before their commit: nobody else sees them yet, nor waits for them
        assert queue.state_of("m0") is None and settled == []
    assert results == [1] * 5
    assert settled == [True]
    assert writer.transactions - before == 1
    assert [queue.state_of(f"m{n}") for n in range(5)] == ["queued"] * 5


def test_a_batch_without_changes_takes_no_lock_and_calls_back_at_once(queue: SqliteQueue) -> None:
    writer = queue._writer
    before = writer.transactions
    held = HeldLock(queue)  # a batch that took the lock would wait here forever
    settled: list[bool] = []
    try:
        with queue.batch():
            queue.after_commit(settled.append)
            assert settled == [True]  # nothing of this thread's is uncommitted
    finally:
        held.release()
    assert writer.transactions == before
    queue.after_commit(settled.append)  # outside a batch: at once too
    assert settled == [True, True]


def test_a_failing_change_in_a_batch_is_undone_alone_and_raised_to_its_caller(
    queue: SqliteQueue,
) -> None:
    writer = queue._writer

    def bad_python(connection: sqlite3.Connection) -> None:
        connection.execute("DELETE FROM jobs")  # undone with its savepoint
        raise ValueError("a bug")

    def bad_sql(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO no_such_table VALUES (1)")

    with queue.batch():
        queue.put([job("before")], now=1)
        with pytest.raises(ValueError, match="a bug"):
            writer.run("bad_python", bad_python)
        with pytest.raises(QueueError, match="bad_sql failed"):
            writer.run("bad_sql", bad_sql)
        queue.put([job("after")], now=1)
    assert queue.state_of("before") == queue.state_of("after") == "queued"


def test_a_batch_whose_commit_fails_keeps_none_of_its_changes(queue: SqliteQueue) -> None:
    # A foreign key checked only at COMMIT: SQLite refuses the commit itself.
    writer = queue._writer
    writer.run(
        "schema",
        lambda c: c.execute(
            "CREATE TABLE child (parent INTEGER REFERENCES jobs(id) DEFERRABLE INITIALLY DEFERRED)"
        ),
    )
    connection, _ = writer._open()
    connection.execute("PRAGMA foreign_keys = ON")  # outside a transaction, or it does nothing
    settled: list[bool] = []
    with pytest.raises(QueueError, match="a batch of 2 changes failed"), queue.batch():
        queue.put([job("m1")], now=1)
        queue.after_commit(settled.append)
        writer.run("orphan", lambda c: c.execute("INSERT INTO child VALUES (999999)"))
    assert settled == [False]
    assert queue.state_of("m1") is None
    assert queue.put([job("m2")], now=2).added == 1  # the writer goes on


def test_an_error_in_the_block_undoes_the_batch(queue: SqliteQueue) -> None:
    settled: list[bool] = []
    with pytest.raises(RuntimeError), queue.batch():
        queue.put([job("m1")], now=1)
        queue.after_commit(settled.append)
        raise RuntimeError("the caller's own failure")
    assert settled == [False]
    assert queue.state_of("m1") is None
    assert queue.put([job("m1")], now=2).added == 1


def test_other_threads_changes_wait_for_the_batch_and_commit_after_it(
    queue: SqliteQueue,
) -> None:
    writer = queue._writer
    other = threading.Thread(target=queue.put, args=([job("theirs", "p:2")],), kwargs={"now": 1})
    with queue.batch():
        queue.put([job("ours")], now=1)
        other.start()
        poll(lambda: writer.waiting == 1)  # handed to the writer's thread, behind the batch
        waited = writer.submit("count", lambda c: c.execute("SELECT COUNT(*) FROM jobs").fetchone())
        assert waited() == (1,)  # this thread's submit joins its own batch at once
    other.join(10)
    assert not other.is_alive()
    assert queue.state_of("ours") == queue.state_of("theirs") == "queued"


def test_a_batch_inside_a_batch_is_part_of_it(queue: SqliteQueue) -> None:
    writer = queue._writer
    before = writer.transactions
    with queue.batch():
        queue.put([job("m1")], now=1)
        with queue.batch():
            queue.put([job("m2", "p:2")], now=1)
        assert queue.state_of("m2") is None  # not committed by the inner block's end
    assert writer.transactions - before == 1
    assert queue.state_of("m1") == queue.state_of("m2") == "queued"
