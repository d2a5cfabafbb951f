"""Outbound jobs through the real turn and loop: checked again before each send, sent with
their messaging type and tag (or to a token), the ledger and message ids, the bot asked once
for ``lex``, and the conversation's order."""

from __future__ import annotations

import json
import threading
from typing import Any

import responses
from prometheus_client import REGISTRY

from bridge.delivery.turn import TurnHandler
from bridge.messenger.events import Event
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Reply, Text
from bridge.messenger.thread_control import ThreadSignal
from bridge.outbound import jobs
from bridge.outbound.enqueue import Outbox
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot
from tests.delivery.harness import (
    FALLBACK,
    NOW_MS,
    SEND_URL,
    Clock,
    delivery,
    enqueue,
    fail,
    ok,
    sent,
    text,
)
from tests.support.notifications import MemoryNotifications

PAGE, USER = "42", "7"
HOUR = 3600.0
NOW = NOW_MS / 1000


def setup(
    queue: SqliteQueue,
    graph: GraphClient,
    bot: ScriptedBot | None = None,
    notifications: MemoryNotifications | None = None,
    answer_deadline: float = 25.0,
) -> tuple[Outbox, TurnHandler]:
    queue.record_threads([ThreadSignal(PAGE, USER, NOW_MS, "inbound")], now=NOW)
    box = Outbox(queue=queue, notifications=notifications, pages=[PAGE], idle_ms=86_400_000)
    turn = TurnHandler(
        queue=queue,
        bot=bot or ScriptedBot(),
        graph=graph,
        fallback_text=FALLBACK,
        notifications=notifications,
        typing_delay=0,
        answer_deadline=answer_deadline,
    )
    return box, turn


def count(status: str) -> float:
    return REGISTRY.get_sample_value("bridge_outbound_messages_total", {"status": status}) or 0.0


def status(queue: SqliteQueue, key: str) -> dict[str, Any]:
    record = queue.outbound(key)
    assert record is not None
    return jobs.status_of(record)


