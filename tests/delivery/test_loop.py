"""The delivery loop: threads that deliver in order, wake-ups, drain at stop, stored events."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import responses

from bridge.delivery.loop import UNHELD, Delivery
from bridge.messenger import events
from bridge.messenger.events import Event
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Reply, Text
from bridge.queue import Job
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.webhook import to_new_job
from tests.conftest import ScriptedBot, wait_for
from tests.delivery.harness import (
    NOW_MS,
    delivery,
    enqueue,
    handler,
    ok,
    text,
    texts,
)

# --- threads, recovery, drain ------------------------------------------------------------------


def test_threads_deliver_every_conversation_in_order(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, 200)
    evs = [
        text(f"u{u}", f"msg {i}", f"m-{u}-{i}", ts=NOW_MS + i) for i in range(6) for u in range(4)
    ]
    enqueue(queue, *evs)
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False), threads=4)
    worker.start()
    try:
        wait_for(lambda: queue.stats(now=0)["done"] == len(evs), what="all jobs done")
    finally:
        assert worker.stop(timeout=5)
    for u in range(4):
        assert texts(graph_api, f"u{u}") == [f"echo: msg {i}" for i in range(6)]


def test_wake_starts_work_without_waiting_for_the_poll(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False), poll_interval=60)
    worker.start()
    try:
        wait_for(worker.is_alive, what="thread start")
        enqueue(queue, text("7", "hi", "m1"))
        worker.wake()
        wait_for(lambda: queue.state_of("m1") == "done", timeout=5, what="woken delivery")
    finally:
        worker.stop(timeout=5)


def test_stop_lets_the_turn_in_flight_finish(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow(event: Event) -> list[Reply]:
        entered.set()
        release.wait(10)
        return [Text("done at last")]

    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    worker = delivery(queue, handler(queue, ScriptedBot(slow), graph, actions=False))
    worker.start()
    assert entered.wait(10)
    result: list[bool] = []
    stopper = threading.Thread(target=lambda: result.append(worker.stop(timeout=10)))
    stopper.start()
    release.set()
    stopper.join(15)
    assert result == [True]
    assert queue.state_of("m1") == "done"
    assert not worker.is_alive()


def test_stop_releases_a_turn_that_cannot_finish_in_time(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def stuck(event: Event) -> list[Reply]:
        entered.set()
        release.wait(10)
        return [Text("too late")]

    enqueue(queue, text("7", "hi", "m1"), text("7", "next", "m2", ts=NOW_MS + 1))
    worker = delivery(
        queue, handler(queue, ScriptedBot(stuck), graph, actions=False, answer_deadline=29)
    )
    worker.start()
    assert entered.wait(10)
    assert worker.stop(timeout=0.2) is False
    release.set()
    assert queue.state_of("m1") == "queued"  # back in the queue, ahead of m2
    nxt = queue.claim(owner="next", process="next", now=NOW_MS / 1000, lease=30)
    assert nxt is not None and nxt.key == "m1" and nxt.attempts == 1  # the attempt was refunded


def test_stored_events_round_trip_through_the_queue(queue: SqliteQueue) -> None:
    event = events.Postback(
        page_id="42",
        sender_id="7",
        timestamp=5,
        mid=None,
        title="Get Started",
        payload="GET_STARTED",
    )
    enqueue(queue, event)
    claimed = queue.claim(owner="w", process="p", now=1, lease=30)
    assert claimed is not None
    assert events.from_json(claimed.payload) == event
    assert (claimed.conversation, claimed.page) == ("42:7", "42")


class ClaimCount(SqliteQueue):
    """The real queue, counting the jobs delivery threads took with a claim of their own."""

    claimed = 0

    def claim(self, *, owner: str, process: str, now: float, lease: float) -> Job | None:
        job = super().claim(owner=owner, process=process, now=now, lease=lease)
        self.claimed += job is not None
        return job


def test_an_idle_thread_runs_what_the_webhook_s_commit_claimed_for_it(
    tmp_path: Path, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    queue = ClaimCount(tmp_path / "q.db")
    ok(graph_api, 2)
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False), poll_interval=60)
    worker.start()
    try:
        wait_for(lambda: worker.idle_threads == 1, what="an idle thread")
        jobs = [to_new_job(text("7", "hi", "m1"), 0), to_new_job(text("7", "again", "m2"), 0)]
        result = worker.accept(jobs, now=NOW_MS / 1000)
        assert (result.added, result.duplicates) == (2, 0)
        wait_for(lambda: queue.state_of("m2") == "done", timeout=5, what="both answered")
    finally:
        assert worker.stop(timeout=5)
    # m1 was claimed by the webhook's commit, m2 with m1's ack: no claim of the thread's own.
    assert queue.claimed == 0
    assert texts(graph_api) == ["echo: hi", "echo: again"]


def test_a_busy_process_leaves_new_jobs_to_its_threads_next_claim(
    tmp_path: Path, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    queue = ClaimCount(tmp_path / "q.db")
    ok(graph_api)
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False))
    result = worker.accept([to_new_job(text("7", "hi", "m1"), 0)], now=NOW_MS / 1000)
    assert result.added == 1 and queue.state_of("m1") == "queued"  # no idle thread here
    assert worker.run_once("w") and queue.claimed == 1
    assert queue.state_of("m1") == "done"


# --- acks at the pace of answers while every thread is busy ------------------------------------


def _busy_worker(
    queue: SqliteQueue, graph: GraphClient, ack_hold: float
) -> tuple[Delivery, threading.Event, threading.Event]:
    """A one-thread delivery whose thread is held inside a turn until ``release`` is set."""
    release, entered = threading.Event(), threading.Event()

    def held(event: Event) -> list[Reply]:
        entered.set()
        release.wait(10)
        return [Text("answered")]

    turn = handler(queue, ScriptedBot(held), graph, actions=False)
    worker = delivery(queue, turn, ack_hold=ack_hold)
    enqueue(queue, text("7", "first", "m1"))
    worker.start()
    assert entered.wait(10)
    return worker, release, entered


def _accept_in_thread(worker: Delivery, mid: str, *, unheld: bool = False) -> threading.Event:
    accepted = threading.Event()

    def webhook() -> None:
        UNHELD.set(unheld)  # as the server's event loop sets it (bridge.web.worker)
        worker.accept([to_new_job(text("8", "next", mid), 0)], now=NOW_MS / 1000)
        accepted.set()

    threading.Thread(target=webhook, daemon=True).start()
    return accepted


def test_a_webhook_behind_busy_threads_is_acked_when_a_turn_ends(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, 2)
    worker, release, _ = _busy_worker(queue, graph, ack_hold=10)
    try:
        accepted = _accept_in_thread(worker, "m2")
        wait_for(lambda: queue.state_of("m2") == "queued", what="m2 committed")
        assert not accepted.wait(0.2)  # committed, its 200 held while the one thread is busy
        release.set()
        assert accepted.wait(10)
        wait_for(lambda: queue.state_of("m2") == "done", what="m2 answered")
    finally:
        release.set()
        assert worker.stop(timeout=5)


def test_the_hold_ends_after_ack_hold_even_if_no_turn_ends(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, 2)
    worker, release, _ = _busy_worker(queue, graph, ack_hold=0.05)
    try:
        started = time.monotonic()
        accepted = _accept_in_thread(worker, "m2")
        assert accepted.wait(10)
        assert time.monotonic() - started >= 0.05
        assert queue.state_of("m1") == "running"  # the turn is still in flight
    finally:
        release.set()
        assert worker.stop(timeout=5)


def test_busy_threads_hold_acks_and_a_webhook_on_the_event_loop_is_not_held(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, 2)
    worker, release, _ = _busy_worker(queue, graph, ack_hold=10)
    try:
        assert worker.holds_acks()  # what the server asks before answering on its loop
        assert _accept_in_thread(worker, "m2", unheld=True).wait(10)
        assert queue.state_of("m2") == "queued"
    finally:
        release.set()
        assert worker.stop(timeout=5)


def test_no_hold_with_ack_hold_0(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, 2)
    worker, release, _ = _busy_worker(queue, graph, ack_hold=0)
    try:
        assert not worker.holds_acks()
        assert _accept_in_thread(worker, "m2").wait(10)  # the one thread is busy: not held
    finally:
        release.set()
        worker.stop(timeout=5)


def test_no_hold_while_a_thread_is_idle(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, 1)
    turn = handler(queue, ScriptedBot(), graph, actions=False)
    idle = delivery(queue, turn, poll_interval=60, ack_hold=10)
    idle.start()
    try:
        wait_for(lambda: idle.idle_threads == 1, what="an idle thread")
        assert not idle.holds_acks()
        assert _accept_in_thread(idle, "m3").wait(10)
        wait_for(lambda: queue.state_of("m3") == "done", what="m3 answered")
    finally:
        assert idle.stop(timeout=5)
