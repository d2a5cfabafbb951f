"""The Lex V2 fake: RecognizeText (rest-json) answered ``echo: <text>``, turns counted.

    python -m bench.fakes lex [--port 0] [--latency 0.05] [--throttle-rate 0.05] [--seed 7]

Each call is answered after ``--latency`` seconds. At ``--throttle-rate`` (a seeded share of
calls, ``bench.faultplan``) it answers HTTP 429 with ``x-amzn-ErrorType: ThrottlingException``
and Lex's JSON error body, as botocore parses it: nothing ran. Every other call is a turn that
ran, recorded with the time it was answered (``time.time()``), its session (the PSID) and its
text. ``GET /_turns?after=N`` returns the turns from index N on and the call counts;
``POST /_faults {"on": false}`` stops the throttling (``{"on": true}`` resumes it).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from bench.fakehttp import FakeHandler, FakeServer, announce
from bench.faultplan import lex_fault

LEX_PATH = re.compile(
    r"^/bots/(?P<bot>[^/]+)/botAliases/(?P<alias>[^/]+)/botLocales/(?P<locale>[^/]+)"
    r"/sessions/(?P<session>[^/]+)/text$"
)
_THROTTLED = {"message": "Rate exceeded"}


@dataclass
class LexState:
    latency: float = 0.0
    throttle_rate: float = 0.0
    seed: int = 7
    faults_on: bool = True
    turns: list[tuple[float, str, str]] = field(default_factory=list)  # (answered, session, text)
    calls: int = 0
    throttled: int = 0
    seen: dict[bytes, int] = field(default_factory=dict)  # call bytes → calls so far
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_faults(self, on: bool) -> None:
        with self.lock:
            self.faults_on = on

    def throttles(self, key: bytes) -> bool:
        """Count the call; whether it is to be answered 429."""
        with self.lock:
            self.calls += 1
            nth = self.seen.get(key, 0)
            self.seen[key] = nth + 1
            if not self.faults_on or lex_fault(self.throttle_rate, self.seed, key, nth) is None:
                return False
            self.throttled += 1
            return True


class _LexHandler(FakeHandler):
    state: LexState

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path
        raw = self.read_body()
        if path == "/_faults":
            self.switch_faults(raw, self.state.set_faults)
            return
        match = LEX_PATH.match(path)
        if match is None:
            self.reply(404, b'{"message":"unknown path"}')
            return
        if self.state.latency:
            time.sleep(self.state.latency)
        session = match["session"]
        if self.state.throttles(session.encode() + b"\n" + raw):
            headers = {"x-amzn-ErrorType": "ThrottlingException"}
            self.reply(429, json.dumps(_THROTTLED).encode(), headers)
            return
        text = json.loads(raw or b"{}").get("text", "")
        with self.state.lock:
            self.state.turns.append((time.time(), session, text))
        self.reply(200, json.dumps(_answer(session, text)).encode())

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path != "/_turns":
            self.reply(404, b'{"message":"unknown path"}')
            return
        after = int(parse_qs(url.query).get("after", ["0"])[0])
        with self.state.lock:
            answer = {
                "turns": self.state.turns[after:],
                "calls": self.state.calls,
                "throttled": self.state.throttled,
            }
        self.reply(200, json.dumps(answer).encode())


def _answer(session: str, text: str) -> dict[str, object]:
    return {
        "messages": [{"contentType": "PlainText", "content": f"echo: {text}"}],
        "sessionState": {
            "dialogAction": {"type": "Close"},
            "intent": {"name": "Echo", "state": "Fulfilled", "slots": {}},
            "sessionAttributes": {},
        },
        "interpretations": [{"intent": {"name": "Echo", "state": "Fulfilled"}}],
        "sessionId": session,
    }


def serve_lex(port: int, state: LexState) -> None:
    handler = type("LexHandler", (_LexHandler,), {"state": state})
    server = FakeServer(("127.0.0.1", port), handler)
    announce(server)
    server.serve_forever()


@dataclass
class LexTurns:
    turns: list[tuple[float, str, str]]  # turns that ran, from index ``after`` on
    calls: int  # every RecognizeText call so far, throttled ones included
    throttled: int  # calls answered 429


def lex_turns(port: int, after: int = 0) -> LexTurns:
    """The turns the Lex fake on ``port`` ran (from index ``after``) and its call counts."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", f"/_turns?after={after}")
        data = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    turns = [(float(at), str(session), str(text)) for at, session, text in data["turns"]]
    return LexTurns(turns, int(data["calls"]), int(data["throttled"]))
