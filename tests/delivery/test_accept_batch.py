"""A webhook's jobs accepted inside a queue batch (the server's event loop commits a turn's
webhooks together): delivery threads get them only once they are committed, and a batch that
fails gives them nothing and leaves no room claimed."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from bridge.messenger.events import Event
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Reply, Text
from bridge.web.webhook import to_new_job
from tests.conftest import ScriptedBot, wait_for
from tests.delivery.harness import NOW_MS, delivery, handler, ok, text, texts
from tests.delivery.test_loop import ClaimCount


def test_jobs_claimed_in_a_batch_reach_the_idle_thread_once_committed(
    tmp_path: Path, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    queue = ClaimCount(tmp_path / "q.db")
    seen: list[str | None] = []

    def answer(event: Event) -> list[Reply]:
        seen.append(queue.state_of("m1"))  # read on the thread's own connection
        return [Text("answered")]

    ok(graph_api)
    worker = delivery(queue, handler(queue, ScriptedBot(answer), graph, actions=False))
    worker.start()
    try:
        wait_for(lambda: worker.idle_threads == 1, what="an idle thread")
        with queue.batch():
            result = worker.accept([to_new_job(text("7", "hi", "m1"), 0)], now=NOW_MS / 1000)
            assert result.added == 1 and queue.state_of("m1") is None  # not committed yet
        wait_for(lambda: queue.state_of("m1") == "done", timeout=5, what="m1 answered")
    finally:
        assert worker.stop(timeout=5)
    assert seen == ["running"]  # the turn began with its claim committed
    assert queue.claimed == 0  # claimed by the batch's commit, handed over after it
    assert texts(graph_api) == ["answered"]


def test_a_failed_batch_hands_nothing_over_and_frees_the_room_it_claimed(
    tmp_path: Path, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    queue = ClaimCount(tmp_path / "q.db")
    ok(graph_api)
    turn = handler(queue, ScriptedBot(), graph, actions=False)
    worker = delivery(queue, turn, poll_interval=60, ack_hold=0.5)
    worker.start()
    try:
        wait_for(lambda: worker.idle_threads == 1, what="an idle thread")
        with pytest.raises(RuntimeError), queue.batch():
            worker.accept([to_new_job(text("7", "lost", "m1"), 0)], now=NOW_MS / 1000)
            raise RuntimeError("the turn failed before its commit")
        assert queue.state_of("m1") is None
        assert not worker.holds_acks()  # the idle thread is free for the next webhook again
        worker.accept([to_new_job(text("7", "hi", "m2"), 0)], now=NOW_MS / 1000)
        wait_for(lambda: queue.state_of("m2") == "done", timeout=5, what="m2 answered")
    finally:
        assert worker.stop(timeout=5)
    assert queue.claimed == 0  # m2 too was claimed by its webhook's commit: the room was back
    assert texts(graph_api) == ["echo: hi"]
