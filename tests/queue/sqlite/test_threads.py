"""Thread state in the SQLite queue (bridge/queue/sqlite/threads.py): committed with the jobs,
recorded by the worker, purged when idle."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.messenger.thread_control import ThreadSignal, ThreadState, apply_all
from bridge.queue import PutResult
from bridge.queue.sqlite.schema import create_schema
from bridge.queue.sqlite.store import SqliteQueue
from bridge.queue.sqlite.threads import _THREAD_COLUMNS, record_threads
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


_SIGNALS = st.builds(
    ThreadSignal,
    page=st.just("p"),
    user=st.sampled_from(["1", "2"]),
    at=st.one_of(st.integers(-5, 5), st.integers(0, 10_000)),
    kind=st.sampled_from(["inbound", "inbound", "standby", "hold", "release"]),
    holder=st.sampled_from([None, "page_inbox", "other_app"]),
    reason=st.sampled_from(["", "inbox_echo", "handover"]),
)


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(_SIGNALS, max_size=4), max_size=6))
def test_the_rows_are_what_apply_makes_of_the_signals(batches: list[list[ThreadSignal]]) -> None:
    """Whatever the signals and however they are batched, each row is the fold of ``apply``
    over its batches (the shortcut for a never-held thread's messages included)."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    create_schema(connection)
    expected: dict[str, ThreadState] = {}
    for number, batch in enumerate(batches):
        record_threads(connection, batch, now=float(number))
        for user in dict.fromkeys(signal.user for signal in batch):
            start = expected.get(user, ThreadState("p", user))
            expected[user] = apply_all(start, [s for s in batch if s.user == user])
    rows = connection.execute(f"SELECT {_THREAD_COLUMNS} FROM threads").fetchall()
    assert {row[1]: ThreadState(*row) for row in rows} == expected
    connection.close()


def test_a_held_threads_message_goes_through_apply(queue: SqliteQueue) -> None:
    hold = ThreadSignal("p", "1", 100, "hold", holder="page_inbox", reason="inbox_echo")
    standby = ThreadSignal("p", "1", 200, "standby")
    queue.put([], now=1, signals=[hold, standby])
    queue.put([job("m1", "p:1", ts=300)], now=2, signals=[ThreadSignal("p", "1", 300, "inbound")])
    state = queue.thread("p", "1")
    # Routed back to the bridge (standby seen during the hold): apply ended the hold.
    assert state is not None and state.held_until == 300 and state.last_inbound == 300
