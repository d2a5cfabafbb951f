"""The two baselines of the benchmark, served by gunicorn with the bridge's gunicorn settings.

- ``bench.baselines:bare`` — a bare WSGI app answering 200: the ceiling of the stack.
- ``bench.baselines:naive`` — a naive Flask bridge: verifies the signature, then sends
  ``echo: <text>`` for each message inline to the Send API before answering (what most
  connectors do). Reads ``FB_APP_SECRET``, ``FB_PAGE_ACCESS_TOKEN`` and ``FB_GRAPH_API_URL``.

The naive bridge that asks Lex is ``bench.baseline_lex:naive_lex`` (its own module, so these
two do not import boto3).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import requests
from flask import Flask, Response, request

from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature


def bare(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "15")])
    return [b"EVENT_RECEIVED\n"]


naive = Flask("naive")
_local = threading.local()


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _echo(sender: str, text: str) -> str | None:  # noqa: ARG001 - the answer's signature
    return f"echo: {text}"


def answer_inline(answer: Callable[[str, str], str | None]) -> Response | tuple[str, int]:
    """The webhook: check the signature, then for each text message send ``answer(sender,
    text)`` inline to the Send API, then answer 200."""
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
    return answer_inline(_echo)


@naive.get("/webhook")
def verify() -> tuple[str, int]:
    return "forbidden", 403
