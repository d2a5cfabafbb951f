"""Webhook POSTs answered on the server's event loop (bridge/web/worker.py), through the real
server: pipelined requests are each answered, in order, and a client pipelining thousands of
them holds up nobody else."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.config.localmode import LOCAL_APP_SECRET
from bridge.messenger.signature import sign
from tests.support.servers import Bridge, body_of, start_bridge, stop_bridge, text

pytestmark = pytest.mark.e2e

FLOOD = 5000  # pipelined requests on one connection


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Bridge]:
    server = start_bridge(tmp_path)
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


def signed_post(body: bytes) -> bytes:
    return (
        b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n%s"
        % (sign(LOCAL_APP_SECRET, body).encode(), len(body), body)
    )


def connect(bridge: Bridge, receive_buffer: int | None = None) -> socket.socket:
    host, port = bridge.url.removeprefix("http://").split(":")
    conn = socket.socket()
    if receive_buffer is not None:  # before connecting: it sets the window offered
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    conn.settimeout(10)
    conn.connect((host, int(port)))
    return conn


def statuses(conn: socket.socket, count: int) -> list[bytes]:
    """The status codes of the next ``count`` answers (each ends with its known body)."""
    data = b""
    while data.count(b"EVENT_RECEIVED") < count and (chunk := conn.recv(65536)):
        data += chunk
    return re.findall(rb"HTTP/1\.1 (\d{3}) ", data)


def test_pipelined_webhooks_are_each_answered_in_order_and_delivered(bridge: Bridge) -> None:
    mids = [f"m_pipe_{n}" for n in range(30)]
    requests_bytes = b"".join(
        signed_post(body_of(text(f"63000000000000{n:02d}", "hi", mid, n)))
        for n, mid in enumerate(mids)
    )
    with connect(bridge) as conn:
        conn.sendall(requests_bytes)
        assert statuses(conn, len(mids)) == [b"200"] * len(mids)
    bridge.wait_done(*mids)


def test_a_client_pipelining_thousands_of_webhooks_holds_up_nobody(bridge: Bridge) -> None:
    empty = signed_post(b'{"object":"page","entry":[]}')  # answered 200, nothing to commit
    flood = connect(bridge)
    sender = threading.Thread(target=flood.sendall, args=(empty * FLOOD,), daemon=True)
    sender.start()
    slowest, probes = 0.0, 0
    try:
        while sender.is_alive() or probes < 3:
            started = time.monotonic()
            assert requests.get(f"{bridge.url}/healthz", timeout=10).status_code == 200
            mid = f"m_beside_{probes}"
            answer = bridge.post(body_of(text("6300000000000100", "still here", mid, probes)))
            assert answer.status_code == 200
            slowest, probes = max(slowest, time.monotonic() - started), probes + 1
        assert statuses(flood, FLOOD) == [b"200"] * FLOOD
    finally:
        flood.close()
        sender.join(10)
    assert slowest < 1.0, slowest
    bridge.wait_done(*(f"m_beside_{n}" for n in range(probes)))


def test_webhooks_arriving_together_are_each_committed_before_their_200(bridge: Bridge) -> None:
    # Sent before any answer is read: the server's loop reads many of them in one turn and
    # commits them together; no 200 may go out before its own job is committed.
    mids = [f"m_together_{n}" for n in range(24)]
    conns = [connect(bridge) for _ in mids]
    try:
        for n, (conn, mid) in enumerate(zip(conns, mids, strict=True)):
            conn.sendall(signed_post(body_of(text(f"64000000000000{n:02d}", "hi", mid, n))))
        for conn, mid in zip(conns, mids, strict=True):
            assert statuses(conn, 1) == [b"200"]
            assert bridge.state(mid) in {"queued", "running", "done"}, mid
    finally:
        for conn in conns:
            conn.close()
    bridge.wait_done(*mids)