def test_a_tagged_text_goes_out_as_asked_without_indicators(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    box, turn = setup(queue, graph)
    graph_api.post(SEND_URL, json={"recipient_id": USER, "message_id": "m_a"})
    graph_api.post(SEND_URL, json={"recipient_id": USER, "message_id": "m_b"})
    body = {
        "recipient": {"id": USER},
        "text": "a " * 1500,
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
    }
    accepted = box.submit(body, now=NOW + 30 * HOUR)  # past 24 h, within 7 days
    before = count("sent")
    clock = Clock(NOW + 30 * HOUR)
    assert delivery(queue, turn, clock=clock).run_once("w")
    bodies = sent(graph_api)
    assert [b["messaging_type"] for b in bodies] == ["MESSAGE_TAG", "MESSAGE_TAG"]
    assert {b["tag"] for b in bodies} == {"HUMAN_AGENT"} and not any(
        "sender_action" in b for b in bodies
    )
    assert status(queue, accepted.id) == {
        "id": accepted.id,
        "status": "sent",
        "parts_sent": 2,
        "message_ids": ["m_a", "m_b"],
    }
    assert count("sent") == before + 1


def test_an_ordinary_reply_is_sent_exactly_as_before(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    _, turn = setup(queue, graph)
    ok(graph_api)
    enqueue(queue, text(USER, "hi", "m1"))
    assert delivery(queue, turn).run_once("w")
    assert sent(graph_api) == [
        {"recipient": {"id": USER}, "messaging_type": "RESPONSE", "message": {"text": "echo: hi"}}
    ]
    assert queue.outbound("m1") is not None and queue.outbound("m1").message_ids == ()  # type: ignore[union-attr]


def test_a_retry_resumes_at_the_first_unsent_part(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    box, turn = setup(queue, graph)
    graph_api.post(SEND_URL, json={"recipient_id": USER, "message_id": "m_1"})
    fail(graph_api, 500, 2)  # a transient Graph error on the second part
    accepted = box.submit({"recipient": {"id": USER}, "text": "b " * 1500}, now=NOW)
    clock = Clock(NOW)
    loop = delivery(queue, turn, clock=clock)
    assert loop.run_once("w")
    assert status(queue, accepted.id)["status"] == "sending"
    assert status(queue, accepted.id)["parts_sent"] == 1
    graph_api.post(SEND_URL, json={"recipient_id": USER, "message_id": "m_2"})
    clock.now += 600
    assert loop.run_once("w")
    texts = [b["message"]["text"] for b in sent(graph_api)]
    assert len(texts) == 3 and texts[1] == texts[2]  # part 1 once, part 2 again after the error
    assert status(queue, accepted.id)["message_ids"] == ["m_1", "m_2"]


def test_the_window_closing_before_the_send_drops_it_with_the_reason(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    box, turn = setup(queue, graph)
    accepted = box.submit(
        {"recipient": {"id": USER}, "text": "hi", "messaging_type": "UPDATE"}, now=NOW + 23 * HOUR
    )
    before = count("dropped")
    assert delivery(queue, turn, clock=Clock(NOW + 25 * HOUR)).run_once("w")
    assert sent(graph_api) == []
    answer = status(queue, accepted.id)
    assert answer["status"] == "dropped" and "24-hour window" in answer["reason"]
    assert count("dropped") == before + 1


def test_a_hold_that_began_after_the_request_drops_it(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    box, turn = setup(queue, graph)
    accepted = box.submit({"recipient": {"id": USER}, "text": "hi"}, now=NOW + 60)
    hold = ThreadSignal(
        PAGE, USER, NOW_MS + 120_000, "hold", holder="page_inbox", reason="inbox_echo"
    )
    queue.record_threads([hold], now=NOW + 120)
    assert delivery(queue, turn, clock=Clock(NOW + 180)).run_once("w")
    assert sent(graph_api) == []
    answer = status(queue, accepted.id)
    assert answer["status"] == "dropped" and "HUMAN_AGENT" in answer["reason"]


def test_lex_asks_the_bot_once_in_the_persons_session(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot(lambda e: [Text(f"bot says: {e.text}"), Text("second")])  # type: ignore[union-attr]
    box, turn = setup(queue, graph, bot)
    graph_api.post(SEND_URL, json={"recipient_id": USER, "message_id": "m_1"})
    fail(graph_api, 500, 2)
    accepted = box.submit(
        {"recipient": {"id": USER}, "lex": {"text": "daily check-in"}, "messaging_type": "UPDATE"},
        now=NOW,
    )
    clock = Clock(NOW)
    loop = delivery(queue, turn, clock=clock)
    assert loop.run_once("w")
    ok(graph_api)
    clock.now += 600
    assert loop.run_once("w")
    assert len(bot.turns) == 1  # the retry sent the stored reply, never asked again
    event = bot.turns[0]
    assert (event.sender_id, event.page_id, event.text) == (USER, PAGE, "daily check-in")  # type: ignore[union-attr]
    bodies = sent(graph_api)
    assert [b["message"]["text"] for b in bodies] == [
        "bot says: daily check-in",
        "second",
        "second",
    ]
    assert {b["messaging_type"] for b in bodies} == {"UPDATE"}
    assert not any("sender_action" in b for b in bodies)
    assert status(queue, accepted.id)["status"] == "sent"


def test_a_slow_bot_s_early_fallback_is_in_the_status_with_its_message_id(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    fallback_sent = threading.Event()
    ids = iter(["m_fallback", "m_late"])

    def slow(event: Event) -> list[Reply]:
        assert fallback_sent.wait(10)
        return [Text("late answer")]

    def on_send(request: Any) -> tuple[int, dict[str, str], str]:
        fallback_sent.set()
        return 200, {}, json.dumps({"recipient_id": USER, "message_id": next(ids)})

    graph_api.add_callback(responses.POST, SEND_URL, callback=on_send)
    box, turn = setup(queue, graph, ScriptedBot(slow), answer_deadline=0.1)
    accepted = box.submit({"recipient": {"id": USER}, "lex": {"text": "check-in"}}, now=NOW)
    assert delivery(queue, turn, clock=Clock(NOW)).run_once("w")
    assert [b["message"]["text"] for b in sent(graph_api)] == [FALLBACK, "late answer"]
    done = status(queue, accepted.id)
    assert done["status"] == "sent" and done["parts_sent"] == 2
    assert done["message_ids"] == ["m_fallback", "m_late"]


def test_a_token_message_goes_to_the_token_found_again_by_its_hash(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    book = MemoryNotifications()
    book.add(PAGE, USER, "opt-in-token-1")
    box, turn = setup(queue, graph, notifications=book)
    graph_api.post(SEND_URL, json={"message_id": "m_t"})
    first = box.submit(
        {"recipient": {"notification_messages_token": "opt-in-token-1"}, "text": "Sale"},
        now=NOW + 48 * HOUR,
    )
    second = box.submit(
        {"recipient": {"notification_messages_token": "opt-in-token-1"}, "text": "Again"},
        now=NOW + 48 * HOUR,
    )
    loop = delivery(queue, turn, clock=Clock(NOW + 48 * HOUR))
    assert loop.run_once("w")
    assert sent(graph_api) == [
        {
            "recipient": {"notification_messages_token": "opt-in-token-1"},
            "message": {"text": "Sale"},
        }
    ]
    assert status(queue, first.id)["message_ids"] == ["m_t"]
    book.add(PAGE, USER, "opt-in-token-1", status="stopped")  # STOP NOTIFICATIONS meanwhile
    assert loop.run_once("w")
    answer = status(queue, second.id)
    assert answer["status"] == "dropped" and "stopped" in answer["reason"]
    assert len(sent(graph_api)) == 1


def test_it_waits_for_a_turn_in_flight_and_the_next_message_waits_for_it(
    queue: SqliteQueue, graph: GraphClient
) -> None:
    box, _ = setup(queue, graph)
    enqueue(queue, text(USER, "first", "m1", ts=NOW_MS))
    running = queue.claim(owner="a", process="p", now=NOW, lease=30)
    assert running is not None and running.key == "m1"
    accepted = box.submit({"recipient": {"id": USER}, "text": "follow-up"}, now=NOW + 1)
    enqueue(queue, text(USER, "next", "m2", ts=NOW_MS + 2000))
    assert queue.claim(owner="b", process="p", now=NOW + 2, lease=30) is None  # m1 in flight
    assert queue.ack(running, now=NOW + 3, sent=1)
    outbound = queue.claim(owner="b", process="p", now=NOW + 3, lease=30)
    assert outbound is not None and outbound.key == accepted.id
    assert queue.claim(owner="c", process="p", now=NOW + 3, lease=30) is None  # m2 waits
    assert queue.ack(outbound, now=NOW + 4, sent=1)
    after = queue.claim(owner="c", process="p", now=NOW + 4, lease=30)
    assert after is not None and after.key == "m2"


def test_a_paused_page_holds_outbound_jobs_too(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    box, turn = setup(queue, graph)
    fail(graph_api, 400, 190)  # the Page token stopped working
    accepted = box.submit({"recipient": {"id": USER}, "text": "hi"}, now=NOW)
    assert delivery(queue, turn, clock=Clock(NOW)).run_once("w")
    assert [p.paused for p in queue.pages() if p.page == PAGE] == [True]
    answer = status(queue, accepted.id)
    assert answer["status"] == "queued" and answer["parts_sent"] == 0
