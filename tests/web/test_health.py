"""/healthz and /readyz: alive, and ready (queue writable, delivery running, no Page paused)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.errors import QueueError
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web import health
from bridge.web.services import Services
from tests.conftest import ScriptedBot
from tests.support.servers import start_bridge, stop_bridge

TOKEN = "operator-token-0123456789"


@pytest.fixture
def app(settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Iterator[Flask]:
    settings = replace(settings, web=replace(settings.web, metrics_token=TOKEN))
    app = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)
    yield app
    services(app).stop_delivery(timeout=2)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def services(app: Flask) -> Services:
    found: Services = app.extensions["bridge"]
    return found


def ready(
    client: FlaskClient, query: str = "", token: str | None = TOKEN
) -> tuple[int, dict[str, Any]]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = client.get(f"/readyz{query}", headers=headers)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def test_healthz_answers_ok_cheaply(client: FlaskClient, app: Flask) -> None:
    services(app).queue.close()  # even with nothing else working
    response = client.get("/healthz")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
    assert response.mimetype == "text/plain"


def test_ready_when_the_queue_takes_writes_delivery_runs_and_no_page_is_paused(
    client: FlaskClient, app: Flask
) -> None:
    services(app).start_delivery(threads=1)
    status, body = ready(client)
    assert status == 200
    assert body == {"status": "ok", "checks": {"queue": "ok", "delivery": "ok", "pages": "ok"}}


def test_not_ready_before_delivery_starts_or_after_it_stops(
    client: FlaskClient, app: Flask
) -> None:
    status, body = ready(client)
    assert (status, body["status"], body["checks"]["delivery"]) == (503, "fail", "not started")
    assert body["checks"]["queue"] == "ok"
    services(app).start_delivery(threads=1)
    assert ready(client)[0] == 200
    services(app).stop_delivery(timeout=2)
    status, body = ready(client)
    assert (status, body["checks"]["delivery"]) == (503, "threads stopped")


def test_delivery_turned_off_in_this_process_is_ready(
    settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    app = create_app(
        replace(settings, delivery=replace(settings.delivery, threads=0)),
        queue=queue,
        bot=ScriptedBot(),
        graph=graph,
    )
    status, body = ready(app.test_client())
    assert (status, body["checks"]["delivery"]) == (200, "disabled")


def test_a_paused_page_makes_it_not_ready_naming_the_page(
    client: FlaskClient, app: Flask, queue: SqliteQueue
) -> None:
    services(app).start_delivery(threads=1)
    queue.pause_page("123456", reason="access token invalid or expired (190)", now=1.0)
    queue.block_page("654321", until=9e12, reason="rate limited (613)", now=1.0)  # only held
    status, body = ready(client)
    assert status == 503
    assert body["checks"] == {
        "queue": "ok",
        "delivery": "ok",
        "pages": "paused: 123456 (access token invalid or expired (190))",
    }
    status, body = ready(client, "?exclude=pages")
    assert (status, body["checks"]["pages"]) == (200, "excluded")
    queue.resume_page("123456")
    assert ready(client)[0] == 200


def test_anyone_else_gets_each_check_s_verdict_and_nothing_more(
    client: FlaskClient, app: Flask, queue: SqliteQueue
) -> None:
    services(app).start_delivery(threads=1)
    queue.pause_page("123456", reason="access token invalid or expired (190)", now=1.0)
    for token in (None, "a-wrong-token-0123456789"):
        status, body = ready(client, token=token)
        assert (status, body) == (
            503,
            {"status": "fail", "checks": {"queue": "ok", "delivery": "ok", "pages": "fail"}},
        )
    assert ready(client, "?exclude=pages", token=None) == (
        200,
        {"status": "ok", "checks": {"queue": "ok", "delivery": "ok", "pages": "excluded"}},
    )


def test_a_queue_that_cannot_take_the_write_lock_is_not_ready(
    client: FlaskClient, app: Flask, queue: SqliteQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    services(app).start_delivery(threads=1)
    monkeypatch.setattr(health, "WRITE_CHECK_TIMEOUT", 0.05)
    holder = sqlite3.connect(queue.path, timeout=0.1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is stuck holding the write lock
    try:
        status, body = ready(client)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (status, body["checks"]["queue"]) == (503, "not writable")
    assert str(queue.path) not in str(body)  # nothing about the host in a public answer
    assert ready(client)[0] == 200
    # The lock's wait went back to normal afterwards for the webhook's writes.
    busy = queue._connection().execute("PRAGMA busy_timeout").fetchone()[0]
    assert busy == 10_000


def test_check_writable_reports_a_database_that_refuses_writes(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.db")
    queue.check_writable(timeout=1)
    holder = sqlite3.connect(queue.path, timeout=0.1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(QueueError, match="write check failed"):
            queue.check_writable(timeout=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        queue.close()


def test_a_queue_that_cannot_be_read_fails_the_pages_check_without_details(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    services(app).start_delivery(threads=1)

    def broken(**_: Any) -> None:
        raise QueueError("queue read failed: disk I/O error at /secret/path")

    monkeypatch.setattr(services(app).queue, "pages", lambda: broken())
    monkeypatch.setattr(services(app).queue, "check_writable", broken)
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["queue"] == "not writable"
    assert body["checks"]["pages"] == "unknown: the queue could not be read"
    assert "/secret/path" not in str(body) and "Traceback" not in str(body)


@pytest.mark.e2e
def test_the_real_server_is_healthy_and_ready_and_says_why_when_not(tmp_path: Path) -> None:
    bridge = start_bridge(tmp_path)
    try:
        assert requests.get(f"{bridge.url}/healthz", timeout=5).text == "ok"
        # Every worker process answers ready: its delivery threads run.
        for _ in range(6):  # fresh connections, so both processes answer some
            response = requests.get(f"{bridge.url}/readyz", timeout=5)
            assert response.status_code == 200, response.text
            assert response.json()["checks"]["delivery"] == "ok"
        queue = SqliteQueue(tmp_path / "bridge.db")
        queue.pause_page("100000000000001", reason="access token invalid or expired (190)", now=1)
        response = requests.get(f"{bridge.url}/readyz", timeout=5)
        assert response.status_code == 503
        assert response.json()["checks"]["pages"].startswith("paused: 100000000000001")
        queue.resume_page("100000000000001")
        queue.close()
    finally:
        assert stop_bridge(bridge) == 0, bridge.log.read_text()
