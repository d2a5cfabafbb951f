"""Group commit and the conversation index of the SQLite queue; connections across fork."""

from __future__ import annotations

import fcntl
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.errors import QueueError
from bridge.queue import Job, NewJob
from bridge.queue.sqlite.conversations import CLAIMABLE
from bridge.queue.sqlite.store import SqliteQueue


def job(key: str, conversation: str = "p:1", ts: int = 1000) -> NewJob:
    return NewJob(
        key=key, page=conversation.split(":")[0], conversation=conversation, order_ts=ts, payload=""
    )


def poll(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


class HeldLock:
    """The queue's write lock (the ``flock`` beside the database), held by the test: the
    writer blocks on it with what it has taken, and everything else waits behind it."""

    def __init__(self, queue: SqliteQueue) -> None:
        self._file = queue.path.with_name(f"{queue.path.name}-lock").open("a")
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()


def test_concurrent_puts_share_transactions(queue: SqliteQueue) -> None:
    writer = queue._writer
    queue.put([job("first")], now=0)
    before, taken = writer.transactions, writer.taken
    held = HeldLock(queue)
    blocker = threading.Thread(target=queue.put, args=([job("blocker")],), kwargs={"now": 1})
    blocker.start()
    poll(lambda: writer.taken == taken + 1)  # the writer took it and now waits for the lock
    threads = [
        threading.Thread(target=queue.put, args=([job(f"m{n}", f"p:{n}")],), kwargs={"now": 1})
        for n in range(40)
    ]
    for thread in threads:
        thread.start()
    poll(lambda: writer.waiting == 40)
    held.release()
    for thread in [blocker, *threads]:
        thread.join()
    assert writer.transactions - before == 2  # the blocker's, then all 40 puts in one
    assert queue.stats(now=1)["queued"] == 42


def test_a_failing_change_does_not_undo_the_others_in_its_transaction(
    queue: SqliteQueue,
) -> None:
    writer = queue._writer
    queue.put([job("first")], now=0)
    held = HeldLock(queue)
    outcomes: dict[str, object] = {}

    def bad_python(connection: sqlite3.Connection) -> None:
        connection.execute("DELETE FROM jobs")  # undone: the change failed
        raise ValueError("a bug")

    def bad_sql(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO no_such_table VALUES (1)")

    def good(connection: sqlite3.Connection) -> int:
        return int(connection.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def attempt(name: str, operation: Callable[[sqlite3.Connection], object]) -> None:
        try:
            outcomes[name] = writer.run(name, operation)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            outcomes[name] = exc

    taken = writer.taken
    blocker = threading.Thread(target=queue.put, args=([job("second")],), kwargs={"now": 1})
    blocker.start()
    poll(lambda: writer.taken == taken + 1)  # the writer took it and now waits for the lock
    threads = [
        threading.Thread(target=attempt, args=args)
        for args in (("bad_python", bad_python), ("bad_sql", bad_sql), ("good", good))
    ]
    for thread in threads:
        thread.start()
    poll(lambda: writer.waiting == 3)
    held.release()
    for thread in [blocker, *threads]:
        thread.join()
    assert isinstance(outcomes["bad_python"], ValueError)
    assert isinstance(outcomes["bad_sql"], QueueError)
    assert "bad_sql failed" in str(outcomes["bad_sql"])
    assert outcomes["good"] == 2  # the DELETE was rolled back before it ran
    assert queue.state_of("first") == queue.state_of("second") == "queued"


def test_close_commits_what_is_pending_and_the_queue_stays_usable(queue: SqliteQueue) -> None:
    queue.put([job("m1")], now=0)
    queue.close()
    assert queue.put([job("m2")], now=1).added == 1
    queue.close()
    assert queue.stats(now=1)["queued"] == 2


def test_a_forked_child_uses_its_own_connections(queue: SqliteQueue) -> None:
    queue.put([job("parent")], now=0)
    assert queue.stats(now=0)["queued"] == 1  # this thread's read connection is now open
    pid = os.fork()
    if pid == 0:  # the child: new connections and its own writer
        code = 1
        try:
            if queue.put([job("child", "p:2")], now=1).added == 1:
                code = 0 if queue.stats(now=1)["queued"] == 2 else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert queue.state_of("child") == "queued"
    assert queue.put([job("after")], now=2).added == 1  # the parent's connections still work


# --- the conversation index ------------------------------------------------------------------


def derived_conversations(db: Path) -> set[tuple[str, str, int, int | None, int | None]]:
    """What the conversations table must hold, computed from the jobs alone."""
    with sqlite3.connect(db) as connection:
        jobs = connection.execute(
            "SELECT id, page, conversation, order_ts, state FROM jobs"
            " WHERE state IN ('queued', 'running')"
        ).fetchall()
    rows = set()
    for conversation in {row[2] for row in jobs}:
        mine = [row for row in jobs if row[2] == conversation]
        queued = sorted((row[3], row[0]) for row in mine if row[4] == "queued")
        busy = int(any(row[4] == "running" for row in mine))
        head = queued[0] if queued else (None, None)
        rows.add((conversation, mine[0][1], busy, head[0], head[1]))
    return rows


def stored_conversations(db: Path) -> set[tuple[str, str, int, int | None, int | None]]:
    with sqlite3.connect(db) as connection:
        return set(
            connection.execute(
                "SELECT conversation, page, busy, head_ts, head_id FROM conversations"
            ).fetchall()
        )


def test_the_conversation_rows_follow_every_change_of_the_jobs(queue: SqliteQueue) -> None:
    rng = random.Random(7)
    held: list[Job] = []
    serial = 0
    for step in range(400):
        now = float(step)
        action = rng.choice(["put", "put", "claim", "claim", "finish", "release", "requeue"])
        if action == "put":
            serial += 1
            queue.put([job(f"m{serial}", f"p:{rng.randrange(5)}", ts=rng.randrange(100))], now=now)
        elif action == "claim":
            process = rng.choice(["p0", "p1"])
            claimed = queue.claim(owner=f"w{step}", process=process, now=now, lease=50)
            if claimed is not None:
                held.append(claimed)
        elif action == "finish" and held:
            done = held.pop(rng.randrange(len(held)))
            finish = rng.choice(["ack", "retry", "drop", "bury"])
            if finish == "ack":
                queue.ack(done, now=now)
            elif finish == "retry":
                queue.retry(done, at=now, error="again")
            elif finish == "drop":
                queue.drop(done, reason="gone", now=now)
            else:
                queue.bury(done, reason="dead", now=now)
        elif action == "release":
            queue.release_stale(dead=[rng.choice(["p0", "p1"])])  # a process gone
            held = [j for j in held if queue.state_of(j.key) == "running"]
        else:
            queue.requeue(everything=True)
        assert stored_conversations(queue.path) == derived_conversations(queue.path), step


def test_claiming_reads_the_head_index_not_every_queued_job(queue: SqliteQueue) -> None:
    with sqlite3.connect(queue.path) as connection:
        plan = " | ".join(
            row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {CLAIMABLE}", {"now": 0})
        )
    assert "conversations_heads" in plan
    assert "SCAN j" not in plan and "SCAN jobs" not in plan


def test_a_busy_conversations_backlog_does_not_hide_another_conversations_head(
    queue: SqliteQueue,
) -> None:
    queue.put([job(f"a{n:04d}", "p:a", ts=n) for n in range(2000)], now=0)
    queue.put([job("b", "p:b", ts=5000)], now=0)
    first = queue.claim(owner="w1", process="proc", now=1, lease=30)
    second = queue.claim(owner="w2", process="proc", now=1, lease=30)
    assert first is not None and first.key == "a0000"
    assert second is not None and second.key == "b"
    assert queue.claim(owner="w3", process="proc", now=1, lease=30) is None


# --- who commits -----------------------------------------------------------------------------


def test_a_lone_change_is_committed_on_its_callers_thread(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "queue.db")
    ran_on: list[int] = []

    def count(connection: sqlite3.Connection) -> int:
        ran_on.append(threading.get_ident())
        return int(connection.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    try:
        assert queue.put([job("m1")], now=0).added == 1
        assert queue._writer.run("count", count) == 1
        assert ran_on == [threading.get_ident()]
        assert queue._writer._thread is None  # nothing was handed over: no writer thread
        assert queue._writer.transactions == 2
    finally:
        queue.close()


def test_changes_handed_over_during_a_commit_follow_it_in_order(queue: SqliteQueue) -> None:
    writer = queue._writer
    order: list[str] = []

    def note(name: str) -> Callable[[sqlite3.Connection], str]:
        def operation(connection: sqlite3.Connection) -> str:
            connection.execute("SELECT 1")
            order.append(name)
            return name

        return operation

    held = HeldLock(queue)
    taken = writer.taken
    leader = threading.Thread(target=writer.run, args=("lead", note("lead")))
    leader.start()
    poll(lambda: writer.taken == taken + 1)  # the leader commits on its thread, blocked
    later = [writer.submit("later", note(f"later{n}")) for n in range(5)]
    held.release()
    leader.join()
    assert [wait() for wait in later] == [f"later{n}" for n in range(5)]
    assert order == ["lead", *(f"later{n}" for n in range(5))]


def test_close_waits_for_a_callers_commit_in_progress(queue: SqliteQueue) -> None:
    writer = queue._writer
    held = HeldLock(queue)
    taken = writer.taken
    putter = threading.Thread(target=queue.put, args=([job("m1")],), kwargs={"now": 0})
    putter.start()
    poll(lambda: writer.taken == taken + 1)
    closer = threading.Thread(target=queue.close)
    closer.start()
    closer.join(timeout=0.2)
    assert closer.is_alive()  # still waiting for the put's commit
    held.release()
    closer.join()
    putter.join()
    assert queue.state_of("m1") == "queued"
    assert queue.put([job("m2")], now=1).added == 1  # reopened on next use


def test_an_operation_that_fails_alone_leaves_the_writer_usable(queue: SqliteQueue) -> None:
    queue.put([job("m0")], now=0)

    def broken(connection: sqlite3.Connection) -> None:
        connection.execute("DELETE FROM jobs")
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        queue._writer.run("broken", broken)
    assert queue.put([job("m1")], now=0).added == 1
    assert queue.state_of("m0") == queue.state_of("m1") == "queued"
