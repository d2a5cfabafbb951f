"""Logs: JSON lines with the ids of what they are about, never message text or secrets.

Unit tests of the formatters, the context binding and the scrubbing (gunicorn's logs are in
test_gunicorn_logs.py); then a whole end-to-end run of the real server at DEBUG whose log
output is searched for every text, secret, PSID, signature and appsecret_proof that went
through it.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from pythonjsonlogger.json import JsonFormatter as _PythonJsonFormatter

from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_PAGE_ACCESS_TOKEN, LOCAL_VERIFY_TOKEN
from bridge.delivery.limits import Limits
from bridge.delivery.loop import Delivery
from bridge.delivery.turn import TurnHandler
from bridge.messenger import events
from bridge.messenger.events import Event, bot_input
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Reply, Text
from bridge.messenger.signature import appsecret_proof, sign
from bridge.obs.logs import (
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    hash_id,
    log_context,
    new_request_id,
    scrub,
    set_secrets,
)
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.webhook import to_new_job
from tests.conftest import GRAPH, ScriptedBot, delivery, text_item
from tests.support.servers import add_fault, body_of, start_bridge, stop_bridge, text


@pytest.fixture(autouse=True)
def no_secrets_configured() -> Iterator[None]:
    set_secrets([])
    yield
    set_secrets([])


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("bridge.test", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's lines as the server writes them: JSON, with the bound context."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --- the formatters ------------------------------------------------------------------------------


def test_a_json_line_has_time_level_logger_message_then_the_fields() -> None:
    line = JsonFormatter().format(record("turn %s", "delivered", job_id=7, mid="m_1"))
    entry = json.loads(line)
    assert list(entry)[:4] == ["time", "level", "logger", "message"]
    assert entry["level"] == "INFO" and entry["logger"] == "bridge.test"
    assert entry["message"] == "turn delivered"
    assert (entry["job_id"], entry["mid"]) == (7, "m_1")
    assert entry["time"].endswith("+00:00") and "." in entry["time"]
    assert "\n" not in line


def test_json_keeps_non_ascii_readable_and_survives_odd_values() -> None:
    line = JsonFormatter().format(
        record("명령 %s", "✓", path=Path("/x"), raw=b"\x00", obj=object())
    )
    entry = json.loads(line)
    assert entry["message"] == "명령 ✓"
    assert "명령" in line  # not \\uXXXX escapes
    assert entry["path"] == "/x"


def test_an_exception_becomes_one_field_on_the_same_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        entry = record("failed")
        entry.exc_info = __import__("sys").exc_info()
    line = JsonFormatter().format(entry)
    assert line.count("\n") == 0
    parsed = json.loads(line)
    assert "ValueError: boom" in parsed["exception"]


def python_json_logger_line(record: logging.LogRecord) -> str:
    """The line python-json-logger writes for ``record`` with JsonFormatter's set-up (what
    every line went through before the cheap path)."""
    return _PythonJsonFormatter.format(JsonFormatter(), record)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"events": 1, "added": 1, "duplicates": 0, "mids": ["m_1", "m_2"], "thread_signals": 0},
        {"path": Path("/x"), "raw": b"\x00", "when": datetime(2026, 1, 2, tzinfo=UTC)},
        {"obj": object(), "nested": {"a": (1, 2.5, None, True)}, "text": '명령 \u2028 "q"'},
        {"level": "overridden", "message": "kept", "_private": 1, "time": "mine"},
        {"pages": {"2", "1"}, "error": ValueError("x"), "kind": int},
    ],
)
def test_the_cheap_path_writes_python_json_loggers_line(extra: dict[str, object]) -> None:
    entry = record("turn %s %d", "delivered", 3, request_id="0123456789abcdef")
    for key, value in extra.items():
        setattr(entry, key, value)
    assert JsonFormatter().format(entry) == python_json_logger_line(entry)


def test_records_the_cheap_path_does_not_take_are_python_json_loggers() -> None:
    as_dict = record("ignored")
    as_dict.msg = {"event": "a dict message"}
    with_stack = record("stack", stack_info="Stack (most recent call last):\n  here")
    for entry in (as_dict, with_stack):
        assert JsonFormatter().format(entry) == python_json_logger_line(entry)


def test_the_text_format_is_for_people() -> None:
    line = TextFormatter().format(record("turn delivered", job_id=7))
    assert "INFO bridge.test: turn delivered job_id=7" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


# --- context -------------------------------------------------------------------------------------


def test_bound_fields_reach_every_line_and_explicit_fields_win(captured: io.StringIO) -> None:
    log = logging.getLogger("bridge.test")
    with log_context(delivery_id="d1", job_id=1):
        log.info("one")
        with log_context(mid="m_1"):
            log.info("two", extra={"job_id": 99})
        log.info("three")
    log.info("four")
    one, two, three, four = lines_of(captured)
    assert (one["delivery_id"], one["job_id"]) == ("d1", 1) and "mid" not in one
    assert (two["delivery_id"], two["job_id"], two["mid"]) == ("d1", 99, "m_1")
    assert "mid" not in three
    assert "delivery_id" not in four


def test_context_does_not_leak_between_threads(captured: io.StringIO) -> None:
    log = logging.getLogger("bridge.test")
    started, release = threading.Event(), threading.Event()

    def other() -> None:
        started.wait(5)
        log.info("other thread")
        release.set()

    thread = threading.Thread(target=other)
    thread.start()
    with log_context(delivery_id="mine"):
        started.set()
        release.wait(5)
    thread.join(5)
    [entry] = [e for e in lines_of(captured) if e["message"] == "other thread"]
    assert "delivery_id" not in entry


def test_request_ids_are_random_unless_a_proxy_sent_a_sane_one() -> None:
    first, second = new_request_id(), new_request_id()
    assert first != second and len(first) == 16
    assert new_request_id("abc-123_XYZ.4:5") == "abc-123_XYZ.4:5"
    for bad in ("short", "x" * 65, 'with "quote" inside', "new\nline-injected", "", None):
        assert new_request_id(bad) != bad


# --- scrubbing -----------------------------------------------------------------------------------


def test_configured_secrets_and_proofs_never_print() -> None:
    set_secrets(["s3cret-app-value", "EAApagetoken12345", "short", None])
    proof = appsecret_proof("s3cret-app-value", "EAApagetoken12345", 1700000000)
    line = scrub(
        f"token EAApagetoken12345 secret s3cret-app-value short url ?appsecret_proof={proof}&x=1"
        f' {{"appsecret_proof": "{proof}"}}'
    )
    assert "s3cret-app-value" not in line and "EAApagetoken12345" not in line
    assert proof not in line
    assert line.count("[redacted]") == 5
    assert "short" not in line


def test_a_short_secret_is_scrubbed_as_a_word_but_not_inside_other_words() -> None:
    set_secrets(["k9z", None, ""])
    line = scrub("token=k9z, k9zed ak9z (k9z) k9z")
    assert line == "token=[redacted], k9zed ak9z ([redacted]) [redacted]"


def test_a_secret_is_scrubbed_in_the_form_json_writes_it_too() -> None:
    set_secrets(['pa"ss\\word-é-12345'])
    entry = record("login with %s", 'pa"ss\\word-é-12345')
    assert "ss\\\\word" not in JsonFormatter().format(entry)
    assert "[redacted]" in JsonFormatter().format(entry)
    assert scrub(json.dumps({"v": 'pa"ss\\word-é-12345'})) == '{"v": "[redacted]"}'


def test_the_formatters_scrub_too() -> None:
    set_secrets(["a-long-app-secret"])
    entry = record("leaked %s", "a-long-app-secret", detail="a-long-app-secret")
    assert "a-long-app-secret" not in JsonFormatter().format(entry)
    assert "a-long-app-secret" not in TextFormatter().format(entry)


# --- delivery lines carry the ids of their job ---------------------------------------------------


class LoggingBot(ScriptedBot):
    """Logs from the bot's helper thread, as a backend would; answers once ``ready`` is set
    (by then a slow turn has shown seen and typing)."""

    def __init__(self, ready: threading.Event) -> None:
        super().__init__()
        self._ready = ready

    def respond(self, event: Event) -> list[Reply]:
        logging.getLogger("bridge.bots.test").info("bot asked")
        assert self._ready.wait(10)
        return [Text(f"echo: {bot_input(event)}")]


def test_every_line_of_a_delivery_carries_its_ids(
    captured: io.StringIO, queue: SqliteQueue, graph: GraphClient
) -> None:
    send = f"{GRAPH}/v25.0/me/messages"
    typing_tried = threading.Event()
    error = {"error": {"message": "x", "code": 2, "fbtrace_id": "TRACE42"}}

    def graph_answers(request: Any) -> tuple[int, dict[str, str], str]:
        if json.loads(request.body).get("sender_action") == "typing_on":
            typing_tried.set()
            return 500, {}, json.dumps(error)  # a logged Graph error
        return 200, {}, json.dumps({"message_id": "m_out"})

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, send, callback=graph_answers)
        now_ms = int(time.time() * 1000)
        body = delivery(text_item("2900000000000001", "private words", "m_ids", ts=now_ms))
        [event] = events.parse_webhook(json.loads(body)).events
        queue.put([to_new_job(event, time.time(), "delivery-0001")], now=time.time())
        handler = TurnHandler(
            queue=queue,
            bot=LoggingBot(typing_tried),
            graph=graph,
            fallback_text="sorry",
            typing_delay=0.01,
        )
        worker = Delivery(queue, handler, threads=1, poll_interval=0.01, limits=Limits())
        assert worker.run_once("owner")
    worker.stop(timeout=1)
    entries = lines_of(captured)
    about_the_job = [e for e in entries if e["message"] in ("bot asked", "sender action failed")]
    assert {e["message"] for e in about_the_job} == {"bot asked", "sender action failed"}
    for entry in about_the_job + [e for e in entries if e["message"] == "turn delivered"]:
        assert entry["delivery_id"] == "delivery-0001"
        assert entry["mid"] == "m_ids" and isinstance(entry["job_id"], int)
        assert entry["page"] == "111111111111111"
        assert entry["user"] == hash_id("111111111111111:2900000000000001")
    [failed] = [e for e in entries if e["message"] == "sender action failed"]
    assert failed["fbtrace_id"] == "TRACE42"
    everything = json.dumps(lines_of(captured))
    assert "private words" not in everything and "2900000000000001" not in everything


# --- end to end: nothing that must stay private reaches the server's log -------------------------


WORDS = [
    "my private words",
    "열이 나요 그리고 기침도 해요",
    "symptoms of flu",
    "#long",
    "the card please #card",
]
PSIDS = ["6100000000000001", "6100000000000002", "6100000000000003"]


@pytest.mark.e2e
def test_a_whole_run_logs_ids_but_no_text_secret_psid_or_proof(tmp_path: Path) -> None:
    started = int(time.time())
    bridge = start_bridge(tmp_path, LOG_LEVEL="DEBUG", BRIDGE_METRICS_TOKEN="m" * 32)
    signatures: list[str] = []
    try:
        # Meta's handshake puts the verify token in the query string.
        verify = requests.get(
            f"{bridge.url}/webhook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": LOCAL_VERIFY_TOKEN,
                "hub.challenge": "42",
            },
            timeout=5,
        )
        assert verify.text == "42"
        mids = []
        for n, words in enumerate(WORDS):
            psid, mid = PSIDS[n % len(PSIDS)], f"m_logs_{n}"
            body = body_of(text(psid, words, mid, ts=n))
            signatures.append(sign(LOCAL_APP_SECRET, body))
            assert bridge.post(body).status_code == 200
            mids.append(mid)
        bridge.wait_done(*mids)
        assert bridge.post(body_of(text(PSIDS[0], WORDS[0], "m_logs_0"))).ok  # redelivered
        assert bridge.post(body_of(text(PSIDS[1], "forged", "m_x")), secret="wrong").ok is False
        # An error path: a slow bot (so seen and typing go out at 0.5 s), and Graph fails the
        # sender actions and the send; the turn is retried.
        add_fault(bridge, "lex", {"delay": 2})
        add_fault(bridge, "graph", {"status": 500, "code": 2, "count": 3})
        body = body_of(text(PSIDS[2], "through the storm 폭풍", "m_logs_fault", ts=99))
        signatures.append(sign(LOCAL_APP_SECRET, body))
        assert bridge.post(body).ok
        bridge.wait_done("m_logs_fault")
        headers = {"Authorization": "Bearer " + "m" * 32}
        assert requests.get(f"{bridge.url}/metrics", headers=headers, timeout=5).ok
        assert requests.get(f"{bridge.url}/readyz", timeout=5).ok
    finally:
        assert stop_bridge(bridge) == 0, bridge.log.read_text()
    ended = int(time.time())

    output = bridge.log.read_text()
    lines = [line for line in output.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert any(e["level"] == "DEBUG" for e in entries)
    secrets = [LOCAL_APP_SECRET, LOCAL_VERIFY_TOKEN, LOCAL_PAGE_ACCESS_TOKEN, "m" * 32]
    proofs = [
        appsecret_proof(LOCAL_APP_SECRET, LOCAL_PAGE_ACCESS_TOKEN, second)
        for second in range(started - 5, ended + 5)
    ]
    forbidden = [*WORDS, "forged", "through the storm", "폭풍", *secrets, *PSIDS]
    forbidden += [s.removeprefix("sha256=") for s in signatures] + proofs
    for value in forbidden:
        assert value not in output, f"{value[:20]!r}... is in the log"

    # Delivery lines carry the delivery id of the POST that brought the event.
    delivered = [e for e in entries if e.get("message") == "turn delivered"]
    assert {e["mid"] for e in delivered} >= {*mids, "m_logs_fault"}
    # What each POST added is on its access line, under the POST's request id.
    accepted = {
        mid: e["request_id"]
        for e in entries
        if e.get("logger") == "gunicorn.access" and e.get("added")
        for mid in e["mids"]
    }
    for entry in delivered:
        assert entry["delivery_id"] == accepted[entry["mid"]]
        assert isinstance(entry["job_id"], int) and entry["user"] and entry["page"]
    retried = [e for e in entries if e.get("message") == "job will be retried"]
    assert retried and all(e["mid"] == "m_logs_fault" for e in retried)
    assert all(e["delivery_id"] == accepted["m_logs_fault"] for e in retried)
    failed = [e for e in entries if e.get("message") == "sender action failed"]
    assert failed and all(e["fbtrace_id"] and e["mid"] == "m_logs_fault" for e in failed)
    access = [e for e in entries if e.get("logger") == "gunicorn.access"]
    assert {"/webhook", "/metrics", "/readyz"} <= {e["path"] for e in access}
    assert all(isinstance(e["status"], int) and e["request_id"] != "-" for e in access)


def test_a_database_from_before_delivery_ids_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
        " conversation TEXT NOT NULL, order_ts INTEGER NOT NULL, payload TEXT NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
        " not_before REAL NOT NULL DEFAULT 0, owner TEXT, lease_until REAL NOT NULL DEFAULT 0,"
        " reply TEXT, sent INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
        " created_at REAL NOT NULL, finished_at REAL);"
        "INSERT INTO jobs (key, conversation, order_ts, payload, created_at)"
        " VALUES ('m_old', 'p:1', 1, '{}', 1);"
    )
    old.commit()
    old.close()
    queue = SqliteQueue(path)
    try:
        job = queue.claim(owner="o", process="p", now=2, lease=10)
        assert job is not None and (job.key, job.delivery_id) == ("m_old", "")
        queue.put([to_new_job_with_id("m_new", "d-123456789")], now=3)
        queue.ack(job, now=3)
        fresh = queue.claim(owner="o", process="p", now=4, lease=10)
        assert fresh is not None and fresh.delivery_id == "d-123456789"
    finally:
        queue.close()


def to_new_job_with_id(key: str, delivery_id: str) -> Any:
    from bridge.queue import NewJob

    return NewJob(key, "p", "p:2", 2, "{}", delivery_id=delivery_id)
