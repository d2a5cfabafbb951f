"""The webhook's fast path through the real server (gunicorn, as deployed): answers, the access
log line and the request id, chunked bodies, and the handshake still served by Flask."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_VERIFY_TOKEN
from bridge.messenger.signature import sign
from tests.conftest import wait_for
from tests.support.servers import Bridge, body_of, start_bridge, stop_bridge, text

pytestmark = pytest.mark.e2e

LIMIT = 4096


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    server = start_bridge(
        tmp_path_factory.mktemp("fastpath"),
        BRIDGE_MAX_BODY_BYTES=str(LIMIT),
        BRIDGE_DELIVERY_THREADS="0",  # the ack path alone: nothing is answered
    )
    try:
        yield server
    finally:
        assert stop_bridge(server) == 0, server.log.read_text()


def raw_post(bridge: Bridge, head: bytes, *chunks: bytes) -> bytes:
    """Send a request over a plain socket; the answer's status line and headers."""
    host, port = bridge.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head + b"".join(chunks))
        answer = b""
        while b"\r\n\r\n" not in answer and (data := conn.recv(4096)):
            answer += data
    return answer


def chunked(body: bytes, headers: bytes = b"") -> bytes:
    """A POST /webhook whose body is sent in chunks of 1000 bytes, with no Content-Length."""
    head = b"POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    head += b"Connection: close\r\n" + headers + b"\r\n"
    parts = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    return head + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def log_entries(bridge: Bridge) -> list[dict[str, Any]]:
    return [json.loads(line) for line in bridge.log.read_text().splitlines() if line.strip()]


def test_a_signed_post_is_acknowledged_with_its_id_on_the_access_line(bridge: Bridge) -> None:
    body = body_of(text("6200000000000001", "hello there", "m_fast_e2e"))
    answer = bridge.post(body)
    assert (answer.status_code, answer.text) == (200, "EVENT_RECEIVED")
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    request_id = answer.headers["X-Request-ID"]
    assert bridge.state("m_fast_e2e") == "queued"

    def access_line() -> dict[str, Any] | None:
        lines = [e for e in log_entries(bridge) if e.get("request_id") == request_id]
        return next((e for e in lines if e.get("logger") == "gunicorn.access"), None)

    # One line for the POST: gunicorn's access line, with what the webhook added.
    access = wait_for(access_line, timeout=10, what="the POST's access line")
    assert {"method": "POST", "path": "/webhook", "status": 200}.items() <= access.items()
    assert {"events": 1, "added": 1, "duplicates": 0, "mids": ["m_fast_e2e"]}.items() <= (
        access.items()
    )
    entries = log_entries(bridge)
    assert not [e for e in entries if e.get("message") == "webhook accepted"]
    assert "hello there" not in bridge.log.read_text()


def test_a_proxys_request_id_is_kept(bridge: Bridge) -> None:
    body = body_of(text("6200000000000002", "hi", "m_fast_id"))
    headers = {"X-Hub-Signature-256": sign(LOCAL_APP_SECRET, body), "X-Request-ID": "edge-0001-x"}
    answer = bridge.http.post(f"{bridge.url}/webhook", data=body, headers=headers, timeout=10)
    assert answer.headers["X-Request-ID"] == "edge-0001-x"


def test_refusals_say_nothing_more(bridge: Bridge) -> None:
    body = body_of(text("6200000000000003", "hi", "m_fast_bad"))
    forged = bridge.post(body, secret="not-the-secret")
    assert (forged.status_code, forged.text) == (403, "Forbidden")
    headers = {"X-Hub-Signature-256": sign(LOCAL_APP_SECRET, b"{")}
    broken = bridge.http.post(f"{bridge.url}/webhook", data=b"{", headers=headers, timeout=10)
    assert (broken.status_code, broken.text) == (400, "Bad Request")
    assert bridge.state("m_fast_bad") is None


def test_a_declared_size_over_the_limit_is_refused_before_the_body(bridge: Bridge) -> None:
    head = b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (LIMIT + 1)
    assert raw_post(bridge, head).startswith(b"HTTP/1.1 413 ")


def test_chunked_bodies_are_read_up_to_the_limit(bridge: Bridge) -> None:
    body = body_of(text("6200000000000004", "in chunks", "m_fast_chunked"))
    signature = b"X-Hub-Signature-256: %s\r\n" % sign(LOCAL_APP_SECRET, body).encode()
    assert raw_post(bridge, chunked(body, signature)).startswith(b"HTTP/1.1 200 ")
    assert bridge.state("m_fast_chunked") == "queued"
    big = body_of(text("6200000000000004", "x" * LIMIT, "m_fast_big"))
    assert raw_post(bridge, chunked(big)).startswith(b"HTTP/1.1 413 ")
    assert bridge.state("m_fast_big") is None


def test_the_handshake_and_other_endpoints_are_still_flasks(bridge: Bridge) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": LOCAL_VERIFY_TOKEN, "hub.challenge": "7"}
    verify = bridge.http.get(f"{bridge.url}/webhook", params=query, timeout=10)
    assert (verify.status_code, verify.text) == (200, "7")
    head = bridge.http.head(f"{bridge.url}/webhook", params=query, timeout=10)
    assert head.status_code == 200 and "X-Request-ID" in head.headers
    assert bridge.http.put(f"{bridge.url}/webhook", timeout=10).status_code == 405
    assert bridge.http.get(f"{bridge.url}/healthz", timeout=10).status_code == 200


def test_every_line_is_json(bridge: Bridge) -> None:
    assert all(isinstance(entry, dict) for entry in log_entries(bridge))
