"""The server worker's bound on blocking sends and reads of a connection answered on its
event loop, and which requests it holds for the turn's commit (bridge/web/worker.py)."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
from gunicorn.workers.gthread import ThreadWorker

from bridge.obs.gunicorn_logs import TIMED_OUT_ERRNOS
from bridge.web.worker import BufferingWorker, bound_waits


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


def test_only_the_loops_own_request_is_held_while_threads_answer_theirs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # While the loop answers a webhook inline (its answer held for the turn's commit), a pool
    # thread handling another request (local mode's Lex call, say) writes its answer at once:
    # held, it would never be written and the client would see its connection closed.
    handled: list[str] = []
    monkeypatch.setattr(ThreadWorker, "handle_request", lambda *_: handled.append("written"))
    monkeypatch.setattr(BufferingWorker, "_hold", lambda *_: handled.append("held"))
    worker = BufferingWorker.__new__(BufferingWorker)  # no server: only the dispatch is tested
    worker._holding = threading.get_ident()  # as _answer_inline sets it on the loop's thread
    thread = threading.Thread(target=worker.handle_request, args=(object(), object()))
    thread.start()
    thread.join(timeout=5)
    worker.handle_request(object(), object())
    worker._holding = None  # the turn's inline request is over
    worker.handle_request(object(), object())
    assert handled == ["written", "held", "written"]
