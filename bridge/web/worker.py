"""The server's worker: gunicorn's thread worker, fed whole requests.

gunicorn's ``gthread`` worker hands a connection to a thread as soon as its first bytes
arrive, and the thread then waits for the rest: a client that trickles its headers or body a
byte at a time holds the thread, and a few dozen such clients hold them all (the webhook and
``/healthz`` time out; Meta retries, then unsubscribes the app). Here the worker's own event
loop reads each request (headers and body, up to the limits of ``bridge.web.framing``) without
blocking, and only a complete request goes to a thread. A request not complete within
``BRIDGE_REQUEST_READ_TIMEOUT`` seconds of its first byte is answered 408 and its connection
closed. Everything else (keep-alive, graceful stops, the access log) is gunicorn's.

Used by gunicorn.conf.py (``worker_class``); it reads its limits from the app's settings.
"""

from __future__ import annotations

import selectors
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from bridge.web.framing import Limits, request_end

TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
READ_SIZE = 64 * 1024


class BufferingWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's ``gthread`` worker that reads whole requests before a thread takes them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = Limits()
        self._read_timeout = 5.0
        self._reading: dict[Any, float] = {}  # connection → when it must be complete

    def run(self) -> None:
        settings = self.wsgi.extensions["bridge"].settings.web
        self._limits = Limits(body_bytes=settings.max_body_bytes)
        self._read_timeout = settings.request_read_timeout
        super().run()

    def enqueue_req(self, conn: Any) -> None:
        """Read the connection's next request whole, then hand it to a thread."""
        if self.cfg.is_ssl or conn.__dict__.pop("bridge_whole", False):
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
                self._hand_over(conn)
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

    def _hand_over(self, conn: Any) -> None:
        self._stop_reading(conn)
        whole, conn.bridge_buffer = bytes(conn.bridge_buffer), None
        conn.init()  # the parser (once per connection); the socket blocks again
        conn.parser.unreader.unread(whole)
        conn.data_ready = conn.bridge_whole = True
        super().enqueue_req(conn)

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
