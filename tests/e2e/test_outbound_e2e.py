"""The outbound API end to end: the real server (gunicorn, two worker processes, one queue
database) in local mode, its local Lex and Graph inbox; messages posted over HTTP with the
bearer token, read back from the inbox and from ``GET /v1/messages/<id>``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.messenger.replies import PAGE_INBOX_APP_ID
from tests.conftest import wait_for
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

TOKEN = "e2e-outbound-api-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOUR_MS = 3_600_000
ENV = {
    "BRIDGE_API_TOKEN": TOKEN,
    "BRIDGE_SENDER_ACTIONS": "false",
    "BRIDGE_PROBE_INTERVAL": "1",
    "BRIDGE_WEB_THREADS": "16",
    "BRIDGE_MAX_BODY_BYTES": "4096",
}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    server = start_bridge(tmp_path_factory.mktemp("outbound"), **ENV)
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


@pytest.fixture(autouse=True)
def no_faults_left(bridge: Bridge) -> Iterator[None]:
    clear_faults(bridge)
    yield
    clear_faults(bridge)


def send(bridge: Bridge, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    return bridge.http.post(
        f"{bridge.url}/v1/messages",
        json=body,
        headers=AUTH if headers is None else headers,
        timeout=10,
    )


def status(bridge: Bridge, message_id: str) -> dict[str, Any]:
    response = bridge.http.get(f"{bridge.url}/v1/messages/{message_id}", headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_status(bridge: Bridge, message_id: str, wanted: str) -> dict[str, Any]:
    return wait_for(  # type: ignore[no-any-return]
        lambda: (s := status(bridge, message_id))["status"] == wanted and s,
        timeout=30,
        what=f"{message_id} {wanted}",
    )


def since_start() -> int:
    """Now, in the milliseconds after START_MS that ``text`` takes."""
    return int(time.time() * 1000) - START_MS


def person_writes(bridge: Bridge, psid: str, words: str, mid: str, ts: int = 0) -> None:
    assert bridge.post(body_of(text(psid, words, mid, ts))).status_code == 200


def test_a_message_is_queued_sent_and_reported(bridge: Bridge) -> None:
    psid = "6100000000000001"
    person_writes(bridge, psid, "hello", "m_o1")
    bridge.wait_done("m_o1")
    response = send(
        bridge,
        {
            "recipient": {"id": psid},
            "text": "How are you feeling today?",
            "messaging_type": "UPDATE",
        },
    )
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "queued"
    done = wait_status(bridge, accepted["id"], "sent")
    sent = [
        b
        for b in bridge.inbox(psid)
        if b.get("message", {}).get("text") == "How are you feeling today?"
    ]
    assert len(sent) == 1 and sent[0]["messaging_type"] == "UPDATE" and "tag" not in sent[0]
    assert done["parts_sent"] == 1 and len(done["message_ids"]) == 1
    assert done["message_ids"][0].startswith("m_local_")


def test_it_never_lands_inside_a_slow_multi_part_reply(bridge: Bridge) -> None:
    psid = "6100000000000002"
    add_fault(bridge, "graph", {"delay": 0.6, "count": 4})  # every send of the reply is slow
    person_writes(bridge, psid, "#long", "m_o2_long")
    wait_for(lambda: bridge.state("m_o2_long") == "running", timeout=15, what="the reply in flight")
    response = send(bridge, {"recipient": {"id": psid}, "text": "A follow-up"})
    assert response.status_code == 202
    # written after the follow-up was queued (Meta's timestamps order a conversation)
    person_writes(bridge, psid, "and then this", "m_o2_next", ts=since_start() + 1000)
    bridge.wait_done("m_o2_long", "m_o2_next")
    wait_status(bridge, response.json()["id"], "sent")
    texts = [m.get("text", "") for m in bridge.messages(psid)]
    follow = texts.index("A follow-up")
    parts = [i for i, t in enumerate(texts) if "Part " in t]
    assert len(parts) >= 2 and max(parts) < follow  # the whole reply, then the follow-up
    assert follow < len(texts) - 1 and "and then this" in texts[-1]  # the next turn after it


def test_one_idempotency_key_under_concurrent_posts_is_one_send(bridge: Bridge) -> None:
    psid = "6100000000000003"
    person_writes(bridge, psid, "hi", "m_o3")
    bridge.wait_done("m_o3")
    body = {"recipient": {"id": psid}, "text": "Only once, please", "idempotency_key": "race-1"}
    barrier = threading.Barrier(8)
    answers: list[requests.Response] = []

    def post() -> None:
        with requests.Session() as http:
            barrier.wait()
            answers.append(
                http.post(f"{bridge.url}/v1/messages", json=body, headers=AUTH, timeout=10)
            )

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [202]
    assert len({a.json()["id"] for a in answers}) == 1
    wait_status(bridge, answers[0].json()["id"], "sent")
    assert send(bridge, body).status_code == 200  # and after it was sent
    assert [m.get("text") for m in bridge.messages(psid)].count("Only once, please") == 1


def test_the_window_and_human_agent(bridge: Bridge) -> None:
    psid = "6100000000000004"
    person_writes(bridge, psid, "old news", "m_o4", ts=-30 * HOUR_MS)  # 30 h ago
    wait_for(lambda: bridge.state("m_o4") == "dropped", timeout=15, what="the old event dropped")
    late = send(bridge, {"recipient": {"id": psid}, "text": "Late"})
    assert late.status_code == 422 and late.json()["error"]["code"] == "outside_window"
    tagged = send(
        bridge,
        {
            "recipient": {"id": psid},
            "text": "An agent here",
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
        },
    )
    assert tagged.status_code == 202
    wait_status(bridge, tagged.json()["id"], "sent")
    [body] = [b for b in bridge.inbox(psid) if "message" in b]
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    retired = send(
        bridge,
        {
            "recipient": {"id": psid},
            "text": "x",
            "messaging_type": "MESSAGE_TAG",
            "tag": "ACCOUNT_UPDATE",
        },
    )
    assert retired.status_code == 400 and retired.json()["error"]["field"] == "tag"


def test_a_held_conversation_takes_only_human_agent(bridge: Bridge) -> None:
    psid = "6100000000000005"
    person_writes(bridge, psid, "I need a person", "m_o5")
    bridge.wait_done("m_o5")
    echo = {
        "sender": {"id": LOCAL_PAGE_ID},
        "recipient": {"id": psid},
        "timestamp": START_MS + 1000,
        "message": {
            "is_echo": True,
            "app_id": int(PAGE_INBOX_APP_ID),
            "mid": "m_o5_echo",
            "text": "Hi, Anna from the clinic here",
        },
    }
    assert bridge.post(body_of(echo)).status_code == 200
    held = send(bridge, {"recipient": {"id": psid}, "text": "Automated nudge"})
    assert held.status_code == 422 and held.json()["error"]["code"] == "held"
    agent = send(
        bridge,
        {
            "recipient": {"id": psid},
            "text": "Anna again",
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
        },
    )
    assert agent.status_code == 202
    wait_status(bridge, agent.json()["id"], "sent")


def test_a_paused_page_holds_the_message_until_it_works_again(bridge: Bridge) -> None:
    psid = "6100000000000006"
    person_writes(bridge, psid, "hi", "m_o6")
    bridge.wait_done("m_o6")
    add_fault(bridge, "graph", {"status": 401, "code": 190, "sticky": True})
    accepted = send(bridge, {"recipient": {"id": psid}, "text": "After the pause"}).json()
    wait_for(lambda: "Page paused" in bridge.log.read_text(), timeout=30, what="the pause")
    assert status(bridge, accepted["id"])["status"] == "queued"
    clear_faults(bridge, "graph")
    wait_status(bridge, accepted["id"], "sent")
    assert [m.get("text") for m in bridge.messages(psid)].count("After the pause") == 1


def test_the_answers_of_the_api(bridge: Bridge) -> None:
    psid = "6100000000000007"
    body = {"recipient": {"id": psid}, "text": "x"}
    wrong = send(bridge, body, {"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    assert send(bridge, body, {}).status_code == 401
    assert (
        bridge.http.get(f"{bridge.url}/v1/messages/out_00", headers=AUTH, timeout=10).status_code
        == 404
    )
    assert bridge.http.get(f"{bridge.url}/v1/nothing", headers=AUTH, timeout=10).status_code == 404
    unknown = send(bridge, body)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_recipient"
    bad = send(bridge, {"recipient": {"id": psid}, "text": ""})
    assert bad.status_code == 400 and bad.json()["error"] == {
        "code": "invalid",
        "field": "text",
        "message": "must be a non-empty string",
    }
    malformed = bridge.http.post(
        f"{bridge.url}/v1/messages",
        data=b"{",
        timeout=10,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    big = send(bridge, {"recipient": {"id": psid}, "text": "y" * 5000})
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"


def test_no_token_or_text_in_the_servers_output(bridge: Bridge) -> None:
    psid = "6100000000000008"
    person_writes(bridge, psid, "hi", "m_o8")
    bridge.wait_done("m_o8")
    secret = "NOTIFICATION-TOKEN-e2e-never-logged"
    refused = send(bridge, {"recipient": {"notification_messages_token": secret}, "text": "x"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_recipient"
    accepted = send(bridge, {"recipient": {"id": psid}, "text": "Words nobody logs 8c1f"})
    wait_status(bridge, accepted.json()["id"], "sent")
    output = bridge.log.read_text()
    assert secret not in output and "Words nobody logs" not in output and TOKEN not in output
    assert accepted.json()["id"] in output  # the log names the message by its id


def test_a_message_acknowledged_before_kill_9_is_sent_after_the_restart(tmp_path: Path) -> None:
    psid = "6100000000000009"
    first = start_bridge(tmp_path, "first.log", **ENV, BRIDGE_DELIVERY_THREADS="0")
    try:
        person_writes(first, psid, "hi", "m_o9")
        response = send(first, {"recipient": {"id": psid}, "text": "Survives the crash"})
        assert response.status_code == 202
    finally:
        kill_bridge(first)
    second = start_bridge(tmp_path, "second.log", **ENV)
    try:
        wait_status(second, response.json()["id"], "sent")
        assert [m.get("text") for m in second.messages(psid)].count("Survives the crash") == 1
    finally:
        assert stop_bridge(second) == 0
