"""The two baselines of the benchmark, served by gunicorn with the bridge's gunicorn settings.

- ``bench.baselines:bare`` — a bare WSGI app answering 200: the ceiling of the stack.
- ``bench.baselines:naive`` — a naive Flask bridge: verifies the signature, then sends
  ``echo: <text>`` for each message inline to the Send API before answering (what most
  connectors do). Reads ``FB_APP_SECRET``, ``FB_PAGE_ACCESS_TOKEN`` and ``FB_GRAPH_API_URL``.
- ``bench.baselines:naive_lex`` — the same, but it asks the Lex V2 bot for each message
  inline (one boto3 ``RecognizeText``, retries off) and sends its first message: the same
  work per message as the bridge, without its queue, order or guarantees. Reads also
  ``LEX_BOT_ID``, ``LEX_BOT_ALIAS_ID`` and boto3's own variables (the endpoint, credentials).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import requests
from botocore.config import Config
from flask import Flask, Response, request

from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature


def bare(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "15")])
    return [b"EVENT_RECEIVED\n"]


naive = Flask("naive")
naive_lex = Flask("naive_lex")
_local = threading.local()
_lex: list[Any] = []  # one client per process (boto3 clients are thread-safe), made lazily
_lex_made = threading.Lock()


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _lex_client() -> Any:
    with _lex_made:
        if not _lex:
            config = Config(retries={"total_max_attempts": 1}, parameter_validation=False)
            _lex.append(boto3.client("lexv2-runtime", config=config))
        return _lex[0]


def _echo(sender: str, text: str) -> str | None:
    return f"echo: {text}"


def _ask_lex(sender: str, text: str) -> str | None:
    answer = _lex_client().recognize_text(
        botId=os.environ["LEX_BOT_ID"],
        botAliasId=os.environ["LEX_BOT_ALIAS_ID"],
        localeId="en_US",
        sessionId=sender,
        text=text,
    )
    messages = answer.get("messages") or [{}]
    content = messages[0].get("content")
    return content if isinstance(content, str) else None


def _answer_inline(answer: Callable[[str, str], str | None]) -> Response | tuple[str, int]:
    raw = request.get_data()
    if not is_valid_signature(
        os.environ["FB_APP_SECRET"], raw, request.headers.get(SIGNATURE_HEADER)
    ):
        return "bad signature", 403
    url = f"{os.environ['FB_GRAPH_API_URL']}/v25.0/me/messages"
    token = os.environ["FB_PAGE_ACCESS_TOKEN"]
    for entry in json.loads(raw).get("entry", []):
        for item in entry.get("messaging", []):
            text = item.get("message", {}).get("text")
            reply = answer(item["sender"]["id"], text) if text else None
            if reply:
                _session().post(
                    url,
                    params={"access_token": token},
                    json={"recipient": item["sender"], "message": {"text": reply}},
                    timeout=10,
                )
    return Response("EVENT_RECEIVED", 200)


@naive.post("/webhook")
def _webhook() -> Response | tuple[str, int]:
    return _answer_inline(_echo)


@naive_lex.post("/webhook")
def _webhook_lex() -> Response | tuple[str, int]:
    return _answer_inline(_ask_lex)


@naive.get("/webhook")
@naive_lex.get("/webhook")
def _verify() -> tuple[str, int]:
    return "forbidden", 403
