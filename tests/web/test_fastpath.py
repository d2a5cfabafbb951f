"""The webhook POST in front of Flask: the same answers as Flask's route, everything else
untouched. Each request is a WSGI environ, as gunicorn hands it over."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient
from bridge.obs.gunicorn_logs import ACCESS_FIELDS
from bridge.obs.logs import ContextFilter
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.fastpath import WebhookFastPath, status_line
from bridge.web.listeners import ListenerSplit
from tests.conftest import ScriptedBot, delivery, signed_headers, text_item
from tests.web.test_webhook import BrokenQueue

LIMIT = 2048
PROXY_ID = "proxy-request-0001"


@dataclass
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])


class CountingStream(io.BytesIO):
    """A request body that counts what the app read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def environ(
    body: bytes = b"",
    *,
    method: str = "POST",
    path: str = "/webhook",
    headers: dict[str, str] | None = None,
    chunked: bool = False,
    terminated: bool = True,
) -> dict[str, Any]:
    """A WSGI environ as gunicorn builds it (``chunked``: no Content-Length)."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": CountingStream(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if terminated:
        env["wsgi.input_terminated"] = True
    if chunked:
        env["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return env


def call(app: Callable[..., Iterable[bytes]], env: dict[str, Any]) -> Answer:
    started: list[Any] = []
    chunks = app(env, lambda status, headers, exc_info=None: started.append((status, headers)))
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    status, headers = started[0]
    return Answer(status, list(headers), body)


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {**signed_headers(body), "X-Request-ID": PROXY_ID, **extra}


@pytest.fixture
def app(settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Flask:
    limited = replace(settings, web=replace(settings.web, max_body_bytes=LIMIT))
    return create_app(limited, queue=queue, bot=ScriptedBot(), graph=graph)


def fast(app: Flask) -> WebhookFastPath:
    """The fast path, behind the listener split (bridge/web/listeners.py)."""
    split = app.wsgi_app
    assert isinstance(split, ListenerSplit) and isinstance(split.app, WebhookFastPath)
    return split.app


def flask_only(app: Flask) -> Callable[..., Iterable[bytes]]:
    """The app as it was before the fast path: Flask's own ``wsgi_app``."""
    return fast(app).app


# --- the same answers as Flask's route ---------------------------------------------------------


SMALL = delivery(text_item("7", "hello", "m_fast"))
BIG = delivery(text_item("7", "x" * LIMIT, "m_big"))
CASES = {
    "ok": lambda: environ(SMALL, headers=signed(SMALL)),
    "no signature": lambda: environ(SMALL, headers={"X-Request-ID": PROXY_ID}),
    "wrong signature": lambda: environ(SMALL, headers=signed(b"other")),
    "not json": lambda: environ(b"{", headers=signed(b"{")),
    "wrong shape": lambda: environ(b"[]", headers=signed(b"[]")),
    "declared too large": lambda: environ(BIG, headers=signed(BIG)),
    "chunked": lambda: environ(SMALL, headers=signed(SMALL), chunked=True),
    "chunked too large": lambda: environ(BIG, headers=signed(BIG), chunked=True),
    "unterminated without length": lambda: environ(
        SMALL, headers=signed(SMALL), chunked=True, terminated=False
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_answer_is_flasks_byte_for_byte(app: Flask, case: str) -> None:
    mine = call(fast(app), CASES[case]())
    flasks = call(flask_only(app), CASES[case]())
    assert (mine.status, mine.headers, mine.body) == (flasks.status, flasks.headers, flasks.body)


@pytest.mark.parametrize(
    ("case", "code", "text"),
    [
        ("ok", 200, b"EVENT_RECEIVED"),
        ("no signature", 403, b"Forbidden"),
        ("wrong signature", 403, b"Forbidden"),
        ("not json", 400, b"Bad Request"),
        ("wrong shape", 200, b"EVENT_RECEIVED"),
        ("declared too large", 413, b"Payload Too Large"),
        ("chunked", 200, b"EVENT_RECEIVED"),
        ("chunked too large", 413, b"Request Entity Too Large"),
        ("unterminated without length", 403, b"Forbidden"),  # read as empty, as werkzeug does
    ],
)
def test_statuses_and_plain_bodies(app: Flask, case: str, code: int, text: bytes) -> None:
    answer = call(fast(app), CASES[case]())
    assert (answer.code, answer.body) == (code, text)
    assert answer.headers == [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(text))),
        ("X-Request-ID", PROXY_ID),
    ]


def test_a_signed_post_is_committed_with_the_request_id_as_delivery_id(
    app: Flask, queue: SqliteQueue
) -> None:
    assert call(fast(app), CASES["ok"]()).status == "200 OK"
    job = queue.claim(owner="t", process="t", now=0, lease=1)
    assert job is not None and (job.key, job.delivery_id) == ("m_fast", PROXY_ID)


def test_a_declared_size_over_the_limit_is_refused_before_reading(app: Flask) -> None:
    env = environ(BIG, headers=signed(BIG))
    assert call(fast(app), env).code == 413
    assert env["wsgi.input"].taken == 0


def test_a_chunked_body_is_read_no_further_than_one_byte_past_the_limit(app: Flask) -> None:
    huge = b"x" * (LIMIT * 10)
    env = environ(huge, headers=signed(huge), chunked=True)
    assert call(fast(app), env).code == 413
    assert env["wsgi.input"].taken == LIMIT + 1


