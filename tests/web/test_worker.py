"""The server worker's bound on blocking sends and reads of a connection answered on its
event loop (bridge/web/worker.py)."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from bridge.obs.gunicorn_logs import TIMED_OUT_ERRNOS
from bridge.web.worker import bound_waits


def test_a_send_to_a_client_that_reads_nothing_gives_up_after_the_bound() -> None:
    server, client = socket.socketpair()
    with server, client:
        server.setblocking(True)  # as gunicorn's request handling sets it
        bound_waits(server, 0.2)
        server.setblocking(True)  # and again: the kernel's bound stays
        started = time.monotonic()
        with pytest.raises(BlockingIOError) as sent:
            server.sendall(b"x" * 64 * 1024 * 1024)  # far more than the buffers hold
        with pytest.raises(BlockingIOError) as read:
            server.recv(1)  # nothing to read
        assert 0.2 <= time.monotonic() - started < 5
    # what the server's log then says in one line, without a stack trace (GunicornLogger)
    assert {sent.value.errno, read.value.errno} <= TIMED_OUT_ERRNOS


def test_the_bound_is_lifted_when_a_thread_takes_the_connection() -> None:
    server, client = socket.socketpair()
    with server, client:
        bound_waits(server, 1.5)
        size = struct.calcsize("ll")
        sent = struct.unpack("ll", server.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, size))
        assert sent == (1, 500_000)
        bound_waits(server, 0)
        for option in (socket.SO_SNDTIMEO, socket.SO_RCVTIMEO):
            assert struct.unpack("ll", server.getsockopt(socket.SOL_SOCKET, option, size)) == (0, 0)


def test_a_closed_connection_is_left_to_fail_on_its_next_use() -> None:
    server, client = socket.socketpair()
    client.close()
    server.close()
    bound_waits(server, 1.0)  # no error here
