"""The naive bridge that asks Lex: ``bench.baseline_lex:naive_lex``, the third baseline.

It is ``bench.baselines``' naive bridge, but it asks the Lex V2 bot for each message inline
(one boto3 ``RecognizeText``, retries off, parameter validation off as in the bridge) and sends
its first message: the same work per message as the bridge, without its queue, order or
guarantees. Reads also ``LEX_BOT_ID``, ``LEX_BOT_ALIAS_ID`` and boto3's own variables (the
endpoint, region, credentials). The client is made when gunicorn loads the app in a worker, as
the bridge makes its own at start, so no request waits for it.
"""

from __future__ import annotations

import os

import boto3
from botocore.config import Config
from flask import Flask, Response

from bench.baselines import answer_inline, verify

naive_lex = Flask("naive_lex")
# One client per process (boto3 clients are thread-safe).
_lex = boto3.client(
    "lexv2-runtime",
    config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
)


def _ask_lex(sender: str, text: str) -> str | None:
    answer = _lex.recognize_text(
        botId=os.environ["LEX_BOT_ID"],
        botAliasId=os.environ["LEX_BOT_ALIAS_ID"],
        localeId="en_US",
        sessionId=sender,
        text=text,
    )
    messages = answer.get("messages") or [{}]
    content = messages[0].get("content")
    return content if isinstance(content, str) else None


@naive_lex.post("/webhook")
def _webhook() -> Response | tuple[str, int]:
    return answer_inline(_ask_lex)


naive_lex.add_url_rule("/webhook", "verify", verify, methods=["GET"])
