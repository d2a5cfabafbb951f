"""Thread state in the SQLite queue (bridge/queue/sqlite/threads.py): committed with the jobs,
recorded by the worker, purged when idle."""

from __future__ import annotations

from bridge.messenger.thread_control import ThreadSignal, ThreadState
from bridge.queue import PutResult
from bridge.queue.sqlite.store import SqliteQueue
from tests.queue.sqlite.test_store import job


def test_signals_are_committed_with_the_jobs_and_alone(queue: SqliteQueue) -> None:
    signals = [
        ThreadSignal("p", "1", 5000, "inbound"),
        ThreadSignal("p", "1", 6000, "hold", holder="page_inbox", reason="inbox_echo"),
    ]
    assert queue.put([job("m1", "p:1", ts=5000)], now=7, signals=signals).added == 1
    assert queue.thread("p", "1") == ThreadState(
        "p",
        "1",
        last_inbound=5000,
        holder="page_inbox",
        held_from=6000,
        human_seen=6000,
        reason="inbox_echo",
    )
    assert queue.thread("p", "2") is None
    # Signals without jobs (an echo, a handover) are committed too.
    assert queue.put([], now=8, signals=[ThreadSignal("p", "1", 7000, "release")]) == PutResult(
        0, 0
    )
    state = queue.thread("p", "1")
    assert state is not None and state.held_until == 7000 and state.last_inbound == 5000


def test_record_threads_applies_the_workers_own_signals(queue: SqliteQueue) -> None:
    queue.record_threads(
        [ThreadSignal("p", "9", 100, "hold", holder="other_app", reason="send_error")], now=1
    )
    state = queue.thread("p", "9")
    assert state is not None and state.is_open and state.holder == "other_app"
    queue.record_threads([], now=2)  # nothing to do


def test_purge_forgets_threads_not_touched_since(queue: SqliteQueue) -> None:
    queue.put([], now=100, signals=[ThreadSignal("p", "old", 1, "inbound")])
    queue.put([], now=900, signals=[ThreadSignal("p", "new", 2, "inbound")])
    queue.purge(before=500)
    assert queue.thread("p", "old") is None and queue.thread("p", "new") is not None
