"""Fast loopback fakes of the two cloud services, for the benchmark.

    python -m bench.fakes graph [--port 0] [--error-rate 0.05] [--latency 0.08] [--cert-dir DIR]
    python -m bench.fakes lex [--port 0] [--latency 0.05]
    python -m bench.fakes measure      # each fake alone, requests/s

Each server prints one JSON line when it listens (``{"port": …, "cert": …}``) and serves until
killed. The Graph fake speaks HTTPS with a self-signed certificate made at start (``openssl``;
point the client's ``REQUESTS_CA_BUNDLE`` at it), answers every Send API call with
``{"recipient_id", "message_id"}`` (or, at ``--error-rate``, HTTP 500 with Graph error code 2),
and records each accepted send: the time it answers it (``time.time()``), recipient and text.
With ``--latency`` every Send API call (every POST, errors included) answers that many seconds
after its body arrived, as a remote Graph would; the wait holds no lock and each connection
has its own thread, so calls on other connections are not held up (the record's time is the
answer's, after the wait). It also counts every Send API call it receives by the kind of its
body: ``message`` (a reply part), ``sender_action`` (``mark_seen``, ``typing_on`` …) or
``other``.
``GET /_records?after=N`` returns the records from index N on, the error count and the calls.
The Lex fake answers RecognizeText (rest-json) with ``echo: <text>`` after ``--latency``
seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

LEX_PATH = re.compile(
    r"^/bots/(?P<bot>[^/]+)/botAliases/(?P<alias>[^/]+)/botLocales/(?P<locale>[^/]+)"
    r"/sessions/(?P<session>[^/]+)/text$"
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the bridge's pooled sessions expect

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def log_message(self, format: str, *args: Any) -> None:
        pass


class GraphState:
    def __init__(self, error_rate: float, latency: float = 0.0) -> None:
        self.error_rate = error_rate
        self.latency = latency  # seconds each Send API call waits before its answer
        self.records: list[tuple[float, str, str]] = []
        self.errors = 0
        self.calls = {"message": 0, "sender_action": 0, "other": 0}  # every POST, by body kind
        self.lock = threading.Lock()
        self.random = random.Random(7)


class _GraphHandler(_Handler):
    state: GraphState

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        raw = self.read_body()
        state = self.state
        if state.latency > 0:
            time.sleep(state.latency)  # this connection's thread only, no lock held
        answered = time.time()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        kind = (
            "message"
            if "message" in body
            else "sender_action"
            if "sender_action" in body
            else "other"
        )
        with state.lock:
            state.calls[kind] += 1
            failed = state.error_rate > 0 and state.random.random() < state.error_rate
            if failed:
                state.errors += 1
        if failed:
            error = {"error": {"message": "fake transient", "type": "OAuthException", "code": 2}}
            self.reply(500, json.dumps(error).encode())
            return
        recipient = str(body.get("recipient", {}).get("id", ""))
        text = body.get("message", {}).get("text")
        if isinstance(text, str):
            with state.lock:
                state.records.append((answered, recipient, text))
                seq = len(state.records)
        else:
            seq = 0  # a sender action: answered, not recorded
        self.reply(200, json.dumps({"recipient_id": recipient, "message_id": f"m_{seq}"}).encode())

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path == "/_records":
            after = int(parse_qs(url.query).get("after", ["0"])[0])
            with self.state.lock:
                records = self.state.records[after:]
                errors = self.state.errors
                calls = dict(self.state.calls)
            answer = {"records": records, "errors": errors, "calls": calls}
            self.reply(200, json.dumps(answer).encode())
            return
        self.reply(200, b'{"id":"100000000000001","name":"Bench Page"}')  # GET /me (token probe)


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI; cryptography is not a dependency)."""
    cert, key = folder / "graph-cert.pem", folder / "graph-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def serve_graph(port: int, error_rate: float, cert_dir: Path, latency: float = 0.0) -> None:
    cert, key = make_cert(cert_dir)
    state = GraphState(error_rate, latency)
    handler = type("GraphHandler", (_GraphHandler,), {"state": state})
    server = _Server(("127.0.0.1", port), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    _announce(server, cert=str(cert))
    server.serve_forever()


class _LexHandler(_Handler):
    latency = 0.0

    def do_POST(self) -> None:  # noqa: N802
        match = LEX_PATH.match(urlsplit(self.path).path)
        raw = self.read_body()
        if match is None:
            self.reply(404, b'{"message":"unknown path"}')
            return
        if self.latency:
            time.sleep(self.latency)
        text = json.loads(raw or b"{}").get("text", "")
        session = match["session"]
        body = {
            "messages": [{"contentType": "PlainText", "content": f"echo: {text}"}],
            "sessionState": {
                "dialogAction": {"type": "Close"},
                "intent": {"name": "Echo", "state": "Fulfilled", "slots": {}},
                "sessionAttributes": {},
            },
            "interpretations": [{"intent": {"name": "Echo", "state": "Fulfilled"}}],
            "sessionId": session,
        }
        self.reply(200, json.dumps(body).encode())


def serve_lex(port: int, latency: float) -> None:
    handler = type("LexHandler", (_LexHandler,), {"latency": latency})
    server = _Server(("127.0.0.1", port), handler)
    _announce(server)
    server.serve_forever()


def _announce(server: _Server, **extra: str) -> None:
    print(json.dumps({"port": server.server_address[1], **extra}), flush=True)


class Fake:
    """A fake started as its own process (its own GIL), stopped with ``stop()``."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.fakes", *args],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"fake {args} did not start")
        ready = json.loads(line)
        self.port = int(ready["port"])
        self.cert: str | None = ready.get("cert")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


@dataclass
class GraphRecords:
    records: list[tuple[float, str, str]]  # accepted sends from index ``after`` on
    errors: int  # sends answered with an error
    calls: dict[str, int]  # every Send API call so far, by body kind


def graph_records(fake: Fake, after: int = 0) -> GraphRecords:
    """The sends the Graph fake accepted (from index ``after``), its error and call counts."""
    assert fake.cert is not None
    context = ssl.create_default_context(cafile=fake.cert)
    conn = http.client.HTTPSConnection("127.0.0.1", fake.port, context=context, timeout=30)
    try:
        conn.request("GET", f"/_records?after={after}")
        data = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    records = [(float(at), str(to), str(text)) for at, to, text in data["records"]]
    calls = {str(kind): int(n) for kind, n in data["calls"].items()}
    return GraphRecords(records, int(data["errors"]), calls)


def measure(path: str, body: bytes, conn_factory: Any, seconds: float, threads: int) -> float:
    """Requests/s over keep-alive connections from ``threads`` client threads."""
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def run(index: int) -> None:
        conn = conn_factory()
        headers = {"Content-Type": "application/json"}
        while time.perf_counter() < stop:
            conn.request("POST", path, body=body, headers=headers)
            conn.getresponse().read()
            counts[index] += 1
        conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def measure_fakes(seconds: float = 2.0, threads: int = 8) -> dict[str, float]:
    """Each fake alone, driven by keep-alive clients in threads of this process."""
    results: dict[str, float] = {}
    graph = Fake("graph")
    try:
        assert graph.cert is not None
        context = ssl.create_default_context(cafile=graph.cert)
        send = json.dumps({"recipient": {"id": "1"}, "message": {"text": "x"}}).encode()
        results["graph_https_rps"] = measure(
            "/v25.0/me/messages",
            send,
            lambda: http.client.HTTPSConnection("127.0.0.1", graph.port, context=context),
            seconds,
            threads,
        )
    finally:
        graph.stop()
    lex = Fake("lex")
    try:
        results["lex_rps"] = measure(
            "/bots/BENCHBOT01/botAliases/TSTALIASID/botLocales/en_US/sessions/1/text",
            b'{"text":"x"}',
            lambda: http.client.HTTPConnection("127.0.0.1", lex.port),
            seconds,
            threads,
        )
    finally:
        lex.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("graph", "lex", "measure"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--cert-dir", type=Path, default=None)
    args = parser.parse_args()
    if args.which == "graph":
        folder = args.cert_dir or Path(tempfile.mkdtemp(prefix="bench-graph-"))
        serve_graph(args.port, args.error_rate, folder, args.latency)
    elif args.which == "lex":
        serve_lex(args.port, args.latency)
    else:
        for name, rps in measure_fakes().items():
            print(f"{name}: {rps:,.0f} req/s")


if __name__ == "__main__":
    main()
