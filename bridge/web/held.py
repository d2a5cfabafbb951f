"""Answers the server's event loop holds until their webhooks are committed.

The worker (bridge/web/worker.py) answers the whole webhook POSTs it reads in one turn of its
loop inside one queue batch (``bridge.queue.Batches``): their puts share one transaction and
one fsync, and each 200 may only go out after that commit. So the app's answer to each is kept
here (``HeldAnswer``: gunicorn's response object, not yet written) and written when the turn
ends; if the batch's commit failed, each gets a 503 instead (``unavailable``: nothing was
acknowledged, Meta redelivers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gunicorn.http.wsgi import Response

from bridge.obs.gunicorn_logs import ACCESS_FIELDS
from bridge.web.fastpath import plain_answer
from bridge.web.hooks import REQUEST_ID_HEADER

UNAVAILABLE = 503


@dataclass
class HeldAnswer:
    """A request the app has answered; its answer is not written yet."""

    conn: Any  # gunicorn's connection
    req: Any  # gunicorn's request
    resp: Any  # gunicorn's response: status and headers set, nothing sent
    environ: dict[str, Any]
    body: bytes
    started: datetime
    keepalive: bool = False  # whether the connection may take another request after it


def unavailable(held: HeldAnswer, cfg: Any) -> tuple[Any, bytes]:
    """A 503 in place of ``held``'s answer (its commit failed), as the webhook answers a queue
    error; the same request id, and nothing of what the POST added on its access line."""
    held.environ.pop(ACCESS_FIELDS, None)
    resp = Response(held.req, held.conn.sock, cfg)
    if held.resp.must_close:
        resp.force_close()
    status, headers, body = plain_answer(UNAVAILABLE, "Service Unavailable", request_id(held))
    resp.start_response(status, headers)
    return resp, body


def request_id(held: HeldAnswer) -> str | None:
    """The request id the app answered with."""
    wanted = REQUEST_ID_HEADER.lower()
    return next((value for name, value in held.resp.headers if name.lower() == wanted), None)
