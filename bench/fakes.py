"""Fast loopback fakes of the two cloud services, for the benchmark and the soak.

    python -m bench.fakes graph [--port 0] [--error-rate 0.05] [--latency 0.08] [--cert-dir DIR]
                                [--hold-rate 0.01] [--hold-seconds 4] [--seed 7]
    python -m bench.fakes lex [--port 0] [--latency 0.05] [--throttle-rate 0.05] [--seed 7]
    python -m bench.fakespeed          # each fake alone, requests/s

Each server prints one JSON line when it listens (``{"port": …, "cert": …}``) and serves until
killed. The Graph fake speaks HTTPS with a self-signed certificate made at start (``openssl``;
point the client's ``REQUESTS_CA_BUNDLE`` at it), answers every Send API call with
``{"recipient_id", "message_id"}`` and records each accepted send: the time it answers it
(``time.time()``), recipient and text. Faults, a seeded share of calls each
(``bench.faultplan``: the same calls in every run): at ``--error-rate`` HTTP 500 or 503 with
Graph's error body (codes 1 and 2, "retry"), nothing sent; at ``--hold-rate`` the send is
recorded (delivered) and its answer held ``--hold-seconds`` — past the client's timeout, an
ambiguous send: the client cannot know it went out. Held records are listed by index.
``POST /_faults {"on": false}`` stops the faults (``{"on": true}`` resumes them).
With ``--latency`` every Send API call (every POST, errors included) answers that many seconds
after its body arrived, as a remote Graph would; the wait holds no lock and each connection
has its own thread, so calls on other connections are not held up (the record's time is the
answer's, after the wait). It also counts every Send API call it receives by the kind of its
body: ``message`` (a reply part), ``sender_action`` (``mark_seen``, ``typing_on`` …) or
``other``.
``GET /_records?after=N`` returns the records from index N on, the error count, the calls and
the held records' indices. The Lex fake (``bench.lexfake``) answers RecognizeText with
``echo: <text>`` after ``--latency`` seconds, throttles at ``--throttle-rate`` and counts turns.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.fakehttp import FakeHandler, FakeServer, announce
from bench.faultplan import GRAPH_5XX, HOLD, GraphFaults, graph_fault
from bench.lexfake import LexState, serve_lex


@dataclass
class GraphState:
    faults: GraphFaults = field(default_factory=GraphFaults)
    latency: float = 0.0  # seconds each Send API call waits before its answer
    hold_seconds: float = 0.0  # how long a held send's answer waits
    faults_on: bool = True
    records: list[tuple[float, str, str]] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # indices of records whose answer was held
    errors: int = 0
    calls: dict[str, int] = field(  # every POST, by body kind
        default_factory=lambda: {"message": 0, "sender_action": 0, "other": 0}
    )
    seen: dict[bytes, int] = field(default_factory=dict)  # body → calls with it so far
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_faults(self, on: bool) -> None:
        with self.lock:
            self.faults_on = on

    def fault(self, raw: bytes, kind: str) -> int | str | None:
        """Count the call; the fault it gets (a 5xx status, ``HOLD``) or None."""
        with self.lock:
            self.calls[kind] += 1
            nth = self.seen.get(raw, 0)
            self.seen[raw] = nth + 1
            fault = graph_fault(self.faults, raw, nth) if self.faults_on else None
            if isinstance(fault, int):
                self.errors += 1
            return fault

    def record(self, answered: float, recipient: str, text: str, *, held: bool) -> int:
        """Keep an accepted send; its number (from 1)."""
        with self.lock:
            self.records.append((answered, recipient, text))
            if held:
                self.held.append(len(self.records) - 1)
            return len(self.records)


class _GraphHandler(FakeHandler):
    state: GraphState

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        raw = self.read_body()
        state = self.state
        if urlsplit(self.path).path == "/_faults":
            self.switch_faults(raw, state.set_faults)
            return
        body = _json_object(raw)
        fault = state.fault(raw, _kind(body))
        if state.latency > 0:
            time.sleep(state.latency)  # this connection's thread only, no lock held
        answered = time.time()
        if isinstance(fault, int):
            error = {"error": {**GRAPH_5XX[fault], "fbtrace_id": "AbCdEfGhIjK"}}
            self.reply(fault, json.dumps(error).encode())
            return
        recipient = str(body.get("recipient", {}).get("id", ""))
        text = body.get("message", {}).get("text")
        seq = 0  # a sender action: answered, not recorded
        if isinstance(text, str):
            seq = state.record(answered, recipient, text, held=fault == HOLD)
        answer = json.dumps({"recipient_id": recipient, "message_id": f"m_{seq}"}).encode()
        if fault == HOLD:
            time.sleep(state.hold_seconds)  # delivered, answered after the client gave up
        self.reply(200, answer)

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path == "/_records":
            after = int(parse_qs(url.query).get("after", ["0"])[0])
            with self.state.lock:
                answer = {
                    "records": self.state.records[after:],
                    "errors": self.state.errors,
                    "calls": dict(self.state.calls),
                    "held": list(self.state.held),
                }
            self.reply(200, json.dumps(answer).encode())
            return
        self.reply(200, b'{"id":"100000000000001","name":"Bench Page"}')  # GET /me (token probe)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _kind(body: dict[str, Any]) -> str:
    if "message" in body:
        return "message"
    return "sender_action" if "sender_action" in body else "other"


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


def serve_graph(port: int, state: GraphState, cert_dir: Path) -> None:
    cert, key = make_cert(cert_dir)
    handler = type("GraphHandler", (_GraphHandler,), {"state": state})
    server = FakeServer(("127.0.0.1", port), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    announce(server, cert=str(cert))
    server.serve_forever()


class Fake:
    """A fake started as its own process (its own GIL), stopped with ``stop()``."""

    def __init__(self, *args: str) -> None:
        # The Graph fake's certificate goes in a folder of the caller's, or in one of this
        # object's, removed by ``stop()``.
        self._cert_dir: tempfile.TemporaryDirectory[str] | None = None
        if args[:1] == ("graph",) and "--cert-dir" not in args:
            self._cert_dir = tempfile.TemporaryDirectory(prefix="bench-graph-")
            args = (*args, "--cert-dir", self._cert_dir.name)
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

    def connection(self) -> http.client.HTTPConnection:
        """A connection to the fake: HTTPS trusting its certificate (Graph), or HTTP (Lex)."""
        if self.cert is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        context = ssl.create_default_context(cafile=self.cert)
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=30)

    def set_faults(self, on: bool) -> None:
        """Turn the fake's faults on or off (``POST /_faults``)."""
        conn = self.connection()
        try:
            conn.request("POST", "/_faults", body=json.dumps({"on": on}))
            conn.getresponse().read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()
        if self._cert_dir is not None:
            self._cert_dir.cleanup()


