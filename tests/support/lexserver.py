"""A Lex runtime endpoint for tests: Lex V2 RecognizeText and Lex V1 PostText in their real
rest-json wire formats, on loopback, so the bridge's boto3 clients make real calls to it.

Point boto3 at it with ``AWS_ENDPOINT_URL_LEX_RUNTIME_V2`` (V2) or
``AWS_ENDPOINT_URL_LEX_RUNTIME_SERVICE`` (V1), or ``endpoint_url``. It records every call and
answers from a queue of scripted answers, else with ``respond(call)``; an answer may be an AWS
error (status, ``x-amzn-ErrorType`` and a ``{"message"}`` body, which botocore turns into the
modeled exception) or come late.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from tests.support.servers import http_server

V2_PATH = ("bots", "botAliases", "botLocales", "sessions")
V1_PATH = ("bot", "alias", "user")


@dataclass(frozen=True)
class LexCall:
    """One request as it arrived: ``api`` is ``v2`` (RecognizeText) or ``v1`` (PostText)."""

    api: str
    bot: str
    alias: str
    session: str  # V2 sessionId, V1 userId
    body: dict[str, Any]
    headers: dict[str, str]
    locale: str | None = None

    @property
    def text(self) -> str:
        return str(self.body.get("text" if self.api == "v2" else "inputText"))

    @property
    def attributes(self) -> dict[str, str]:
        return dict(self.body.get("requestAttributes") or {})


@dataclass
class Answer:
    """A scripted answer: a body with ``status`` 200, or an AWS error named ``error``."""

    body: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    error: str | None = None
    delay: float = 0.0


def echo_answer(call: LexCall) -> dict[str, Any]:
    """The default: the bot says what it got."""
    said = f"Lex got: {call.text}"
    if call.api == "v2":
        return {"messages": [{"contentType": "PlainText", "content": said}]}
    return {"message": said, "messageFormat": "PlainText", "dialogState": "ElicitIntent"}


@dataclass
class LexServer:
    url: str = ""
    calls: list[LexCall] = field(default_factory=list)
    answers: deque[Answer] = field(default_factory=deque)
    respond: Callable[[LexCall], dict[str, Any]] = echo_answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *answers: Answer) -> None:
        with self.lock:
            self.answers.extend(answers)

    def calls_for(self, session: str) -> list[LexCall]:
        with self.lock:
            return [call for call in self.calls if call.session == session]

    def _next(self, call: LexCall) -> Answer:
        with self.lock:
            self.calls.append(call)
            if self.answers:
                return self.answers.popleft()
        return Answer(self.respond(call))


def parse_path(path: str) -> tuple[str, list[str]] | None:
    """("v2", [bot, alias, locale, session]) or ("v1", [bot, alias, user]) for a text turn."""
    parts = [unquote(part) for part in path.split("?")[0].strip("/").split("/")]
    if len(parts) == 9 and parts[-1] == "text" and tuple(parts[0:8:2]) == V2_PATH:
        return "v2", parts[1:8:2]
    if len(parts) == 7 and parts[-1] == "text" and tuple(parts[0:6:2]) == V1_PATH:
        return "v1", parts[1:6:2]
    return None


def _handler(server: LexServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            parsed = parse_path(self.path)
            if parsed is None:
                self._send(Answer({"message": "no such operation"}, 404, "UnknownOperation"))
                return
            api, ids = parsed
            call = LexCall(
                api=api,
                bot=ids[0],
                alias=ids[1],
                locale=ids[2] if api == "v2" else None,
                session=ids[-1],
                body=body,
                headers=dict(self.headers),
            )
            self._send(server._next(call))

        def _send(self, answer: Answer) -> None:
            time.sleep(answer.delay)
            payload = json.dumps(answer.body).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amzn-RequestId", "req-test-1")
                if answer.error:
                    self.send_header("x-amzn-ErrorType", answer.error)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a read-timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def lex_server() -> Iterator[LexServer]:
    """A running endpoint on 127.0.0.1, stopped on exit."""
    state = LexServer()
    with http_server(_handler(state)) as url:
        state.url = url
        yield state


def aws_environment(tmp: Any, **endpoints: str) -> dict[str, str]:
    """Environment for a bridge process that calls this endpoint: dummy credentials, no
    profile or metadata lookups from the machine, loopback not proxied."""
    config, credentials = tmp / "aws-config", tmp / "aws-credentials"
    config.write_text("[default]\n")
    credentials.write_text("")
    return {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_PROFILE": "default",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        **endpoints,
    }
