"""The turn: one bot turn per event, replies in order, the send ledger, the Lex failure
policy, who may answer (holds, the window, handovers), several Pages."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

import pytest
import responses
from responses import matchers

from bridge.delivery import handover as handover_module
from bridge.delivery.page_routes import PageRoute, Routes
from bridge.delivery.turn import TurnHandler
from bridge.errors import BotError, BotErrorKind, LeaseLost
from bridge.messenger import render as render_module
from bridge.messenger.events import Event, bot_input
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Button, Card, Handover, Reply, Text
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.webhook import to_new_job
from tests.conftest import GRAPH, ScriptedBot
from tests.delivery.harness import (
    FALLBACK,
    NOW_MS,
    SEND_URL,
    Clock,
    delivery,
    enqueue,
    fail,
    handler,
    ok,
    page_graph,
    sent,
    text,
    texts,
)

# --- one turn --------------------------------------------------------------------------------


def test_a_fast_turn_asks_the_bot_once_and_sends_only_its_reply_in_order(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot(lambda e: [Text("one"), Card("Pick", buttons=(Button("A", "a"),))])
    ok(graph_api, 2)
    enqueue(queue, text("7", "hi", "m1"))
    assert delivery(queue, handler(queue, bot, graph, typing_delay=10)).run_once("w")
    bodies = sent(graph_api)
    assert not [b for b in bodies if "sender_action" in b]  # one Send API call per part
    assert bodies[0] == {
        "recipient": {"id": "7"},
        "messaging_type": "RESPONSE",
        "message": {"text": "one"},
    }
    assert bodies[1]["message"]["quick_replies"] == [
        {"content_type": "text", "title": "A", "payload": "a"}
    ]
    assert len(bot.turns) == 1
    assert queue.state_of("m1") == "done"


def slow_until_typing(graph_api: responses.RequestsMock, replies: list[Reply]) -> ScriptedBot:
    """A bot that answers ``replies`` only once Graph has been sent ``typing_on``, and fails
    the turn (no typing within 10 s) otherwise; Graph answers every call with success."""
    typing = threading.Event()

    def on_send(request: Any) -> tuple[int, dict[str, str], str]:
        if json.loads(request.body).get("sender_action") == "typing_on":
            typing.set()
        return 200, {}, json.dumps({"recipient_id": "7", "message_id": "m"})

    def slow(event: Event) -> list[Reply]:
        assert typing.wait(10), "no typing_on while the bot worked"
        return replies

    graph_api.add_callback(responses.POST, SEND_URL, callback=on_send)
    return ScriptedBot(slow)


def test_a_slow_bot_gets_seen_and_typing_while_it_works(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = slow_until_typing(graph_api, [Text("there you are")])
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, bot, graph, typing_delay=0.05)).run_once("w")
    bodies = sent(graph_api)
    assert [b.get("sender_action") or b["message"]["text"] for b in bodies] == [
        "mark_seen",
        "typing_on",
        "there you are",
    ]
    assert len(bot.turns) == 1 and queue.state_of("m1") == "done"


def test_typing_delay_zero_shows_seen_and_typing_beside_the_bot_call(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = slow_until_typing(graph_api, [Text("ok")])  # typing came while the bot was asked
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, bot, graph, typing_delay=0)).run_once("w")
    assert [b.get("sender_action") for b in sent(graph_api)] == ["mark_seen", "typing_on", None]


def test_sender_actions_can_be_turned_off(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    release = threading.Event()

    def slow(event: Event) -> list[Reply]:
        release.wait(0.3)  # well past the typing delay: still no sender action
        return [Text("echo: hi")]

    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    turn = handler(queue, ScriptedBot(slow), graph, actions=False, typing_delay=0)
    delivery(queue, turn).run_once("w")
    assert [b.get("message") for b in sent(graph_api)] == [{"text": "echo: hi"}]


def test_no_reply_after_typing_turns_typing_off(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = slow_until_typing(graph_api, [])
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, bot, graph, typing_delay=0.05)).run_once("w")
    assert [b.get("sender_action") for b in sent(graph_api)] == [
        "mark_seen",
        "typing_on",
        "typing_off",
    ]
    assert queue.state_of("m1") == "done"


def test_a_fast_turn_with_no_reply_sends_nothing(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    enqueue(queue, text("7", "hi", "m1"))
    bot = ScriptedBot(lambda e: [])
    delivery(queue, handler(queue, bot, graph, typing_delay=10)).run_once("w")
    assert sent(graph_api) == [] and len(bot.turns) == 1
    assert queue.state_of("m1") == "done"


def test_a_failing_sender_action_does_not_stop_the_turn(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    typing_failed = threading.Event()
    calls: list[dict[str, Any]] = []

    def on_send(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        calls.append(body)
        if "sender_action" in body:
            if body["sender_action"] == "typing_on":
                typing_failed.set()
            error = {"error": {"message": "x", "type": "OAuthException", "code": 100}}
            return 400, {}, json.dumps(error)
        return 200, {}, json.dumps({"recipient_id": "7", "message_id": "m"})

    def slow(event: Event) -> list[Reply]:
        assert typing_failed.wait(10)
        return [Text("echo: hi")]

    graph_api.add_callback(responses.POST, SEND_URL, callback=on_send)
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, ScriptedBot(slow), graph, typing_delay=0.01)).run_once("w")
    assert queue.state_of("m1") == "done"
    assert [c.get("sender_action") for c in calls] == ["mark_seen", "typing_on", None]
    assert texts(graph_api) == ["echo: hi"]


# --- one Lex turn per event, the send ledger ----------------------------------------------------


def test_a_failed_send_is_retried_without_asking_the_bot_again(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot(lambda e: [Text("part one"), Text("part two")])
    ok(graph_api)  # part one
    fail(graph_api, 500, 2)  # part two fails
    ok(graph_api)  # part two, on retry
    enqueue(queue, text("7", "hi", "m1"))
    clock = Clock()
    worker = delivery(queue, handler(queue, bot, graph, actions=False), clock=clock)
    assert worker.run_once("w")
    assert queue.state_of("m1") == "queued"
    clock.now += 1000  # past any backoff
    assert worker.run_once("w")
    assert queue.state_of("m1") == "done"
    assert len(bot.turns) == 1
    assert texts(graph_api) == ["part one", "part two", "part two"]  # failed try, then retry


def test_graph_500_three_times_then_ok_is_delivered_once(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    for _ in range(3):
        fail(graph_api, 500, 2)
    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    clock = Clock()
    bot = ScriptedBot()
    worker = delivery(queue, handler(queue, bot, graph, actions=False), clock=clock, max_attempts=5)
    for _ in range(4):
        clock.now += 1000
        worker.run_once("w")
    assert queue.state_of("m1") == "done"
    assert len(bot.turns) == 1
    statuses = [getattr(call.response, "status_code", None) for call in graph_api.calls]
    assert statuses == [500, 500, 500, 200]


# --- Lex failure policy ------------------------------------------------------------------------


def test_lex_throttled_once_is_retried_and_delivered(
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
    clock = Clock()
    worker = delivery(queue, handler(queue, ScriptedBot(flaky), graph, actions=False), clock=clock)
    worker.run_once("w")
    assert queue.state_of("m1") == "queued" and sent(graph_api) == []
    clock.now += 1000
    worker.run_once("w")
    assert texts(graph_api) == ["finally"]


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
    assert texts(graph_api) == [FALLBACK]
    assert queue.state_of("m1") == "done"


class Unrenderable(Text):
    """A reply whose rendering fails (a bug, or an answer no renderer expected)."""


@pytest.mark.parametrize("failure", ["bot raises", "rendering fails"])
def test_anything_failing_after_the_bot_was_asked_answers_the_fallback_once(
    failure: str,
    queue: SqliteQueue,
    graph: GraphClient,
    graph_api: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def answer(event: Event) -> list[Reply]:
        if failure == "bot raises":
            raise KeyError("secret words the person wrote")
        return [Unrenderable("fine"), Text("also fine")]

    real_render = render_module.render

    def render(reply: Reply) -> list[dict[str, Any]]:
        if isinstance(reply, Unrenderable):
            raise ValueError("secret words the person wrote")
        return real_render(reply)

    monkeypatch.setattr(handover_module, "render", render)
    ok(graph_api)
    bot = ScriptedBot(answer)
    enqueue(queue, text("7", "hi", "m1"))
    clock = Clock()
    worker = delivery(queue, handler(queue, bot, graph, actions=False), clock=clock)
    assert worker.run_once("w")
    assert texts(graph_api) == [FALLBACK]
    assert queue.state_of("m1") == "done"
    assert len(bot.turns) == 1  # never asked again
    failed = [
        r for r in caplog.records if r.getMessage() == "bot failed; answering the fallback text"
    ]
    assert failed and failed[0].error.startswith("unexpected ")  # type: ignore[attr-defined]
    assert "secret words" not in caplog.text


def test_a_hanging_bot_gets_the_fallback_by_the_deadline_and_the_late_answer_follows(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    release = threading.Event()
    fallback_seen = threading.Event()

    def slow(event: Event) -> list[Reply]:
        assert fallback_seen.wait(10)
        return [Text("late answer")]

    def on_send(request: Any) -> tuple[int, dict[str, str], str]:
        if json.loads(request.body).get("message") == {"text": FALLBACK}:
            fallback_seen.set()
        return 200, {}, json.dumps({"recipient_id": "7", "message_id": "m"})

    graph_api.add_callback(responses.POST, SEND_URL, callback=on_send)
    enqueue(queue, text("7", "hi", "m1"))
    turn = handler(
        queue,
        ScriptedBot(slow),
        graph,
        actions=True,
        answer_deadline=0.2,
        typing_delay=0.01,
        typing_refresh=0.05,
    )
    delivery(queue, turn).run_once("w")
    release.set()
    bodies = sent(graph_api)
    actions = [b.get("sender_action") for b in bodies if "sender_action" in b]
    assert actions[:2] == ["mark_seen", "typing_on"] and actions.count("typing_on") >= 2
    assert texts(graph_api) == [FALLBACK, "late answer"]
    assert queue.state_of("m1") == "done"


def test_a_bot_that_fails_after_the_deadline_adds_nothing(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    fallback_seen = threading.Event()

    def slow_failure(event: Event) -> list[Reply]:
        assert fallback_seen.wait(10)
        raise BotError(BotErrorKind.FALLBACK, "ReadTimeoutError")

    def on_send(request: Any) -> tuple[int, dict[str, str], str]:
        fallback_seen.set()
        return 200, {}, json.dumps({"recipient_id": "7", "message_id": "m"})

    graph_api.add_callback(responses.POST, SEND_URL, callback=on_send)
    enqueue(queue, text("7", "hi", "m1"))
    turn = handler(queue, ScriptedBot(slow_failure), graph, actions=False, answer_deadline=0.1)
    delivery(queue, turn).run_once("w")
    assert texts(graph_api) == [FALLBACK]
    assert queue.state_of("m1") == "done"


# --- Graph answers of a send ------------------------------------------------------------------


def test_an_ambiguous_send_is_not_repeated(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    fail(graph_api, 500, 1, 1357046)
    ok(graph_api)
    enqueue(queue, text("7", "a", "m1"))
    bot = ScriptedBot(lambda e: [Text("one"), Text("two")])
    delivery(queue, handler(queue, bot, graph, actions=False)).run_once("w")
    assert queue.state_of("m1") == "done"
    assert texts(graph_api) == ["one", "two"]  # "one" is not sent a second time


# --- who may answer: holds, the window, handovers ------------------------------------------------

PASS_URL = f"{GRAPH}/v25.0/me/pass_thread_control"
HOUR_MS = 3_600_000


def hold_signal(psid: str, at: int, reason: str = "inbox_echo") -> ThreadSignal:
    return ThreadSignal("42", psid, at, "hold", holder="page_inbox", reason=reason)


def test_a_held_conversation_is_acknowledged_not_answered(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot()
    enqueue(queue, text("7", "still there?", "m1", ts=NOW_MS))
    queue.record_threads([hold_signal("7", NOW_MS - 1000)], now=0)
    assert delivery(queue, handler(queue, bot, graph)).run_once("w")
    assert bot.turns == [] and sent(graph_api) == []  # not even mark_seen
    [letter] = queue.dead_letters(include_dropped=True)
    assert letter.state == "dropped"
    assert letter.reason == "a person at the Page holds the conversation (inbox_echo)"


def test_control_back_before_the_event_answers_it(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    queue.record_threads(
        [hold_signal("7", NOW_MS - 900), ThreadSignal("42", "7", NOW_MS - 500, "release")], now=0
    )
    enqueue(queue, text("7", "hello again", "m_after", ts=NOW_MS), text("8", "x", "m_other"))
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False))
    while worker.run_once("w"):
        pass
    assert texts(graph_api, "7") == ["echo: hello again"]


def test_a_hold_lapses_after_the_idle_time(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    queue.record_threads([hold_signal("7", NOW_MS - 2 * HOUR_MS)], now=0)
    enqueue(queue, text("7", "anyone?", "m1", ts=NOW_MS))
    turn = handler(queue, ScriptedBot(), graph, actions=False, human_idle=HOUR_MS / 1000)
    assert delivery(queue, turn).run_once("w")
    assert texts(graph_api) == ["echo: anyone?"]


def test_a_reply_outside_the_24_hour_window_is_not_sent(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot()
    old = NOW_MS - 25 * HOUR_MS
    enqueue(queue, text("7", "from yesterday", "m_old", ts=old))
    # The age limit alone would let it through: the window is what stops it.
    worker = delivery(queue, handler(queue, bot, graph), max_event_age=48 * 3600)
    assert worker.run_once("w")
    assert bot.turns == [] and sent(graph_api) == []
    [letter] = queue.dead_letters(include_dropped=True)
    assert letter.reason is not None and letter.reason.startswith(
        "outside Messenger's 24-hour window (the person's last event 25.0 h ago)"
    )


def test_a_later_message_of_the_person_keeps_the_window_open(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    old = NOW_MS - 25 * HOUR_MS
    queue.put(
        [to_new_job(text("7", "from yesterday", "m_old", ts=old), 0)],
        now=0,
        signals=[
            ThreadSignal("42", "7", old, "inbound"),
            ThreadSignal("42", "7", NOW_MS, "inbound"),
        ],
    )
    worker = delivery(
        queue, handler(queue, ScriptedBot(), graph, actions=False), max_event_age=48 * 3600
    )
    assert worker.run_once("w")
    assert texts(graph_api) == ["echo: from yesterday"]


def test_the_window_closing_while_the_bot_thinks_stops_the_reply(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    clock = Clock()
    start = NOW_MS - 24 * HOUR_MS + 1000  # one second of the window left

    def slow(event: Event) -> list[Reply]:
        clock.now += 2
        return [Text("too late")]

    enqueue(queue, text("7", "hi", "m1", ts=start))
    worker = delivery(
        queue,
        handler(queue, ScriptedBot(slow), graph, actions=False),
        clock=clock,
        max_event_age=48 * 3600,
    )
    assert worker.run_once("w")
    assert sent(graph_api) == [] and queue.state_of("m1") == "dropped"


def test_a_send_refused_as_not_thread_owner_holds_the_conversation(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    fail(graph_api, 400, 10, 2018300)
    bot = ScriptedBot()
    enqueue(queue, text("7", "one", "m1"), text("7", "two", "m2", ts=NOW_MS + 1))
    worker = delivery(queue, handler(queue, bot, graph, actions=False))
    while worker.run_once("w"):
        pass
    assert [bot_input(turn) for turn in bot.turns] == ["one"]  # m2: the bot is not asked
    assert queue.state_of("m1") == "dropped" and queue.state_of("m2") == "dropped"
    state = queue.thread("42", "7")
    assert state is not None and state.is_open and state.reason == "send_error"
    assert len(sent(graph_api)) == 1  # no retry


def test_another_apps_conversation_is_found_by_the_reply_and_held(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    fail(graph_api, 400, 100, 2534037)  # nothing is sent in front of the bot to find it out
    bot = ScriptedBot()
    enqueue(queue, text("7", "hi", "m1"))
    assert delivery(queue, handler(queue, bot, graph)).run_once("w")
    assert len(bot.turns) == 1 and queue.state_of("m1") == "dropped"
    assert [b.get("message") for b in sent(graph_api)] == [{"text": "echo: hi"}]
    state = queue.thread("42", "7")
    assert state is not None and state.holder == "other_app"


def asks_for_a_person(event: Event) -> list[Reply]:
    return [Text("A nurse will answer you here."), Handover(metadata="fever")]


def test_a_bot_asking_for_a_person_passes_the_conversation_to_the_page_inbox(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    graph_api.post(PASS_URL, json={"success": True})
    enqueue(queue, text("7", "nurse please", "m1"), text("7", "hello?", "m2", ts=NOW_MS + 5000))
    worker = delivery(queue, handler(queue, ScriptedBot(asks_for_a_person), graph, actions=False))
    assert worker.run_once("w")
    bodies = sent(graph_api)
    assert bodies[0]["message"] == {"text": "A nurse will answer you here."}
    assert bodies[1] == {
        "recipient": {"id": "7"},
        "target_app_id": 263902037430900,
        "metadata": "fever",
    }
    assert queue.state_of("m1") == "done"
    state = queue.thread("42", "7")
    assert state is not None and state.is_open and state.reason == "bot_handover"
    assert worker.run_once("w") and queue.state_of("m2") == "dropped"  # the bot stays silent


def test_a_failed_pass_is_retried_without_resending_the_text(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    graph_api.post(PASS_URL, status=500, json={"error": {"message": "x", "code": 2}})
    graph_api.post(PASS_URL, json={"success": True})
    bot = ScriptedBot(asks_for_a_person)
    enqueue(queue, text("7", "nurse please", "m1"))
    clock = Clock()
    worker = delivery(queue, handler(queue, bot, graph, actions=False), clock=clock)
    worker.run_once("w")
    assert queue.state_of("m1") == "queued"
    clock.now += 5
    worker.run_once("w")
    assert queue.state_of("m1") == "done" and len(bot.turns) == 1
    assert [b.get("message", {}).get("text") for b in sent(graph_api)] == [
        "A nurse will answer you here.",
        None,
        None,
    ]


def test_a_pass_refused_because_someone_holds_it_already_is_done(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    graph_api.post(PASS_URL, status=400, json={"error": {"message": "x", "code": 2018300}})
    enqueue(queue, text("7", "nurse please", "m1"))
    delivery(queue, handler(queue, ScriptedBot(asks_for_a_person), graph, actions=False)).run_once(
        "w"
    )
    assert queue.state_of("m1") == "done"
    state = queue.thread("42", "7")
    assert state is not None and state.is_open and state.holder == "other_app"


# --- several Pages -------------------------------------------------------------------------------


def test_each_page_uses_its_own_token_and_bot(
    queue: SqliteQueue, graph_api: responses.RequestsMock
) -> None:
    for token in ("token-A", "token-B"):
        graph_api.post(
            SEND_URL,
            json={"message_id": "m"},
            match=[matchers.header_matcher({"Authorization": f"Bearer {token}"})],
        )
    bot_a, bot_b = ScriptedBot(), ScriptedBot(lambda e: [Text("B here")])
    routes = Routes(
        pages={
            "A": PageRoute(page_graph("token-A"), bot_a, "sorry A"),
            "B": PageRoute(page_graph("token-B"), bot_b, "sorry B"),
        }
    )
    enqueue(queue, text("1", "to A", "m_a", page="A"), text("2", "to B", "m_b", page="B"))
    enqueue(queue, text("3", "to C", "m_c", page="C"))
    worker = delivery(queue, TurnHandler(queue=queue, routes=routes, sender_actions=False))
    while worker.run_once("w"):
        pass
    assert [queue.state_of(m) for m in ("m_a", "m_b", "m_c")] == ["done", "done", "dropped"]
    assert len(bot_a.turns) == len(bot_b.turns) == 1
    assert texts(graph_api) == ["echo: to A", "B here"]
    letters = queue.dead_letters(include_dropped=True)
    assert [letter.reason for letter in letters] == ["its Page is not served (BRIDGE_PAGES_FILE)"]


def test_a_handler_needs_routes_or_a_bot_and_a_graph(queue: SqliteQueue) -> None:
    with pytest.raises(ValueError, match="needs routes"):
        TurnHandler(queue=queue)


# --- what is committed, and when -------------------------------------------------------------


class WriteLog(SqliteQueue):
    """The real queue, noting each write of a turn beside the Graph calls (``steps``); the
    reply's commit is not waited for until Graph has received the first part."""

    steps: list[str]
    first_send: threading.Event

    def store_reply(self, job: Any, messages: list[Any]) -> Any:
        self.steps.append("store_reply")
        stored = super().store_reply(job, messages)

        def wait() -> bool:
            # A turn that waited for this before sending would time out here and retry.
            return self.first_send.wait(5) and stored()

        return wait

    def mark_sent(self, job: Any, count: int) -> bool:
        self.steps.append(f"mark_sent {count}")
        return super().mark_sent(job, count)

    def ack(self, job: Any, *, now: float, sent: Any = None) -> bool:
        self.steps.append(f"ack {sent}")
        return super().ack(job, now=now, sent=sent)


