"""Several Pages against the real server (gunicorn, local mode, BRIDGE_PAGES_FILE): a Page
whose Graph is throttled or whose token is bad never slows the others; a bot shared by Pages
keeps one Lex session per Page; the bot hands a conversation to a person and gets it back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.e2e.test_faults_e2e import log_lines
from tests.local.test_localmode import not_understood
from tests.support.servers import (
    START_MS,
    Bridge,
    add_fault,
    clear_faults,
    start_bridge,
    stop_bridge,
)

pytestmark = pytest.mark.e2e

THROTTLED, HEALTHY, BAD_TOKEN, HANDOVER = (
    "104859375629481",
    "231764905812337",
    "398877665544332",
    "455566677788899",
)
PAGES = {
    THROTTLED: {"access_token": "EAAGthrottledPageToken", "name": "Throttled"},
    HEALTHY: {"access_token": "EAAGhealthyPageToken00", "name": "Healthy"},
    BAD_TOKEN: {"access_token": "EAAGbadTokenPageToken0"},
    HANDOVER: {"access_token": "EAAGhandoverPageToken0", "handover_intent": "Goodbye"},
}
OWN_APP_ID = "100000000000002"
PAGE_INBOX_APP_ID = "263902037430900"
# The Send API's answer when a Page's call budget is used up, with the usage header Graph sends.
THROTTLE = {
    "status": 400,
    "code": 32,
    "headers": {"X-Page-Usage": '{"call_count":100,"total_cputime":40,"total_time":45}'},
}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    tmp = tmp_path_factory.mktemp("pages")
    pages = tmp / "pages.json"
    pages.write_text(json.dumps({"pages": PAGES}))
    server = start_bridge(
        tmp,
        BRIDGE_PAGES_FILE=str(pages),
        FB_APP_ID=OWN_APP_ID,
        BRIDGE_SESSION_ID="page_psid",
        BRIDGE_SENDER_ACTIONS="false",
        BRIDGE_PROBE_INTERVAL="1",
        BRIDGE_WEB_THREADS="16",
    )
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


@pytest.fixture(autouse=True)
def no_faults_left(bridge: Bridge) -> Iterator[None]:
    clear_faults(bridge)
    yield
    clear_faults(bridge)


def item(page: str, psid: str, ts: int, **event: Any) -> dict[str, Any]:
    return {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": START_MS + ts, **event}


def say(bridge: Bridge, page: str, psid: str, words: str, mid: str, ts: int = 0) -> None:
    post(bridge, page, item(page, psid, ts, message={"mid": mid, "text": words}))


def post(bridge: Bridge, page: str, *items: dict[str, Any]) -> None:
    body = {"object": "page", "entry": [{"id": page, "time": START_MS, "messaging": list(items)}]}
    assert bridge.post(json.dumps(body).encode()).status_code == 200


def sent(bridge: Bridge, page: str, psid: str) -> list[dict[str, Any]]:
    response = bridge.http.get(
        f"{bridge.url}/local/graph/inbox", params={"recipient": psid, "page": page}, timeout=10
    )
    return [entry["body"] for entry in response.json()["entries"]]


def texts(bridge: Bridge, page: str, psid: str) -> list[str]:
    return [
        b["message"].get("text", "<template>") for b in sent(bridge, page, psid) if "message" in b
    ]


def faults_left(bridge: Bridge) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = bridge.http.get(f"{bridge.url}/local/faults", timeout=5).json()[
        "faults"
    ]
    return faults


def test_a_throttled_page_holds_its_own_sends_while_another_pages_replies_flow(
    bridge: Bridge,
) -> None:
    add_fault(bridge, "graph", {**THROTTLE, "page": THROTTLED, "record": True, "sticky": True})
    throttled = [f"61000000000000{n:02d}" for n in range(3)]
    say(bridge, THROTTLED, throttled[0], "throttled 0", "m_thr_0")
    wait_for(lambda: log_lines(bridge, "Page throttled"), timeout=30, what="the throttle")
    for n, psid in enumerate(throttled[1:], start=1):  # other people on the held Page
        say(bridge, THROTTLED, psid, f"throttled {n}", f"m_thr_{n}", ts=n)
    started = time.monotonic()
    healthy = [f"62000000000000{n:02d}" for n in range(4)]
    for round_ in range(2):
        for n, psid in enumerate(healthy):
            say(bridge, HEALTHY, psid, f"healthy {n}.{round_}", f"m_ok_{n}_{round_}", ts=round_)
    bridge.wait_done(*(f"m_ok_{n}_{r}" for n in range(4) for r in range(2)))
    elapsed = time.monotonic() - started
    for n, psid in enumerate(healthy):
        assert texts(bridge, HEALTHY, psid) == [
            not_understood(f"healthy {n}.0"),
            not_understood(f"healthy {n}.1"),
        ]
    # The throttled Page: held as a whole after one refused send (Graph asked for 60 s), every
    # job still queued, nothing lost, no attempt used up; the healthy Page never waited for it.
    assert [bridge.state(f"m_thr_{n}") for n in range(3)] == ["queued"] * 3
    attempts = sum(len(sent(bridge, THROTTLED, psid)) for psid in throttled)
    assert attempts == 1
    [hold] = log_lines(bridge, "Page throttled")
    assert hold["page"] == THROTTLED and float(str(hold["hold_s"])) >= 60
    assert elapsed < 20


def test_a_bad_token_pauses_only_its_page_and_probes_use_that_pages_token(
    bridge: Bridge,
) -> None:
    # Three refusals for this Page's token: the send that pauses it, then two probes. Were the
    # probe made with another Page's token, it would pass at once and the Page would pause again.
    add_fault(bridge, "graph", {"status": 401, "code": 190, "page": BAD_TOKEN, "count": 3})
    say(bridge, BAD_TOKEN, "6300000000000001", "anyone?", "m_bad")
    wait_for(
        lambda: any(r.get("page") == BAD_TOKEN for r in log_lines(bridge, "Page paused")),
        timeout=30,
        what="the pause",
    )
    say(bridge, HEALTHY, "6300000000000002", "still fine", "m_fine")
    bridge.wait_done("m_fine")
    assert bridge.state("m_bad") == "queued"
    wait_for(lambda: not faults_left(bridge), timeout=30, what="two probes with the Page's token")
    bridge.wait_done("m_bad")  # the third probe worked: resumed, and the reply went out
    assert texts(bridge, BAD_TOKEN, "6300000000000001") == [not_understood("anyone?")]
    paused = [r for r in log_lines(bridge, "Page paused") if r.get("page") == BAD_TOKEN]
    resumed = [r for r in log_lines(bridge, "Page resumed") if r.get("page") == BAD_TOKEN]
    assert len(paused) == 1 and len(resumed) == 1


def test_one_bot_shared_by_pages_keeps_a_session_per_page(bridge: Bridge) -> None:
    psid = "6400000000000001"  # the same id on two Pages (PSIDs are Page-scoped in reality)
    say(bridge, HEALTHY, psid, "#turns", "m_s1", ts=1)
    bridge.wait_done("m_s1")
    say(bridge, HEALTHY, psid, "#turns", "m_s2", ts=2)
    say(bridge, HANDOVER, psid, "#turns", "m_s3", ts=3)
    bridge.wait_done("m_s2", "m_s3")
    assert texts(bridge, HEALTHY, psid) == [
        "This is turn 1 of our conversation.",
        "This is turn 2 of our conversation.",
    ]
    assert texts(bridge, HANDOVER, psid) == ["This is turn 1 of our conversation."]


def test_the_bot_hands_over_to_a_person_and_gets_the_conversation_back(bridge: Bridge) -> None:
    psid = "6500000000000001"
    say(bridge, HANDOVER, psid, "bye", "m_h1", ts=10)
    bridge.wait_done("m_h1")
    *replies, passed = sent(bridge, HANDOVER, psid)
    assert [r["message"]["text"] for r in replies] == [texts(bridge, HANDOVER, psid)[0]]
    assert passed["target_app_id"] == int(PAGE_INBOX_APP_ID)
    assert passed["metadata"] == "The bot asked for a person (intent Goodbye)."
    # While the Page Inbox holds the conversation the bot is silent: acknowledged, not answered.
    say(bridge, HANDOVER, psid, "hello?", "m_h2", ts=int(time.time() * 1000) - START_MS + 10)
    wait_for(lambda: bridge.state("m_h2") == "dropped", timeout=30, what="m_h2 dropped")
    # The person at the Page passes the conversation back to the bridge's app.
    back = int(time.time() * 1000) - START_MS + 20
    post(
        bridge,
        HANDOVER,
        item(
            HANDOVER,
            psid,
            back,
            pass_thread_control={
                "previous_owner_app_id": PAGE_INBOX_APP_ID,
                "new_owner_app_id": OWN_APP_ID,
                "metadata": "done",
            },
        ),
    )
    say(bridge, HANDOVER, psid, "hello again", "m_h3", ts=back + 10)
    bridge.wait_done("m_h3")
    assert texts(bridge, HANDOVER, psid)[-1] == not_understood("hello again")


def test_a_person_writing_from_the_page_inbox_silences_the_bot(bridge: Bridge) -> None:
    psid = "6600000000000001"
    now = int(time.time() * 1000) - START_MS
    echo = {
        "sender": {"id": HEALTHY},
        "recipient": {"id": psid},
        "timestamp": START_MS + now,
        "message": {
            "mid": "m_echo",
            "is_echo": True,
            "app_id": int(PAGE_INBOX_APP_ID),
            "text": "Hi",
        },
    }
    post(bridge, HEALTHY, echo)
    say(bridge, HEALTHY, psid, "thanks Jisoo", "m_i1", ts=now + 10)
    wait_for(lambda: bridge.state("m_i1") == "dropped", timeout=30, what="m_i1 dropped")
    assert sent(bridge, HEALTHY, psid) == []


def test_events_for_a_page_not_in_the_file_are_ignored(bridge: Bridge, tmp_path: Path) -> None:
    say(bridge, "999999999999999", "6700000000000001", "hello?", "m_unknown")
    wait_for(
        lambda: log_lines(bridge, "webhook items for a Page the bridge does not serve"),
        timeout=10,
        what="the warning",
    )
    assert bridge.state("m_unknown") is None
    metrics = bridge.http.get(f"{bridge.url}/metrics", timeout=10).text
    assert 'bridge_webhook_unknown_page_items_total{page="999999999999999"} 1.0' in metrics
