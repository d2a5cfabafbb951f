"""What the loopback fakes share: a threading HTTP server, a keep-alive handler, the start line.

Each connection has its own thread (``daemon_threads``), so a call the fake holds or answers
late holds up no other connection; a client that leaves before its answer is not reported.
A fake prints one JSON line once it listens (``{"port": …}`` and what else its client needs,
such as the Graph fake's certificate).
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone before its answer (a killed server, a send held past its timeout) is
        nothing to report; anything else is printed as usual."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the bridge's pooled sessions expect

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def switch_faults(self, raw: bytes, apply: Callable[[bool], None]) -> None:
        """``POST /_faults {"on": false}``: the fake's faults on or off. The new setting is
        applied before the answer, so a caller's next request already sees it."""
        try:
            on = json.loads(raw or b"{}").get("on") is not False
        except (ValueError, AttributeError):
            on = True
        apply(on)
        self.reply(200, json.dumps({"on": on}).encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


def announce(server: FakeServer, **extra: str) -> None:
    print(json.dumps({"port": server.server_address[1], **extra}), flush=True)