def test_a_stream_that_returns_less_than_asked_is_read_to_its_end(app: Flask) -> None:
    class Trickle(CountingStream):
        def read(self, size: int | None = -1) -> bytes:
            return super().read(min(7, size if size is not None and size >= 0 else 7))

    env = environ(SMALL, headers=signed(SMALL))
    env["wsgi.input"] = Trickle(SMALL)
    assert call(fast(app), env).body == b"EVENT_RECEIVED"


def test_an_unsane_request_id_is_replaced(app: Flask) -> None:
    headers = {**signed(SMALL), "X-Request-ID": 'bad "id"'}
    sent = dict(call(fast(app), environ(SMALL, headers=headers)).headers)["X-Request-ID"]
    assert sent != 'bad "id"' and len(sent) == 16


def test_a_queue_failure_is_503_without_details(
    settings: Settings, graph: GraphClient, tmp_path: Path
) -> None:
    app = create_app(settings, queue=BrokenQueue(tmp_path / "q.db"), bot=ScriptedBot(), graph=graph)
    answer = call(fast(app), CASES["ok"]())
    assert (answer.code, answer.body) == (503, b"Service Unavailable")


def test_an_unexpected_error_is_500_without_a_stack_trace(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr("bridge.web.webhook._parse", boom)
    caplog.handler.addFilter(ContextFilter())
    answer = call(fast(app), CASES["ok"]())
    assert (answer.code, answer.body) == (500, b"Internal Server Error")
    assert dict(answer.headers)["X-Request-ID"] == PROXY_ID
    [logged] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged.exc_info is not None and getattr(logged, "request_id", None) == PROXY_ID


def test_the_posts_log_lines_carry_its_request_and_delivery_id(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)
    call(fast(app), CASES["ok"]())
    [accepted] = [r for r in caplog.records if r.getMessage() == "webhook accepted"]
    assert (accepted.request_id, accepted.delivery_id) == (PROXY_ID, PROXY_ID)  # type: ignore[attr-defined]
    assert accepted.mids == ["m_fast"]  # type: ignore[attr-defined]


def test_under_gunicorn_the_summary_goes_to_the_access_line_instead(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.extensions["bridge"].summary_in_access_log = True  # as gunicorn.conf.py sets it
    caplog.set_level(logging.INFO)
    env = CASES["ok"]()
    assert call(fast(app), env).code == 200
    assert env[ACCESS_FIELDS] == {
        "events": 1,
        "added": 1,
        "duplicates": 0,
        "mids": ["m_fast"],
        "thread_signals": 1,
        "notification_tokens": 0,
    }
    assert not [r for r in caplog.records if r.getMessage() == "webhook accepted"]
    repeat = CASES["ok"]()
    assert call(fast(app), repeat).code == 200
    assert (repeat[ACCESS_FIELDS]["added"], repeat[ACCESS_FIELDS]["duplicates"]) == (0, 1)


def test_a_recording_is_written_by_the_fast_path(
    settings: Settings, queue: SqliteQueue, graph: GraphClient, tmp_path: Path
) -> None:
    folder = tmp_path / "recorded"
    web = replace(settings.web, record_dir=folder, record_redact=False)
    app = create_app(replace(settings, web=web), queue=queue, bot=ScriptedBot(), graph=graph)
    assert call(fast(app), CASES["ok"]()).code == 200
    assert call(fast(app), CASES["wrong signature"]()).code == 403
    [recorded] = [p for p in folder.iterdir() if p.name != "index.jsonl"]
    assert recorded.read_bytes() == SMALL
    assert json.loads((folder / "index.jsonl").read_text())["bytes"] == len(SMALL)


# --- everything else is Flask's ------------------------------------------------------------------


class Inner:
    """A stand-in for Flask behind the fast path: records what reached it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, env: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        self.seen.append((env["REQUEST_METHOD"], env["PATH_INFO"]))
        start_response("204 NO CONTENT", [])
        return iter([])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/webhook"),
        ("HEAD", "/webhook"),
        ("PUT", "/webhook"),
        ("POST", "/webhook/"),
        ("POST", "/webhooks"),
        ("POST", "/healthz"),
        ("GET", "/metrics"),
    ],
)
def test_other_paths_and_methods_reach_flask_untouched(app: Flask, method: str, path: str) -> None:
    inner = Inner()
    middleware = WebhookFastPath(inner, fast(app).services)
    env = environ(SMALL, method=method, path=path, headers=signed(SMALL))
    before = dict(env)
    assert call(middleware, env).status == "204 NO CONTENT"
    assert inner.seen == [(method, path)]
    assert env == before and env["wsgi.input"].taken == 0


def test_the_handshake_and_its_head_are_still_flasks(app: Flask) -> None:
    client = app.test_client()
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": "test-verify-token",
        "hub.challenge": "42",
    }
    assert client.get("/webhook", query_string=query).get_data() == b"42"
    head = client.head("/webhook", query_string=query)
    assert head.status_code == 200 and head.get_data() == b""
    assert client.get("/webhook").status_code == 403
    assert client.put("/webhook").status_code == 405
    assert "X-Request-ID" in head.headers


def test_status_lines_read_as_werkzeug_writes_them() -> None:
    assert [status_line(code) for code in (200, 400, 403, 413, 500, 503)] == [
        "200 OK",
        "400 BAD REQUEST",
        "403 FORBIDDEN",
        "413 REQUEST ENTITY TOO LARGE",
        "500 INTERNAL SERVER ERROR",
        "503 SERVICE UNAVAILABLE",
    ]
