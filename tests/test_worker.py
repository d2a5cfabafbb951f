"""Delivery: one turn per event, replies sent in order, retries resume where they stopped."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from bridge import events
from bridge.errors import BotError, BotErrorKind
from bridge.events import Event, TextMessage
from bridge.graph import GraphClient
from bridge.queue.sqlite import SqliteQueue
from bridge.replies import Button, Card, Reply, Text
from bridge.webhook import to_new_job
from bridge.worker import Delivery, TurnHandler, backoff
from tests.conftest import GRAPH, ScriptedBot, wait_for

SEND_URL = f"{GRAPH}/v25.0/me/messages"
FALLBACK = "Sorry, try again."


@pytest.fixture
def graph_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def ok(mock: responses.RequestsMock, times: int = 1) -> None:
    for _ in range(times):
        mock.post(SEND_URL, json={"recipient_id": "1", "message_id": "m_out"})


def sent(mock: responses.RequestsMock) -> list[dict[str, Any]]:
    return [json.loads(call.request.body or b"{}") for call in mock.calls]


def enqueue(queue: SqliteQueue, *evs: Event) -> None:
    queue.put([to_new_job(event, 0) for event in evs], now=0)


def text(psid: str, body: str, mid: str, ts: int = 1) -> TextMessage:
    return TextMessage(page_id="42", sender_id=psid, timestamp=ts, mid=mid, text=body)


def handler(queue: SqliteQueue, bot: Any, graph: GraphClient, actions: bool = True) -> TurnHandler:
    return TurnHandler(
        queue=queue, bot=bot, graph=graph, fallback_text=FALLBACK, sender_actions=actions
    )


def delivery(
    queue: SqliteQueue, turn: TurnHandler, threads: int = 1, max_attempts: int = 3
) -> Delivery:
    return Delivery(
        queue, turn, threads=threads, poll_interval=0.01, max_attempts=max_attempts, lease=30
    )


def test_a_turn_marks_seen_types_asks_the_bot_once_and_sends_in_order(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot(lambda e: [Text("one"), Card("Pick", buttons=(Button("A", "a"),))])
    ok(graph_api, 4)
    enqueue(queue, text("7", "hi", "m1"))
    assert delivery(queue, handler(queue, bot, graph)).run_once("w")
    bodies = sent(graph_api)
    assert [b.get("sender_action") for b in bodies[:2]] == ["mark_seen", "typing_on"]
    assert bodies[2] == {
        "recipient": {"id": "7"},
        "messaging_type": "RESPONSE",
        "message": {"text": "one"},
    }
    assert bodies[3]["message"]["quick_replies"] == [
        {"content_type": "text", "title": "A", "payload": "a"}
    ]
    assert len(bot.turns) == 1
    assert queue.state_of("m1") == "done"


def test_sender_actions_can_be_turned_off(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, ScriptedBot(), graph, actions=False)).run_once("w")
    assert [b.get("message") for b in sent(graph_api)] == [{"text": "echo: hi"}]


def test_a_failed_send_is_retried_without_asking_the_bot_again(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot(lambda e: [Text("part one"), Text("part two")])
    graph_api.post(SEND_URL, json={})  # mark_seen
    graph_api.post(SEND_URL, json={})  # typing_on
    graph_api.post(SEND_URL, json={"message_id": "m_a"})  # part one
    graph_api.post(SEND_URL, status=500, json={"error": {"message": "x", "code": 2}})
    graph_api.post(SEND_URL, json={"message_id": "m_b"})  # part two, on retry
    enqueue(queue, text("7", "hi", "m1"))
    clock = [1000.0]
    worker = Delivery(
        queue,
        handler(queue, bot, graph),
        threads=1,
        poll_interval=0.01,
        max_attempts=3,
        lease=30,
        clock=lambda: clock[0],
    )
    assert worker.run_once("w")
    assert queue.state_of("m1") == "queued"
    clock[0] += 1000  # past any backoff
    assert worker.run_once("w")
    assert queue.state_of("m1") == "done"
    assert len(bot.turns) == 1
    texts = [b["message"]["text"] for b in sent(graph_api) if "message" in b]
    assert texts == ["part one", "part two", "part two"]  # the failed attempt, then the retry


def test_a_retryable_bot_error_requeues_and_a_later_attempt_answers(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    calls = {"n": 0}

    def flaky(event: Event) -> list[Reply]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise BotError(BotErrorKind.RETRY, "ThrottlingException")
        return [Text("finally")]

    ok(graph_api, 10)
    enqueue(queue, text("7", "hi", "m1"))
    clock = [0.0]
    worker = Delivery(
        queue,
        handler(queue, ScriptedBot(flaky), graph, actions=False),
        threads=1,
        poll_interval=0.01,
        max_attempts=3,
        lease=30,
        clock=lambda: clock[0],
    )
    worker.run_once("w")
    assert queue.state_of("m1") == "queued" and sent(graph_api) == []
    clock[0] = 10_000
    worker.run_once("w")
    assert [b["message"]["text"] for b in sent(graph_api)] == ["finally"]


@pytest.mark.parametrize("kind", [BotErrorKind.FALLBACK, BotErrorKind.CONFIG])
def test_a_failed_turn_answers_the_fallback_text_once(
    kind: BotErrorKind,
    queue: SqliteQueue,
    graph: GraphClient,
    graph_api: responses.RequestsMock,
) -> None:
    def broken(event: Event) -> list[Reply]:
        raise BotError(kind, "DependencyFailedException")

    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, ScriptedBot(broken), graph, actions=False)).run_once("w")
    assert [b["message"] for b in sent(graph_api)] == [{"text": FALLBACK}]
    assert queue.state_of("m1") == "done"


def test_no_reply_turns_typing_off(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, 3)
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, ScriptedBot(lambda e: []), graph)).run_once("w")
    assert [b.get("sender_action") for b in sent(graph_api)] == [
        "mark_seen",
        "typing_on",
        "typing_off",
    ]
    assert queue.state_of("m1") == "done"


def test_a_failing_sender_action_does_not_stop_the_turn(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    graph_api.post(SEND_URL, status=400, json={"error": {"message": "x", "code": 100}})
    graph_api.post(SEND_URL, status=400, json={"error": {"message": "x", "code": 100}})
    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, ScriptedBot(), graph)).run_once("w")
    assert queue.state_of("m1") == "done"
    assert sent(graph_api)[-1]["message"] == {"text": "echo: hi"}


def test_a_job_that_keeps_failing_becomes_a_dead_letter(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    for _ in range(5):
        graph_api.post(SEND_URL, status=503, json={"error": {"message": "x", "code": 2}})
    enqueue(queue, text("7", "hi", "m1"))
    clock = [0.0]
    worker = Delivery(
        queue,
        handler(queue, ScriptedBot(), graph, actions=False),
        threads=1,
        poll_interval=0.01,
        max_attempts=2,
        lease=30,
        clock=lambda: clock[0],
    )
    worker.run_once("w")
    clock[0] = 10_000
    worker.run_once("w")
    assert queue.state_of("m1") == "dead"
    assert queue.claim(owner="w", now=20_000, lease=30) is None


def test_a_bug_in_a_turn_keeps_the_job(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    def buggy(event: Event) -> list[Reply]:
        raise KeyError("oops")

    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, ScriptedBot(buggy), graph, actions=False)).run_once("w")
    assert queue.state_of("m1") == "queued"


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(1, 100, rng=lambda: 0.0) == 100.5
    assert backoff(1, 100, rng=lambda: 1.0) == 101.0
    assert backoff(4, 0, rng=lambda: 1.0) == 8.0
    assert backoff(40, 0, rng=lambda: 1.0) == 300.0


def test_threads_deliver_every_conversation_in_order(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, 200)
    evs = [text(f"u{u}", f"msg {i}", f"m-{u}-{i}", ts=i) for i in range(6) for u in range(4)]
    enqueue(queue, *evs)
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False), threads=4)
    worker.start()
    try:
        wait_for(lambda: queue.stats(now=0)["done"] == len(evs), what="all jobs done")
    finally:
        assert worker.stop(timeout=5)
    per_user: dict[str, list[str]] = {}
    for body in sent(graph_api):
        per_user.setdefault(body["recipient"]["id"], []).append(body["message"]["text"])
    assert per_user == {f"u{u}": [f"echo: msg {i}" for i in range(6)] for u in range(4)}


def test_wake_starts_work_without_waiting_for_the_poll(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    worker = Delivery(
        queue,
        handler(queue, ScriptedBot(), graph, actions=False),
        threads=1,
        poll_interval=60,
        max_attempts=3,
        lease=30,
    )
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
    claimed = queue.claim(owner="w", now=1, lease=30)
    assert claimed is not None
    assert events.from_json(claimed.payload) == event
    assert claimed.conversation == "42:7"
