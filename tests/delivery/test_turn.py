"""Delivery: one turn per event, replies in order, the failure policy, recovery and drain."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from responses import matchers

from bridge.delivery.liveness import process_namespace
from bridge.delivery.loop import Delivery, Limits, TurnHandler
from bridge.delivery.page_routes import PageRoute, Routes
from bridge.errors import BotError, BotErrorKind
from bridge.messenger import events
from bridge.messenger.events import Event, TextMessage, bot_input
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Button, Card, Handover, Reply, Text
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue import Worker
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.webhook import to_new_job
from tests.conftest import GRAPH, ScriptedBot, wait_for

SEND_URL = f"{GRAPH}/v25.0/me/messages"
PROBE_URL = f"{GRAPH}/v25.0/me"
FALLBACK = "Sorry, try again."
NOW_MS = 1_700_000_000_000


class Clock:
    def __init__(self, start: float = NOW_MS / 1000) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def graph_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def ok(mock: responses.RequestsMock, times: int = 1) -> None:
    for _ in range(times):
        mock.post(SEND_URL, json={"recipient_id": "1", "message_id": "m_out"})


def fail(
    mock: responses.RequestsMock,
    status: int,
    code: int,
    subcode: int | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    error: dict[str, Any] = {
        "message": "x",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "T",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    mock.post(SEND_URL, status=status, json={"error": error}, headers=headers or {})


def sent(mock: responses.RequestsMock) -> list[dict[str, Any]]:
    return [
        json.loads(call.request.body or b"{}")
        for call in mock.calls
        if call.request.method == "POST"
    ]


def texts(mock: responses.RequestsMock, psid: str | None = None) -> list[str]:
    return [
        b["message"].get("text", "<template>")
        for b in sent(mock)
        if "message" in b and (psid is None or b["recipient"]["id"] == psid)
    ]


def enqueue(queue: SqliteQueue, *evs: Event) -> None:
    queue.put([to_new_job(event, 0) for event in evs], now=0)


def text(psid: str, body: str, mid: str, ts: int = NOW_MS, page: str = "42") -> TextMessage:
    return TextMessage(page_id=page, sender_id=psid, timestamp=ts, mid=mid, text=body)


def handler(
    queue: SqliteQueue, bot: Any, graph: GraphClient, actions: bool = True, **kwargs: Any
) -> TurnHandler:
    return TurnHandler(
        queue=queue, bot=bot, graph=graph, fallback_text=FALLBACK, sender_actions=actions, **kwargs
    )


def delivery(
    queue: SqliteQueue,
    turn: TurnHandler,
    *,
    threads: int = 1,
    clock: Clock | None = None,
    poll_interval: float = 0.01,
    **limits: Any,
) -> Delivery:
    limits.setdefault("max_attempts", 3)
    limits.setdefault("lease", 30)
    return Delivery(
        queue,
        turn,
        threads=threads,
        poll_interval=poll_interval,
        limits=Limits(**limits),
        clock=clock or Clock(),
    )


# --- one turn --------------------------------------------------------------------------------


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
    fail(graph_api, 400, 100)
    fail(graph_api, 400, 100)
    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, ScriptedBot(), graph)).run_once("w")
    assert queue.state_of("m1") == "done"
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


def test_a_job_that_keeps_failing_becomes_a_dead_letter_with_its_reason(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    for _ in range(5):
        fail(graph_api, 503, 2)
    enqueue(queue, text("7", "hi", "m1"))
    clock = Clock()
    worker = delivery(
        queue, handler(queue, ScriptedBot(), graph, actions=False), max_attempts=2, clock=clock
    )
    worker.run_once("w")
    clock.now += 10_000
    worker.run_once("w")
    assert queue.state_of("m1") == "dead"
    [letter] = queue.dead_letters()
    assert letter.key == "m1" and "(2)" in (letter.reason or "")


def test_a_bug_in_a_turn_keeps_the_job(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    def buggy(event: Event) -> list[Reply]:
        raise KeyError("oops")

    enqueue(queue, text("7", "hi", "m1"))
    delivery(queue, handler(queue, ScriptedBot(buggy), graph, actions=False)).run_once("w")
    assert queue.state_of("m1") == "queued"


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
        queue, ScriptedBot(slow), graph, actions=True, answer_deadline=0.2, typing_refresh=0.05
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


# --- Graph failure policy --------------------------------------------------------------------


def test_permanent_errors_drop_the_job_and_others_keep_being_served(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    fail(graph_api, 400, 10, 2018278)  # outside the window
    fail(graph_api, 400, 551, 1545041)  # person unavailable
    ok(graph_api)
    enqueue(queue, text("7", "a", "m1"), text("8", "b", "m2"), text("9", "c", "m3"))
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False))
    for _ in range(3):
        worker.run_once("w")
    assert [queue.state_of(m) for m in ("m1", "m2", "m3")] == ["dropped", "dropped", "done"]
    assert len(graph_api.calls) == 3  # no retry loop
    reasons = {d.key: d.reason for d in queue.dead_letters(include_dropped=True)}
    assert "2018278" in (reasons["m1"] or "") and "551" in (reasons["m2"] or "")


def test_throttling_holds_the_page_then_delivers(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    fail(graph_api, 400, 613, headers={"Retry-After": "30"})
    ok(graph_api, 2)
    enqueue(queue, text("7", "a", "m1"), text("8", "b", "m2", page="other"))
    clock = Clock()
    worker = delivery(
        queue, handler(queue, ScriptedBot(), graph, actions=False), clock=clock, max_attempts=1
    )
    worker.run_once("w")  # m1 throttled: its Page is held, the attempt is refunded
    [page] = queue.pages()
    assert page.page == "42" and page.blocked_until >= clock.now + 30
    worker.run_once("w")  # another Page is not held
    assert queue.state_of("m2") == "done"
    assert not worker.run_once("w")  # nothing claimable while held
    clock.now += 31
    assert worker.run_once("w")
    assert queue.state_of("m1") == "done"  # not buried although max_attempts is 1


def test_an_invalid_token_pauses_the_page_once_and_a_probe_resumes_it(
    queue: SqliteQueue,
    graph: GraphClient,
    graph_api: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    fail(graph_api, 401, 190)
    graph_api.get(PROBE_URL, status=401, json={"error": {"message": "x", "code": 190}})
    graph_api.get(PROBE_URL, json={"id": "42"})
    ok(graph_api, 2)
    enqueue(queue, text("7", "a", "m1"), text("8", "b", "m2"))
    clock = Clock()
    worker = delivery(
        queue,
        handler(queue, ScriptedBot(), graph, actions=False),
        clock=clock,
        probe_interval=5,
        max_attempts=1,
    )
    worker.run_once("w")  # m1: 190 → Page paused
    assert not worker.run_once("w")  # m2 (another user, same Page) is held too
    assert queue.state_of("m1") == "queued" and queue.state_of("m2") == "queued"
    paused_logs = [r for r in caplog.records if "Page paused" in r.getMessage()]
    assert len(paused_logs) == 1 and paused_logs[0].levelno == logging.ERROR
    worker.keep_house()  # probe fails: still paused
    assert queue.pages()[0].paused
    clock.now += 6
    worker.keep_house()  # probe works: resumed
    assert not queue.pages()[0].paused
    while worker.run_once("w"):
        pass
    assert queue.state_of("m1") == "done" and queue.state_of("m2") == "done"


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


# --- limits ----------------------------------------------------------------------------------


def test_an_event_older_than_the_limit_is_dropped_unanswered(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    enqueue(
        queue,
        text("7", "a", "m_old", ts=NOW_MS - 25 * 3600 * 1000),
        text("7", "b", "m_new", ts=NOW_MS),
    )
    ok(graph_api)
    bot = ScriptedBot()
    worker = delivery(queue, handler(queue, bot, graph, actions=False), max_event_age=24 * 3600)
    worker.run_once("w")
    worker.run_once("w")
    assert queue.state_of("m_old") == "dropped" and queue.state_of("m_new") == "done"
    assert [e.mid for e in bot.turns] == ["m_new"]


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


def test_a_restart_releases_what_a_dead_process_on_this_host_left_running(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    enqueue(queue, text("7", "hi", "m1"))
    orphan = queue.claim(owner="ghost:0", process="ghost", now=NOW_MS / 1000, lease=3600)
    assert orphan is not None
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    assert not os.path.exists(f"/proc/{dead_pid}")
    here = process_namespace()
    queue.heartbeat(Worker("ghost", here, dead_pid, heartbeat=NOW_MS / 1000))
    ok(graph_api)
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False))
    worker.keep_house()  # what start() does first, before any lease or heartbeat runs out
    assert worker.run_once("w")
    assert queue.state_of("m1") == "done"


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


def test_a_process_in_another_pid_namespace_is_never_judged_by_its_pid(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    """Containers may share a host name and a volume; their pids mean different processes."""
    enqueue(queue, text("7", "hi", "m1"))
    assert queue.claim(owner="other:0", process="other", now=NOW_MS / 1000, lease=3600)
    import socket

    elsewhere = f"{socket.gethostname()}/pidns:1"  # same host name, another namespace
    assert elsewhere != process_namespace()
    queue.heartbeat(Worker("other", elsewhere, 2**22 + 1, heartbeat=NOW_MS / 1000))
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False))
    worker.keep_house()
    assert queue.state_of("m1") == "running"  # still its job until its heartbeat goes stale


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


def test_a_refused_sender_action_ends_the_turn_before_the_bot(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    fail(graph_api, 400, 100, 2534037)
    bot = ScriptedBot()
    enqueue(queue, text("7", "hi", "m1"))
    assert delivery(queue, handler(queue, bot, graph)).run_once("w")
    assert bot.turns == [] and queue.state_of("m1") == "dropped"


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


def page_graph(token: str) -> GraphClient:
    return GraphClient(base_url=GRAPH, version="v25.0", page_token=token, app_secret="s", timeout=5)


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


def test_a_paused_page_is_probed_with_its_own_token(
    queue: SqliteQueue, graph_api: responses.RequestsMock
) -> None:
    bad = matchers.header_matcher({"Authorization": "Bearer token-A"})
    good = matchers.header_matcher({"Authorization": "Bearer token-B"})
    graph_api.post(SEND_URL, status=401, json={"error": {"message": "x", "code": 190}}, match=[bad])
    graph_api.post(SEND_URL, json={"message_id": "m"}, match=[good])
    graph_api.get(PROBE_URL, status=401, json={"error": {"message": "x", "code": 190}}, match=[bad])
    graph_api.get(PROBE_URL, json={"id": "B"}, match=[good])
    routes = Routes(
        pages={
            "A": PageRoute(page_graph("token-A"), ScriptedBot(), "sorry"),
            "B": PageRoute(page_graph("token-B"), ScriptedBot(), "sorry"),
        }
    )
    enqueue(queue, text("1", "to A", "m_a", page="A"))
    clock = Clock()
    worker = delivery(
        queue,
        TurnHandler(queue=queue, routes=routes, sender_actions=False),
        clock=clock,
        probe_interval=1,
    )
    worker.run_once("w")  # A: 190 → paused
    enqueue(queue, text("2", "to B", "m_b", page="B"))
    assert worker.run_once("w") and queue.state_of("m_b") == "done"  # B is not held
    for _ in range(3):
        clock.now += 2
        worker.keep_house()  # A's probe, with A's token, keeps failing
    assert [(page.page, page.paused) for page in queue.pages()] == [("A", True)]
    probes = [c for c in graph_api.calls if c.request.method == "GET"]
    assert probes and all(c.request.headers["Authorization"] == "Bearer token-A" for c in probes)


def test_a_handler_needs_routes_or_a_bot_and_a_graph(queue: SqliteQueue) -> None:
    with pytest.raises(ValueError, match="needs routes"):
        TurnHandler(queue=queue)
