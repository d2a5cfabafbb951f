"""A bot answer with nothing that can be shown (``Fallback``): the Page's fallback text once,
the bot asked once, a handover it asked for still carried out, nothing twice after the
fallback went out early."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import responses
from prometheus_client import REGISTRY

from bridge.delivery.page_routes import PageRoute, Routes
from bridge.delivery.turn import TurnHandler
from bridge.messenger.events import Event
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Fallback, Handover, Reply
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import GRAPH, ScriptedBot
from tests.delivery.harness import (
    FALLBACK,
    SEND_URL,
    delivery,
    enqueue,
    handler,
    ok,
    page_graph,
    sent,
    text,
    texts,
)

PASS_URL = f"{GRAPH}/v25.0/me/pass_thread_control"


def unshowable_count() -> float:
    value = REGISTRY.get_sample_value("bridge_fallbacks_total", {"reason": "unshowable"})
    return value or 0.0


def test_an_answer_with_nothing_to_show_gets_the_fallback_text_once(
    queue: SqliteQueue,
    graph: GraphClient,
    graph_api: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = unshowable_count()
    ok(graph_api)
    bot = ScriptedBot(lambda event: [Fallback()])
    enqueue(queue, text("7", "which day?", "m1"))
    assert delivery(queue, handler(queue, bot, graph, actions=False)).run_once("w")
    assert texts(graph_api) == [FALLBACK]
    assert queue.state_of("m1") == "done"
    assert len(bot.turns) == 1
    assert unshowable_count() == before + 1
    [line] = [r for r in caplog.records if r.getMessage().startswith("nothing the bot said")]
    assert line.levelname == "WARNING" and "which day" not in caplog.text


def test_the_fallback_text_is_the_pages_own(
    queue: SqliteQueue, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api, times=2)
    bot = ScriptedBot(lambda event: [Fallback()])
    routes = Routes(
        pages={
            "A": PageRoute(page_graph("token-A"), bot, "sorry A"),
            "B": PageRoute(page_graph("token-B"), bot, "sorry B"),
        }
    )
    enqueue(queue, text("1", "to A", "m_a", page="A"), text("2", "to B", "m_b", page="B"))
    worker = delivery(queue, TurnHandler(queue=queue, routes=routes, sender_actions=False))
    while worker.run_once("w"):
        pass
    assert texts(graph_api, "1") == ["sorry A"] and texts(graph_api, "2") == ["sorry B"]


def test_a_handover_beside_nothing_to_show_follows_the_fallback_text(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    graph_api.post(PASS_URL, json={"success": True})
    bot = ScriptedBot(lambda event: [Fallback(), Handover(metadata="fever")])
    enqueue(queue, text("7", "a nurse please", "m1"))
    assert delivery(queue, handler(queue, bot, graph, actions=False)).run_once("w")
    bodies = sent(graph_api)
    assert bodies[0]["message"] == {"text": FALLBACK}
    assert bodies[1]["metadata"] == "fever" and "target_app_id" in bodies[1]
    assert queue.state_of("m1") == "done"


@pytest.mark.parametrize("asks_for_a_person", [False, True])
def test_a_late_answer_with_nothing_to_show_adds_no_second_fallback(
    asks_for_a_person: bool,
    queue: SqliteQueue,
    graph: GraphClient,
    graph_api: responses.RequestsMock,
) -> None:
    fallback_seen = threading.Event()

    def slow(event: Event) -> list[Reply]:
        assert fallback_seen.wait(10)
        return [Fallback(), *([Handover()] if asks_for_a_person else [])]

    def on_send(request: Any) -> tuple[int, dict[str, str], str]:
        fallback_seen.set()
        return 200, {}, json.dumps({"recipient_id": "7", "message_id": "m"})

    graph_api.add_callback(responses.POST, SEND_URL, callback=on_send)
    graph_api.post(PASS_URL, json={"success": True})
    enqueue(queue, text("7", "hi", "m1"))
    turn = handler(queue, ScriptedBot(slow), graph, actions=False, answer_deadline=0.1)
    delivery(queue, turn).run_once("w")
    assert texts(graph_api) == [FALLBACK]
    passes = [body for body in sent(graph_api) if "target_app_id" in body]
    assert len(passes) == (1 if asks_for_a_person else 0)
    assert queue.state_of("m1") == "done"
