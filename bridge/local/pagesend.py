"""Local mode: the emulator's "send as the Page" panel, the outbound API without its token.

``POST /local/emulator/outbound`` takes the body ``POST /v1/messages`` takes and queues it the
same way (``bridge.outbound.answers.submitted``: the same rules, the same answers, the same
order in the person's conversation); ``GET /local/emulator/outbound/<id>`` is
``GET /v1/messages/<id>``. No bearer token: like every local route, they answer only this
machine under its own name, refuse cross-site requests and take JSON only
(``bridge.local.guard``), so the page can try outbound messages without ``BRIDGE_API_TOKEN``.
The message reaches the person through the local Graph inbox, where the page reads it.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, g, jsonify, request

from bridge.local import guard
from bridge.outbound import answers

PREFIX = "/local/emulator/outbound"

bp = Blueprint("emulator_outbound", __name__, url_prefix=PREFIX)


@bp.before_request
def _local_clients_only() -> Response | None:
    return guard.refusal(json_body=True)


def _respond(answer: answers.Answer) -> Response:
    response = jsonify(answer.body)
    response.status_code = answer.status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("")
def send() -> Response:
    """Queue an outbound message (the body of ``POST /v1/messages``)."""
    # Malformed JSON is None, refused by the request's parser as "not a JSON object"; over
    # BRIDGE_MAX_BODY_BYTES, Flask answers 413 before this.
    body = request.get_json(silent=True)
    services = current_app.extensions["bridge"]
    delivery_id = str(g.get("request_id") or "")
    return _respond(
        answers.submitted(services.outbox(), body, now=time.time(), delivery_id=delivery_id)
    )


@bp.get("/<message_id>")
def status(message_id: str) -> Response:
    """What became of an outbound message (``GET /v1/messages/<id>``)."""
    return _respond(answers.status(current_app.extensions["bridge"].queue, message_id))
