"""bridge.web.listeners: the metrics listener serves /metrics and /healthz and nothing else, the
main port of a production server serves /metrics only to the token's bearer, and the bind
list and startup line gunicorn.conf.py takes from here."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.listeners import address, binds, tcp_addresses, where_metrics
from tests.conftest import ScriptedBot, delivery, signed_headers, text_item

TOKEN = "scrape-token-0123456789abcdef"
MAIN = "http://localhost:8000"
LISTENER = "http://127.0.0.1:9464"  # the settings' default metrics port


def served(
    settings: Settings, queue: SqliteQueue, graph: GraphClient, token: str | None = None
) -> Iterator[FlaskClient]:
    app: Flask = create_app(
        replace(settings, web=replace(settings.web, metrics_token=token)),
        queue=queue,
        bot=ScriptedBot(),
        graph=graph,
    )
    yield app.test_client()
    app.extensions["bridge"].stop_delivery(timeout=2)


@pytest.fixture
def client(settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Iterator[FlaskClient]:
    yield from served(settings, queue, graph)


def test_the_main_port_of_a_production_server_does_not_serve_metrics(client: FlaskClient) -> None:
    response = client.get("/metrics", base_url=MAIN)
    assert (response.status_code, response.get_data(as_text=True)) == (404, "Not Found")
    assert response.get_data() == client.get("/no-such-page", base_url=MAIN).get_data()
    assert "X-Request-ID" in response.headers
    assert client.get("/healthz", base_url=MAIN).status_code == 200


def test_the_metrics_listener_serves_metrics_and_healthz(client: FlaskClient) -> None:
    page = client.get("/metrics", base_url=LISTENER)
    assert page.status_code == 200 and "bridge_queue_up" in page.get_data(as_text=True)
    assert client.head("/metrics", base_url=LISTENER).status_code == 200
    assert client.get("/healthz", base_url=LISTENER).get_data() == b"ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/webhook"),
        ("GET", "/webhook"),
        ("GET", "/readyz"),
        ("GET", "/"),
        ("GET", "/metrics/"),
        ("GET", "/local/graph/inbox"),
    ],
)
def test_nothing_else_is_served_on_the_metrics_listener(
    client: FlaskClient, queue: SqliteQueue, method: str, path: str
) -> None:
    body = delivery(text_item("2900000000000001", "hello", "m_listener"))
    response = client.open(
        path, method=method, base_url=LISTENER, data=body, headers=signed_headers(body)
    )
    assert (response.status_code, response.get_data()) == (404, b"Not Found")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "X-Request-ID" in response.headers
    assert queue.state_of("m_listener") is None  # a signed delivery is not taken there
    if path == "/webhook" and method == "POST":
        posted = client.post("/webhook", base_url=MAIN, data=body, headers=signed_headers(body))
        assert posted.status_code == 200  # while the main port takes it
        assert queue.state_of("m_listener") == "queued"


@pytest.mark.parametrize(
    ("family", "metrics_listener"),
    [(socket.AF_INET, True), (socket.AF_INET6, True), (socket.AF_UNIX, False)],
)
def test_only_a_tcp_listener_is_told_apart_by_its_port(
    client: FlaskClient, family: socket.AddressFamily, metrics_listener: bool
) -> None:
    # On a unix socket gunicorn takes SERVER_PORT from Host: "Host: x:9464" reaches nothing.
    through = {"gunicorn.socket": SimpleNamespace(family=family)}
    metrics = client.get("/metrics", base_url=LISTENER, environ_overrides=through)
    webhook = client.get("/webhook", base_url=LISTENER, environ_overrides=through)
    if metrics_listener:
        assert (metrics.status_code, webhook.status_code) == (200, 404)
    else:
        assert (metrics.status_code, webhook.status_code) == (404, 403)  # the main port's


def test_other_methods_on_the_metrics_path_are_flasks_answer(client: FlaskClient) -> None:
    assert client.post("/metrics", base_url=LISTENER).status_code == 405


def test_with_a_token_both_serve_metrics_to_its_bearer_only(
    settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    for client in served(settings, queue, graph, TOKEN):
        for where in (MAIN, LISTENER):
            assert client.get("/metrics", base_url=where).status_code == 401
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            assert client.get("/metrics", base_url=where, headers=bearer).status_code == 200


def test_local_mode_serves_metrics_on_its_one_port(
    local_settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    for client in served(local_settings, queue, graph):
        assert client.get("/metrics", base_url=MAIN).status_code == 200
        # No metrics listener in local mode: its port means nothing special.
        assert client.get("/webhook", base_url=LISTENER).status_code == 403  # the handshake


def test_binds_are_the_main_listener_then_the_metrics_listener(settings: Settings) -> None:
    assert binds(settings) == ["0.0.0.0:8000", "127.0.0.1:9464"]
    everywhere = replace(settings, web=replace(settings.web, metrics_bind="::", metrics_port=9100))
    assert binds(everywhere) == ["0.0.0.0:8000", "[::]:9100"]
    assert binds(replace(settings, mode="local")) == ["127.0.0.1:8000"]
    assert address("::1", 1) == "[::1]:1" and address("10.0.0.1", 2) == "10.0.0.1:2"


def test_the_startup_line_says_where_metrics_are_served(settings: Settings) -> None:
    assert where_metrics(settings) == (
        "metrics: /metrics served on the metrics listener http://127.0.0.1:9464 and not on the"
        " main port 8000 (404 without BRIDGE_METRICS_TOKEN)"
    )
    tokened = replace(settings, web=replace(settings.web, metrics_token=TOKEN))
    assert where_metrics(tokened) == (
        "metrics: /metrics served on the metrics listener http://127.0.0.1:9464 and on the main"
        " port 8000, both with the bearer BRIDGE_METRICS_TOKEN"
    )
    local = replace(settings, mode="local")
    assert where_metrics(local) == (
        "metrics: /metrics served on the main port, http://127.0.0.1:8000 (local mode: no"
        " metrics listener)"
    )
    assert TOKEN not in where_metrics(tokened) + where_metrics(replace(tokened, mode="local"))


def test_the_startup_line_says_so_when_the_metrics_listener_was_not_bound(
    settings: Settings,
) -> None:
    both = {("0.0.0.0", 8000), ("127.0.0.1", 9464)}
    assert where_metrics(settings, both) == where_metrics(settings)
    overridden = where_metrics(settings, set())  # e.g. GUNICORN_CMD_ARGS="--bind unix:…"
    assert overridden == (
        "metrics: no metrics listener (gunicorn's bind is not gunicorn.conf.py's); /metrics not"
        " served (404 without BRIDGE_METRICS_TOKEN)"
    )
    tokened = replace(settings, web=replace(settings.web, metrics_token=TOKEN))
    assert where_metrics(tokened, {("0.0.0.0", 8000)}).endswith(
        "/metrics served on gunicorn's listeners with the bearer BRIDGE_METRICS_TOKEN only"
    )


def test_tcp_addresses_are_read_from_the_bound_sockets() -> None:
    with (
        socket.socket(socket.AF_INET) as tcp,
        socket.socket(socket.AF_UNIX) as unix,
    ):
        tcp.bind(("127.0.0.1", 0))
        assert tcp_addresses([tcp, unix]) == {("127.0.0.1", tcp.getsockname()[1])}