@pytest.fixture
def write_log(tmp_path: Any, graph_api: responses.RequestsMock) -> WriteLog:
    queue = WriteLog(tmp_path / "log.db")
    queue.steps = []
    queue.first_send = threading.Event()

    def on_send(request: Any) -> tuple[int, dict[str, str], str]:
        queue.steps.append("send")
        queue.first_send.set()
        return 200, {}, json.dumps({"recipient_id": "7", "message_id": "m"})

    graph_api.add_callback(responses.POST, SEND_URL, callback=on_send)
    return queue


def test_the_first_part_goes_out_while_the_reply_is_being_stored(
    write_log: WriteLog, graph: GraphClient
) -> None:
    two = ScriptedBot(lambda e: [Text("one"), Text("two")])
    enqueue(write_log, text("7", "hi", "m1"), text("8", "hi", "m2"))
    worker = delivery(write_log, handler(write_log, two, graph, actions=False))
    assert worker.run_once("w")
    assert write_log.state_of("m1") == "done"
    # The last part is recorded by the ack.
    assert write_log.steps == ["store_reply", "send", "mark_sent 1", "send", "ack 2"]
    write_log.steps.clear()
    one = delivery(write_log, handler(write_log, ScriptedBot(), graph, actions=False))
    assert one.run_once("w")
    assert write_log.steps == ["store_reply", "send", "ack 1"]
    with sqlite3.connect(write_log.path) as db:
        stored = dict(db.execute("SELECT key, reply FROM jobs"))
    assert json.loads(stored["m1"]) == [{"text": "one"}, {"text": "two"}]
    assert json.loads(stored["m2"]) == [{"text": "echo: hi"}]


