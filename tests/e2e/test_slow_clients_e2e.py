"""Slow clients hold no thread: through the real server at its default settings, 100
connections trickling their headers or their body do not delay a real webhook's 200 nor
``/healthz``, and each is cut off (408) once its request is late by the read deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_for
from tests.support.servers import START_MS, Bridge, body_of, start_bridge, stop_bridge, text

pytestmark = pytest.mark.e2e

HEAD = b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Bridge]:
    server = start_bridge(tmp_path)
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


def trickler(bridge: Bridge, start: bytes) -> socket.socket:
    host, port = bridge.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(start)
    return conn


def keep_trickling(conns: list[socket.socket], stop: threading.Event) -> None:
    """One more byte on each connection every 0.2 s: never a whole request."""
    while not stop.wait(0.2):
        for conn in conns:
            try:
                conn.send(b"x")
            except OSError:
                pass  # cut off by the server, as it should be


def answer_of(conn: socket.socket) -> bytes:
    conn.settimeout(10)
    try:
        return conn.recv(64)
    except OSError:
        return b""


def test_trickling_clients_do_not_hold_up_a_webhook_and_are_cut_off(bridge: Bridge) -> None:
    headers = [trickler(bridge, HEAD + b"X-Slow: ") for _ in range(50)]
    bodies = [trickler(bridge, HEAD + b"Content-Length: 900\r\n\r\n{") for _ in range(50)]
    stop = threading.Event()
    pump = threading.Thread(target=keep_trickling, args=(headers + bodies, stop), daemon=True)
    pump.start()
    try:
        time.sleep(0.5)  # the slow requests are under way before the real ones
        started = time.monotonic()
        webhook = bridge.post(body_of(text("7000000000000401", "hello", "m_slow", START_MS)))
        took_webhook = time.monotonic() - started
        started = time.monotonic()
        health = requests.get(f"{bridge.url}/healthz", timeout=5)
        took_health = time.monotonic() - started
        assert (webhook.status_code, health.status_code) == (200, 200)
        assert took_webhook < 1.0 and took_health < 1.0, (took_webhook, took_health)
        bridge.wait_done("m_slow")
        cut = [answer_of(conn) for conn in headers + bodies]  # within the 5 s deadline
    finally:
        stop.set()
        pump.join(5)
        for conn in headers + bodies:
            conn.close()
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in cut), set(cut)
    wait_for(lambda: requests.get(f"{bridge.url}/healthz", timeout=5).ok, what="still serving")
