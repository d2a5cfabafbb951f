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
Pipelined requests behind it wait for the loop's next turn. The webhooks answered in one turn
of the loop are committed together (one transaction and one fsync for all of them, a queue
``batch``), so each answer is held (bridge/web/held.py) until the turn's end commits them; if
that commit fails, each is answered 503 instead.

Used by gunicorn.conf.py (``worker_class``); it reads its limits from the app's settings.
"""

from __future__ import annotations

import errno
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from functools import partial
from typing import Any

from gunicorn.http import wsgi
from gunicorn.workers.gthread import ThreadWorker

from bridge.delivery.loop import UNHELD
from bridge.errors import QueueError
from bridge.web.framing import Limits, is_whole_webhook_post, request_end
from bridge.web.held import HeldAnswer, unavailable

TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
READ_SIZE = 64 * 1024
INLINE_IO_TIMEOUT = 1.0  # seconds a send or read on the loop may block before it gives up


class BufferingWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's ``gthread`` worker that reads whole requests before a thread takes them."""

    alive: bool  # gunicorn's: False once the worker is to stop

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = Limits()
        self._read_timeout = 5.0
        self._reading: dict[Any, float] = {}  # connection → when it must be complete
        self._inline: Callable[[], bool] = lambda: False
        self._batch: Callable[[], AbstractContextManager[None]] = nullcontext
        self._held: list[HeldAnswer] | None = None  # this turn's answers, while it runs
        # The loop's thread while the request it handles is answered after the turn's commit
        # (the pool's threads handle other requests meanwhile: theirs are written at once).
        self._holding: int | None = None

    def run(self) -> None:
        services = self.wsgi.extensions["bridge"]
        self._limits = Limits(body_bytes=services.settings.web.max_body_bytes)
        self._read_timeout = services.settings.web.request_read_timeout
        self._inline = services.answers_inline
        self._batch = services.queue.batch
        super().run()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """One turn of the loop; the webhooks answered in it are committed together, and their
        answers written after that commit (503 if it failed)."""
        self._held = []
        committed = False
        try:
            with self._batch():
                super().wait_for_and_dispatch_events(timeout)
            committed = True
        except QueueError as exc:
            self.log.error("webhooks not committed (%s); answered 503", exc)
        finally:
            held, self._held = self._held, None
            for answer in held:
                self._write_held(answer, committed=committed)

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
        self._holding = threading.get_ident() if self._held is not None else None
        try:
            keepalive = self.handle(conn)
        finally:
            self._holding = None
            UNHELD.reset(token)
        held: HeldAnswer | None = conn.__dict__.pop("bridge_held", None)
        if held is not None and self._held is not None:
            held.keepalive = bool(keepalive)
            self._held.append(held)
        else:
            self._finish(conn, bool(keepalive))

    def handle_request(self, req: Any, conn: Any) -> bool:
        """gunicorn's, but the request the loop answers inline in a turn is held (``_hold``);
        the requests the pool's threads handle meanwhile are answered at once."""
        if threading.get_ident() != self._holding:
            return bool(super().handle_request(req, conn))
        return self._hold(req, conn)

    def _hold(self, req: Any, conn: Any) -> bool:
        """gunicorn's ``handle_request`` up to the app's answer, which is kept unwritten on the
        connection (``bridge_held``); whether the connection may be kept alive after it."""
        environ: dict[str, Any] = {}
        resp = None
        try:
            self.cfg.pre_request(self, req)
            started = datetime.now()
            resp, environ = wsgi.create(req, conn.sock, conn.client, conn.server, self.cfg)
            environ["wsgi.multithread"] = True
            self._count_request(resp)
            answer = self.wsgi(environ, resp.start_response)
            try:
                body = b"".join(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        except BaseException:
            self._post_request(req, environ, resp)
            raise
        conn.bridge_held = HeldAnswer(conn, req, resp, environ, body, started)
        return not resp.should_close()

    def _count_request(self, resp: Any) -> None:
        """gunicorn's count of requests (``max_requests``) and its keep-alive decision."""
        self.nr += 1
        if self.nr >= self.max_requests:
            if self.alive:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            resp.force_close()
        if not self.alive or not self.cfg.keepalive:
            resp.force_close()
        elif len(self.keepalived_conns) >= self.max_keepalived:
            resp.force_close()

    def _write_held(self, held: HeldAnswer, *, committed: bool) -> None:
        """Write a held answer (a 503 if its commit failed), log it, and go on with its
        connection as gunicorn does after a request."""
        resp, body = (held.resp, held.body) if committed else unavailable(held, self.cfg)
        keepalive = held.keepalive
        try:
            resp.write(body)
            resp.close()
        except OSError as exc:  # as gunicorn's ``handle``: a client gone is no error
            keepalive = False
            if exc.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.debug("Ignoring client gone: %s", exc)
            else:
                self.log.exception("Socket error processing request.", exc_info=exc)
        finally:
            self.log.access(resp, held.req, held.environ, datetime.now() - held.started)
            self._post_request(held.req, held.environ, resp)
        self._finish(held.conn, keepalive and not resp.should_close())

    def _post_request(self, req: Any, environ: dict[str, Any], resp: Any) -> None:
        try:
            self.cfg.post_request(self, req, environ, resp)
        except Exception:
            self.log.exception("Exception in post_request hook")

    def _finish(self, conn: Any, keepalive: bool) -> None:
        """What gunicorn does when a thread is done with a connection's request."""
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