@dataclass
class GraphRecords:
    records: list[tuple[float, str, str]]  # accepted sends from index ``after`` on
    errors: int  # sends answered with an error
    calls: dict[str, int]  # every Send API call so far, by body kind
    held: list[int] = field(default_factory=list)  # indices (from 0) of the held records


def graph_records(fake: Fake, after: int = 0) -> GraphRecords:
    """The sends the Graph fake accepted (from index ``after``), its error and call counts."""
    conn = fake.connection()
    try:
        conn.request("GET", f"/_records?after={after}")
        data = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    records = [(float(at), str(to), str(text)) for at, to, text in data["records"]]
    calls = {str(kind): int(n) for kind, n in data["calls"].items()}
    held = [int(index) for index in data["held"]]
    return GraphRecords(records, int(data["errors"]), calls, held)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("graph", "lex"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--hold-rate", type=float, default=0.0)
    parser.add_argument("--hold-seconds", type=float, default=0.0)
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--cert-dir", type=Path, default=None)
    args = parser.parse_args()
    if args.which == "graph":
        faults = GraphFaults(args.error_rate, args.hold_rate, args.seed)
        state = GraphState(faults, args.latency, args.hold_seconds)
        serve_graph(
            args.port, state, args.cert_dir or Path(tempfile.mkdtemp(prefix="bench-graph-"))
        )
    else:
        serve_lex(args.port, LexState(args.latency, args.throttle_rate, args.seed))


if __name__ == "__main__":
    main()
