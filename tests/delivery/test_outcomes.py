"""What the end of a turn means for its job: retries, dead letters, the Graph failure policy
(drop, hold or pause the Page), events too old to answer."""

from __future__ import annotations

import logging

import pytest
import responses

from bridge.messenger.events import Event
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Reply
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot
from tests.delivery.harness import (
    NOW_MS,
    PROBE_URL,
    Clock,
    delivery,
    enqueue,
    fail,
    handler,
    ok,
    text,
)

# --- retries and dead letters ------------------------------------------------------------------


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
