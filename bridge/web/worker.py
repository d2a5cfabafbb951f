"""The server's worker: gunicorn's thread worker, fed whole requests.

gunicorn's ``gthread`` worker hands a connection to a thread as soon as its first bytes
arrive, and the thread then waits for the rest: a client that trickles its headers or body a
byte at a time holds the thread, and a few dozen such clients hold them all (the webhook and
``/healthz`` time out; Meta retries, then unsubscribes the app). Here the worker's own event
loop reads each request (headers and body, up to the limits of ``bridge.web.framing``) without
blocking, and only a complete request goes to a thread. A request not complete within
``BRIDGE_REQUEST_READ_TIMEOUT`` seconds of its first byte is answered 408 and its connection
closed. Everything else (keep-alive, graceful stops, the access log) is gunicorn's.

A whole ``POST /webhook`` is answered on the loop itself, without a thread, while the app says
it may be (``Services.answers_inline``: a SQLite queue, whose commit is local and takes about
a millisecond, and no ack hold due): a thread would only wait for that commit, and handing the
request to it and back costs more CPU than the webhook itself (thread wake-ups, GIL hand-offs).
Such a request needs no read from its client, its 200 is never held (``UNHELD``), and its
connection's sends give up after ``INLINE_IO_TIMEOUT`` (a client that reads no answers cannot
stall the loop; the server's logger says so in one line, bridge/obs/gunicorn_logs.py).
Pipelined requests behind it wait for the loop's next turn.

Used by gunicorn.conf.py (``worker_class``); it reads its limits from the app's settings.
"""

from __future__ import annotations

import selectors
import socket
import struct
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from bridge.delivery.loop import UNHELD
from bridge.web.framing import Limits, is_whole_webhook_post, request_end

TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
READ_SIZE = 64 * 1024
INLINE_IO_TIMEOUT = 1.0  # seconds a send or read on the loop may block before it gives up


class BufferingWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's ``gthread`` worker that reads whole requests before a thread takes them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = Limits()
        self._read_timeout = 5.0
        self._reading: dict[Any, float] = {}  # connection → when it must be complete
        self._inline: Callable[[], bool] = lambda: False

    def run(self) -> None:
        services = self.wsgi.extensions["bridge"]
        self._limits = Limits(body_bytes=services.settings.web.max_body_bytes)
        self._read_timeout = services.settings.web.request_read_timeout
        self._inline = services.answers_inline
        super().run()

    def enqueue_req(self, conn: Any) -> None:
        """Read the connection's next request whole, then answer it here or hand it to a
        thread."""
        if self.cfg.is_ssl or conn.__dict__.pop("bridge_whole", False):
            if conn.__dict__.pop("bridge_bounded", False):
                bound_waits(conn.sock, 0)  # a thread may wait on its client
            super().enqueue_req(conn)
            return
        ahead = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.bridge_buffer = bytearray(ahead)
        conn.sock.setblocking(False)
        if self._read(conn) or conn.bridge_buffer is None:
            return  # handed over, or closed
        self._reading[conn] = time.monotonic() + self._read_timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn: Any, _sock: Any) -> None:
        self._read(conn)

    def _read(self, conn: Any) -> bool:
        """Take what arrived; True once the request went to a thread. A closed connection
        (or a failed read) is closed here, leaving ``bridge_buffer`` None."""
        while True:
            end = request_end(bytes(conn.bridge_buffer), self._limits)
            if end is not None:
                self._hand_over(conn, end)
                return True
            try:
                data = conn.sock.recv(READ_SIZE)
            except BlockingIOError:
                return False
            except OSError:
                data = b""
            if not data:
                self._close(conn)
                return False
            conn.bridge_buffer += data

    def _hand_over(self, conn: Any, end: int) -> None:
        self._stop_reading(conn)
        whole, conn.bridge_buffer = bytes(conn.bridge_buffer), None
        conn.init()  # the parser (once per connection); the socket blocks again
        conn.parser.unreader.unread(whole)
        conn.data_ready = True
        if is_whole_webhook_post(whole, end, self._limits) and self._inline():
            self._answer_inline(conn)
            return
        conn.bridge_whole = True
        self.enqueue_req(conn)

    def _answer_inline(self, conn: Any) -> None:
        """Answer the connection's (whole, buffered) request here on the loop, then do what
        gunicorn does when a thread is done with it."""
        if not conn.__dict__.get("bridge_bounded"):
            bound_waits(conn.sock, INLINE_IO_TIMEOUT)
            conn.bridge_bounded = True
        token = UNHELD.set(True)
        try:
            keepalive = self.handle(conn)
        finally:
            UNHELD.reset(token)
        done: Future[Any] = Future()
        done.set_result(keepalive)
        if keepalive and conn.parser.unreader.buf.getvalue():
            self.method_queue.defer(self.finish_request, conn, done)  # pipelined: next turn
        else:
            self.finish_request(conn, done)

    def murder_pending(self) -> None:
        """gunicorn's upkeep of connections waiting for data, and the deadline of requests
        still arriving: 408, and the connection is closed."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, deadline in self._reading.items() if deadline <= now]:
            self._stop_reading(conn)
            try:
                conn.sock.send(TIMED_OUT)
            except OSError:
                pass  # the client is gone, or not reading: nothing more to tell it
            self.log.info("request not received in %.0f s; connection closed", self._read_timeout)
            self._close(conn)

    def _stop_reading(self, conn: Any) -> None:
        if self._reading.pop(conn, None) is not None:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass  # not registered (any more)

    def _close(self, conn: Any) -> None:
        self._stop_reading(conn)
        conn.bridge_buffer = None
        self.nr_conns -= 1
        conn.close()


def bound_waits(sock: socket.socket, seconds: float) -> None:
    """How long a blocking send or read on ``sock`` may wait before it fails with ``EAGAIN``
    (the kernel's own limit, which ``setblocking`` does not undo); 0: forever."""
    whole = int(seconds)
    limit = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
    except OSError:
        pass  # the connection is gone; its next read or send says so
