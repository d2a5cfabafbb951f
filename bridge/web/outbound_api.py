"""The outbound API: ``POST /v1/messages`` queues a message the person did not just ask for,
``GET /v1/messages/<id>`` tells what became of it.

Off unless ``BRIDGE_API_TOKEN`` is set: then every ``/v1/`` path answers 404, as if it did not
exist. Every call needs ``Authorization: Bearer <token>`` (compared in constant time; 401 with
``WWW-Authenticate: Bearer`` and no details otherwise). Answers are JSON: 202 once the message
is committed (200 for a repeat of its ``idempotency_key``), 400 naming the field for bad input
(malformed JSON, another content type), 413 over ``BRIDGE_MAX_BODY_BYTES`` (the webhook's
limit, read the same way), 422 when it cannot be sent now, 503 if the queue failed. The rules
are in ``bridge.outbound``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bridge.errors import InvalidRequest
from bridge.messenger.signature import tokens_match
from bridge.obs import metrics
from bridge.outbound import answers
from bridge.web.services import Services
from bridge.web.webhook import read_body

bp = Blueprint("outbound_api", __name__, url_prefix="/v1")

_BEARER = "Bearer "


def error(status: int, code: str, message: str, **more: str) -> Response:
    """A JSON error answer: ``{"error": {"code", ...more, "message"}}``."""
    return respond(answers.error(status, code, message, **more))


def respond(answer: answers.Answer) -> Response:
    """``answer`` as a JSON response, never cached."""
    response = jsonify(answer.body)
    response.status_code = answer.status
    response.headers["Cache-Control"] = "no-store"
    if answer.location is not None:
        response.headers["Location"] = answer.location
    return response


@bp.before_request
def _guard() -> Response | None:
    """404 while the API is off; 401 without the right bearer token."""
    services: Services = current_app.extensions["bridge"]
    token = services.settings.web.api_token
    if token is None:
        return error(404, "not_found", "not found")
    given = request.headers.get("Authorization", "")
    offered = given[len(_BEARER) :] if given.startswith(_BEARER) else None
    if not tokens_match(token, offered):
        response = error(401, "unauthorized", "unauthorized")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_: RequestEntityTooLarge) -> Response:
    limit = current_app.extensions["bridge"].settings.web.max_body_bytes
    return error(413, "too_large", f"the body is over {limit} bytes (BRIDGE_MAX_BODY_BYTES)")


@bp.post("/messages")
def post_message() -> Response:
    services: Services = current_app.extensions["bridge"]
    try:
        body = _json_body(services.settings.web.max_body_bytes)
    except InvalidRequest as exc:
        metrics.OUTBOUND_MESSAGES.labels("invalid").inc()
        return respond(answers.invalid(exc))
    delivery_id = str(g.get("request_id") or "")
    return respond(
        answers.submitted(services.outbox(), body, now=time.time(), delivery_id=delivery_id)
    )


@bp.get("/messages/<message_id>")
def get_message(message_id: str) -> Response:
    services: Services = current_app.extensions["bridge"]
    return respond(answers.status(services.queue, message_id))


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Response:
    return error(404, "not_found", "not found")


def _json_body(limit: int) -> Any:
    """The decoded JSON body; ``InvalidRequest`` for another content type or malformed JSON,
    ``RequestEntityTooLarge`` (413) over ``limit``."""
    if request.mimetype != "application/json":
        raise InvalidRequest("", "send the body as JSON (Content-Type: application/json)")
    raw = read_body(request.environ, limit)
    if raw is None:
        raise RequestEntityTooLarge()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest("", "the body is not valid JSON") from exc