def test_a_failed_first_send_keeps_the_reply_so_the_retry_does_not_ask_again(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot(lambda e: [Text("only part")])
    fail(graph_api, 500, 2)
    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    clock = Clock()
    worker = delivery(queue, handler(queue, bot, graph, actions=False), clock=clock)
    assert worker.run_once("w")
    assert queue.state_of("m1") == "queued"
    clock.now += 1000
    assert worker.run_once("w")
    assert queue.state_of("m1") == "done"
    assert len(bot.turns) == 1
    assert texts(graph_api) == ["only part", "only part"]


def test_a_turn_that_lost_its_job_sends_nothing_more(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    bot = ScriptedBot(lambda e: [Text("one"), Text("two"), Text("three")])
    taken: list[Any] = []

    def on_send(request: Any) -> tuple[int, dict[str, str], str]:
        if not taken:  # while part one is on its way, this process is taken for gone
            queue.release_stale(dead=["proc"])
            taken.append(queue.claim(owner="other:0", process="other", now=0, lease=30))
        return 200, {}, json.dumps({"recipient_id": "7", "message_id": "m"})

    graph_api.add_callback(responses.POST, SEND_URL, callback=on_send)
    enqueue(queue, text("7", "hi", "m1"))
    job = queue.claim(owner="proc:0", process="proc", now=0, lease=30)
    assert job is not None
    turn = handler(queue, bot, graph, actions=False)
    with pytest.raises(LeaseLost):
        turn.handle(job, clock=Clock())
    assert texts(graph_api) == ["one"]  # the second part is the new owner's to send
    assert taken[0] is not None and taken[0].key == "m1"
    assert queue.still_holds(taken[0]) and not queue.still_holds(job)
