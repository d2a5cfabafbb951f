"""Fault injection against the real server: what was acked is answered once, in order, or ends
with a recorded reason — through crashes, Graph errors and Lex failures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.local.test_localmode import not_understood
from tests.support.servers import (
    START_MS,
    Bridge,
    add_fault,
    body_of,
    clear_faults,
    kill_bridge,
    start_bridge,
    stop_bridge,
    text,
)

pytestmark = pytest.mark.e2e

FALLBACK = "Sorry, something went wrong on our side. Please try again in a moment."
FAST = {
    # Faults hit message sends, not the sender actions before them.
    "BRIDGE_SENDER_ACTIONS": "false",
    "BRIDGE_ANSWER_DEADLINE": "1.5",
    "BRIDGE_PROBE_INTERVAL": "1",
    "BRIDGE_WEB_THREADS": "16",
}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    server = start_bridge(tmp_path_factory.mktemp("faults"), **FAST)
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


@pytest.fixture(autouse=True)
def no_faults_left(bridge: Bridge) -> Iterator[None]:
    clear_faults(bridge)
    yield
    clear_faults(bridge)


def say(bridge: Bridge, psid: str, words: str, mid: str, ts: int = 0) -> None:
    assert bridge.post(body_of(text(psid, words, mid, ts))).status_code == 200


def wait_state(bridge: Bridge, mid: str, state: str, timeout: float = 30) -> None:
    wait_for(lambda: bridge.state(mid) == state, timeout=timeout, what=f"{mid} {state}")


def replies(bridge: Bridge, psid: str) -> list[str]:
    return [m.get("text", "<template>") for m in bridge.messages(psid)]


def log_lines(bridge: Bridge, message: str) -> list[dict[str, object]]:
    lines = []
    for line in bridge.log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message", "").startswith(message):
                lines.append(record)
    return lines


def test_graph_500_three_times_then_ok_is_delivered_once(bridge: Bridge) -> None:
    add_fault(bridge, "graph", {"status": 500, "code": 2, "count": 3})
    say(bridge, "5100000000000001", "through the storm", "m_f500")
    wait_state(bridge, "m_f500", "done")
    assert replies(bridge, "5100000000000001") == [not_understood("through the storm")]


def test_rate_limited_sends_are_delivered_later(bridge: Bridge) -> None:
    add_fault(bridge, "graph", {"status": 400, "code": 613, "headers": {"Retry-After": "1"}})
    say(bridge, "5200000000000001", "patience", "m_f613")
    wait_state(bridge, "m_f613", "done")
    assert replies(bridge, "5200000000000001") == [not_understood("patience")]
    assert any(r.get("mid") == "m_f613" for r in log_lines(bridge, "Page throttled"))


def test_unreachable_people_are_not_retried_and_others_are_served(bridge: Bridge) -> None:
    add_fault(bridge, "graph", {"status": 400, "code": 10, "subcode": 2018278})
    say(bridge, "5300000000000001", "too late", "m_fwin")
    wait_state(bridge, "m_fwin", "dropped")
    add_fault(bridge, "graph", {"status": 400, "code": 551, "subcode": 1545041})
    say(bridge, "5300000000000002", "blocked", "m_f551")
    wait_state(bridge, "m_f551", "dropped")
    say(bridge, "5300000000000003", "still here", "m_fok")
    wait_state(bridge, "m_fok", "done")
    assert replies(bridge, "5300000000000003") == [not_understood("still here")]
    assert bridge.http.get(f"{bridge.url}/local/faults", timeout=5).json()["faults"] == []
    assert bridge.state("m_fwin") == "dropped"  # no retry loop brought it back


def test_an_invalid_token_pauses_the_page_until_it_works_again(bridge: Bridge) -> None:
    add_fault(bridge, "graph", {"status": 401, "code": 190, "sticky": True})
    say(bridge, "5400000000000001", "first", "m_f190a")
    wait_for(lambda: log_lines(bridge, "Page paused"), timeout=30, what="the pause")
    say(bridge, "5400000000000002", "second", "m_f190b")
    # Held: nothing is lost, nothing is sent, and the error is logged once, not per message.
    assert bridge.state("m_f190a") == "queued" and bridge.state("m_f190b") == "queued"
    clear_faults(bridge, "graph")  # the operator fixes the token
    wait_state(bridge, "m_f190a", "done")
    wait_state(bridge, "m_f190b", "done")
    assert replies(bridge, "5400000000000001") == [not_understood("first")]
    assert replies(bridge, "5400000000000002") == [not_understood("second")]
    assert len(log_lines(bridge, "Page paused")) == 1
    assert log_lines(bridge, "Page resumed")


def test_lex_throttled_once_is_retried_without_repeating_the_turn(bridge: Bridge) -> None:
    add_fault(bridge, "lex", {"status": 429})
    say(bridge, "5500000000000001", "#turns", "m_f429")
    wait_state(bridge, "m_f429", "done")
    assert replies(bridge, "5500000000000001") == ["This is turn 1 of our conversation."]


def test_a_failed_lambda_gets_the_fallback_text(bridge: Bridge) -> None:
    add_fault(bridge, "lex", {"status": 424})
    say(bridge, "5600000000000001", "hello", "m_f424")
    wait_state(bridge, "m_f424", "done")
    assert replies(bridge, "5600000000000001") == [FALLBACK]


def test_a_hanging_bot_answers_the_fallback_by_the_deadline(bridge: Bridge) -> None:
    add_fault(bridge, "lex", {"delay": 4})
    posted = time.monotonic()
    say(bridge, "5700000000000001", "slow one", "m_fslow")
    wait_for(lambda: replies(bridge, "5700000000000001"), timeout=10, what="the fallback")
    assert time.monotonic() - posted < 3.5  # deadline 1.5 s: well inside Meta's 30 s
    assert replies(bridge, "5700000000000001") == [FALLBACK]
    wait_state(bridge, "m_fslow", "done")
    assert replies(bridge, "5700000000000001") == [FALLBACK, not_understood("slow one")]


def test_kill_9_under_load_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    # 2 processes × 2 threads; the default answer deadline (25 s), so no fallback goes out
    # before the kill (a fallback, once sent, stands: the turn is not asked again).
    env = {**FAST, "BRIDGE_DELIVERY_THREADS": "2", "BRIDGE_ANSWER_DEADLINE": "25"}
    first = start_bridge(tmp_path, "first.log", **env)
    users = [f"58000000000000{n:02d}" for n in range(8)]
    mids = {psid: [f"m_k_{psid}_{i}" for i in range(3)] for psid in users}
    try:
        add_fault(first, "lex", {"delay": 30, "sticky": True})  # a bot that hangs
        for i in range(3):
            for psid in users:
                say(first, psid, f"{psid[-2:]} says {i}", mids[psid][i], ts=i)
        # Every delivery thread is inside a Lex call, so none is between a send and its
        # ledger write: the kill cannot cause a duplicate, and 24 acked events are in flight.
        wait_for(
            lambda: (
                first.http.get(f"{first.url}/local/lex/active", timeout=5).json()["active"] == 4
            ),
            timeout=30,
            what="4 blocked Lex calls",
        )
        clear_faults(first)  # the calls in progress keep hanging; the next server's won't
    finally:
        kill_bridge(first)
    second = start_bridge(tmp_path, "second.log", **env)
    try:
        every = [mid for psid in users for mid in mids[psid]]
        wait_for(
            lambda: all(second.state(mid) == "done" for mid in every),
            timeout=60,
            what="every acked event answered",
        )
        for psid in users:
            assert replies(second, psid) == [
                not_understood(f"{psid[-2:]} says {i}") for i in range(3)
            ]
        released = log_lines(second, "released jobs of a stopped worker")
        assert sum(int(str(r["count"])) for r in released) == 4
    finally:
        assert stop_bridge(second) == 0


def test_events_older_than_the_limit_are_not_answered(bridge: Bridge) -> None:
    stale = {
        "sender": {"id": "5900000000000001"},
        "recipient": {"id": "100000000000001"},
        "timestamp": START_MS - 25 * 3600 * 1000,
        "message": {"mid": "m_fold", "text": "yesterday's news"},
    }
    assert bridge.post(body_of(stale)).status_code == 200
    wait_state(bridge, "m_fold", "dropped")
    assert replies(bridge, "5900000000000001") == []


def test_sigterm_during_a_turn_exits_cleanly_and_the_next_server_finishes_it(
    tmp_path: Path,
) -> None:
    env = {**FAST, "BRIDGE_ANSWER_DEADLINE": "25", "FB_GRAPH_TIMEOUT": "2"}
    first = start_bridge(tmp_path, "first.log", **env)
    try:
        add_fault(first, "lex", {"delay": 2})
        say(first, "6000000000000001", "#turns", "m_term")
        wait_for(
            lambda: (
                first.http.get(f"{first.url}/local/lex/active", timeout=5).json()["active"] == 1
            ),
            timeout=30,
            what="the turn in flight",
        )
    finally:
        assert stop_bridge(first) == 0  # SIGTERM: graceful, clean exit
    drained = log_lines(first, "delivery stopped")
    assert drained and all(r["drained"] is True for r in drained)
    second = start_bridge(tmp_path, "second.log", **env)
    try:
        wait_state(second, "m_term", "done")
        # Turn 1: the answer Lex gave the first server was kept, Lex was not asked again.
        assert replies(second, "6000000000000001") == ["This is turn 1 of our conversation."]
    finally:
        assert stop_bridge(second) == 0
