"""Answers held until their webhooks are committed (bridge/web/held.py): what a held webhook's
client reads when the turn's commit failed, through gunicorn's own request and response."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from bridge.obs.gunicorn_logs import ACCESS_FIELDS
from bridge.web.held import HeldAnswer, request_id, unavailable

POST = b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"


@pytest.fixture
def sockets() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    with server, client:
        client.settimeout(5)
        yield server, client


def held_answer(server: socket.socket, client: socket.socket, request: bytes = POST) -> HeldAnswer:
    """The app's 200 to ``request``, as the worker holds it: set on gunicorn's response,
    nothing sent."""
    cfg = Config()
    client.sendall(request)
    req = next(RequestParser(cfg, server, ("127.0.0.1", 1)))
    resp, environ = wsgi.create(req, server, ("127.0.0.1", 1), ("127.0.0.1", 2), cfg)
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "14")]
    resp.start_response("200 OK", [*headers, ("X-Request-ID", "req-1")])
    environ[ACCESS_FIELDS] = {"messages": 1}
    conn = SimpleNamespace(sock=server)
    return HeldAnswer(conn, req, resp, environ, b"EVENT_RECEIVED", datetime.now())


def answer_read(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"Service Unavailable"):
        chunk = client.recv(4096)
        assert chunk, data
        data += chunk
    return data


def test_a_failed_commit_answers_503_with_the_same_request_id(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    server, client = sockets
    held = held_answer(server, client)
    resp, body = unavailable(held, Config())
    resp.write(body)
    resp.close()
    head, _, text = answer_read(client).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 503 SERVICE UNAVAILABLE"
    assert b"X-Request-ID: req-1" in lines and b"Content-Length: 19" in lines
    assert text == b"Service Unavailable"
    assert ACCESS_FIELDS not in held.environ  # the access line claims nothing was added
    assert not resp.should_close()  # the connection may go on, as the 200's would have


def test_a_503_closes_the_connection_the_200_would_have_closed(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    server, client = sockets
    held = held_answer(server, client)
    held.resp.force_close()  # e.g. the worker's max_requests reached
    resp, _ = unavailable(held, Config())
    assert resp.should_close()


def test_the_request_id_is_read_from_the_held_answer(
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    server, client = sockets
    held = held_answer(server, client)
    assert request_id(held) == "req-1"
    held.resp.headers = [("Content-Length", "14")]
    assert request_id(held) is None
