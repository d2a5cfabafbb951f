"""End to end: the real server (gunicorn -c gunicorn.conf.py wsgi:app) in local mode.

Signed webhooks go in over HTTP; the local Lex endpoint answers through boto3; replies are
read back from the local Graph inbox. Several worker processes share one queue database.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_PAGE_ID
from bridge.messenger.limits import TEXT_MAX
from bridge.messenger.signature import sign
from tests.local.test_localmode import not_understood
from tests.support.servers import (
    ROOT,
    START_MS,
    Bridge,
    add_fault,
    body_of,
    run_gunicorn,
    server_environment,
    start_bridge,
    stop_bridge,
    text,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    server = start_bridge(tmp_path_factory.mktemp("bridge"))
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


def test_a_fast_answer_goes_out_alone(bridge: Bridge) -> None:
    assert bridge.post(body_of(text("3000000000000001", "good morning", "m_e2e_1"))).ok
    bridge.wait_done("m_e2e_1")
    inbox = bridge.inbox("3000000000000001")
    assert [b.get("sender_action") for b in inbox] == [None]  # one Send API call, no actions
    assert [m["text"] for m in bridge.messages("3000000000000001")] == [
        not_understood("good morning")
    ]


def test_a_slow_bot_shows_seen_and_typing_before_its_answer(bridge: Bridge) -> None:
    add_fault(bridge, "lex", {"delay": 2})  # past BRIDGE_TYPING_DELAY (0.5 s)
    assert bridge.post(body_of(text("3000000000000002", "good evening", "m_e2e_2"))).ok
    bridge.wait_done("m_e2e_2")
    inbox = bridge.inbox("3000000000000002")
    assert [b.get("sender_action") for b in inbox] == ["mark_seen", "typing_on", None]
    assert inbox[-1]["message"] == {"text": not_understood("good evening")}


def test_each_user_gets_answers_in_order_under_concurrency(bridge: Bridge) -> None:
    users = [f"31000000000000{n:02d}" for n in range(5)]

    def talk(psid: str) -> None:
        for i in range(5):
            assert bridge.post(
                body_of(text(psid, f"{psid[-2:]} says {i}", f"m_ord_{psid}_{i}", ts=1000 + i))
            ).ok

    threads = [threading.Thread(target=talk, args=(psid,)) for psid in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    bridge.wait_done(*(f"m_ord_{psid}_{i}" for psid in users for i in range(5)))
    for psid in users:
        assert [m["text"] for m in bridge.messages(psid)] == [
            not_understood(f"{psid[-2:]} says {i}") for i in range(5)
        ]


def test_a_redelivered_mid_is_answered_once(bridge: Bridge) -> None:
    body = body_of(text("3200000000000001", "only once", "m_dup"))
    responses = []
    threads = [
        threading.Thread(target=lambda: responses.append(bridge.post(body).status_code))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert responses == [200] * 4
    bridge.wait_done("m_dup")
    assert bridge.post(body).status_code == 200  # after it was answered, too
    assert bridge.state("m_dup") == "done"
    assert [m["text"] for m in bridge.messages("3200000000000001")] == [not_understood("only once")]


def test_a_card_becomes_a_generic_template_and_a_tap_comes_back(bridge: Bridge) -> None:
    psid = "3300000000000001"
    bridge.post(body_of(text(psid, "#card", "m_card")))
    bridge.wait_done("m_card")
    [message] = bridge.messages(psid)
    payload = message["attachment"]["payload"]
    assert payload["template_type"] == "generic"
    [element] = payload["elements"]
    assert element["title"] == "Messenger Lex Bridge"
    assert element["image_url"].endswith("/local/assets/card.svg")
    assert [(b["type"], b["title"], b["payload"]) for b in element["buttons"]] == [
        ("postback", "Say hello", "hello"),
        ("postback", "Count my turns", "#turns"),
    ]
    tap = {
        "sender": {"id": psid},
        "recipient": {"id": LOCAL_PAGE_ID},
        "timestamp": START_MS + 2,
        "postback": {"mid": "m_tap", "title": "Count my turns", "payload": "#turns"},
    }
    bridge.post(body_of(tap))
    bridge.wait_done("m_tap")
    assert bridge.messages(psid)[-1] == {"text": "This is turn 2 of our conversation."}


def test_a_long_reply_is_split_in_order(bridge: Bridge) -> None:
    psid = "3400000000000001"
    bridge.post(body_of(text(psid, "#long", "m_long")))
    bridge.wait_done("m_long")
    parts = [m["text"] for m in bridge.messages(psid)]
    assert len(parts) >= 2
    assert all(len(part) < TEXT_MAX for part in parts)
    joined = "\n\n".join(parts)
    assert [joined.index(f"Part {n}.") for n in range(1, 6)] == sorted(
        joined.index(f"Part {n}.") for n in range(1, 6)
    )


def test_a_batch_of_several_entries_is_fully_answered(bridge: Bridge) -> None:
    users = ["3500000000000001", "3500000000000002", "3500000000000003"]
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": LOCAL_PAGE_ID,
                    "time": 1,
                    "messaging": [
                        text(users[0], "first", "m_b1", 1),
                        text(users[1], "second", "m_b2", 2),
                    ],
                },
                {
                    "id": LOCAL_PAGE_ID,
                    "time": 2,
                    "messaging": [
                        text(users[2], "third", "m_b3", 3),
                        text(users[0], "fourth", "m_b4", 4),
                    ],
                },
            ],
        }
    ).encode()
    assert bridge.post(body).ok
    bridge.wait_done("m_b1", "m_b2", "m_b3", "m_b4")
    assert [m["text"] for m in bridge.messages(users[0])] == [
        not_understood("first"),
        not_understood("fourth"),
    ]
    assert [m["text"] for m in bridge.messages(users[1])] == [not_understood("second")]
    assert [m["text"] for m in bridge.messages(users[2])] == [not_understood("third")]


def test_bad_input_gets_clear_answers(bridge: Bridge) -> None:
    body = body_of(text("3600000000000001", "hi", "m_bad"))
    assert bridge.post(body, secret="not-the-secret").status_code == 403
    assert (
        bridge.http.post(
            f"{bridge.url}/webhook",
            data=b"{",
            timeout=5,
            headers={"X-Hub-Signature-256": sign(LOCAL_APP_SECRET, b"{")},
        ).status_code
        == 400
    )
    # The size is refused from Content-Length, before the body is read: send only the headers
    # (a client still streaming a large body may see the connection close under it).
    host, port = bridge.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (1024 * 1024 + 1)
        )
        assert conn.recv(64).startswith(b"HTTP/1.1 413 ")
    assert bridge.state("m_bad") is None


def test_the_terminal_chat_talks_through_the_webhook(bridge: Bridge) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "chat",
            "--url",
            bridge.url,
            "--psid",
            "3700000000000001",
            "--timeout",
            "20",
        ],
        input="hello\n1\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bot> Hi! I'm a symptom checker." in out
    assert "(1) List conditions" in out
    assert "bot> ┌ Common conditions (1/3)" in out  # picking 1 sent the quick reply's payload


def test_a_bad_configuration_stops_startup_and_names_every_problem(tmp_path: Path) -> None:
    result = run_gunicorn(server_environment("AWS_", PORT="not-a-port", LEX_BOT_ID="short"))
    assert result.returncode != 0
    for name in (
        "FB_APP_SECRET",
        "FB_VERIFY_TOKEN",
        "FB_PAGE_ACCESS_TOKEN",
        "PORT",
        "LEX_BOT_ID",
        "LEX_BOT_ALIAS_ID",
    ):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_delivery_can_run_alone_in_bridge_worker(tmp_path: Path) -> None:
    server = start_bridge(tmp_path, BRIDGE_DELIVERY_THREADS="0")
    worker = None
    try:
        psid = "3800000000000001"
        assert server.post(body_of(text(psid, "queued for the worker", "m_w"))).ok
        assert server.state("m_w") == "queued"  # nothing in the web processes delivers
        port = server.url.rsplit(":", 1)[1]
        environment = {
            **os.environ,
            "BRIDGE_MODE": "local",
            "PORT": port,
            "BRIDGE_DB": str(tmp_path / "bridge.db"),
            "BRIDGE_POLL_INTERVAL": "0.05",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "bridge", "worker", "--threads", "2"],
            cwd=ROOT,
            env=environment,
            stderr=subprocess.PIPE,
        )
        server.wait_done("m_w")
        assert [m["text"] for m in server.messages(psid)] == [
            not_understood("queued for the worker")
        ]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        if worker is not None and worker.stderr is not None:
            worker.stderr.close()
        assert stop_bridge(server) == 0
