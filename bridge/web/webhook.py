"""The webhook: GET handshake, POST receive (verify → parse → enqueue → 200).

Nothing slow happens here: Meta wants a 200 within 5 s, retries otherwise, and unsubscribes
the Page after an hour of failures. The 200 is sent only after the events are committed.
https://developers.facebook.com/docs/messenger-platform/webhooks
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from bridge.config.settings import Settings
from bridge.errors import PayloadError, QueueError
from bridge.messenger import events
from bridge.messenger import thread_control as threads
from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature, tokens_match
from bridge.obs import metrics
from bridge.obs.logs import log_context, new_request_id
from bridge.queue import NewJob
from bridge.web.services import Services

log = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)


def _plain(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.get("/webhook")
def verify() -> Response:
    """Meta's subscription handshake: echo ``hub.challenge`` if the verify token matches."""
    services: Services = current_app.extensions["bridge"]
    mode = request.args.get("hub.mode")
    token = request.args.get("hub.verify_token")
    challenge = request.args.get("hub.challenge")
    if (
        mode == "subscribe"
        and challenge
        and tokens_match(services.settings.graph.verify_token, token)
    ):
        metrics.WEBHOOK_VERIFICATIONS.labels("ok").inc()
        log.info("webhook verified by Meta")
        return _plain(challenge, 200)
    metrics.WEBHOOK_VERIFICATIONS.labels("refused").inc()
    log.warning("webhook verification refused")
    return _plain("Forbidden", 403)


@bp.post("/webhook")
def receive() -> Response:
    """Verify the signature over the raw bytes, parse, enqueue durably, then answer 200.

    The POST's request id is its delivery id: stored with its jobs, on every log line of the
    POST and of their delivery, and in the access log line (``X-Request-ID``)."""
    delivery_id = str(g.get("request_id") or new_request_id())
    try:
        with log_context(delivery_id=delivery_id), metrics.WEBHOOK_DURATION.time():
            result, response = _receive(delivery_id)
    except RequestEntityTooLarge:  # a body without Content-Length, cut off by werkzeug
        metrics.WEBHOOK_REQUESTS.labels("too_large").inc()
        raise
    metrics.WEBHOOK_REQUESTS.labels(result).inc()
    return response


def _receive(delivery_id: str) -> tuple[str, Response]:
    """The webhook's work; returns the result (a metrics label) and the response."""
    services: Services = current_app.extensions["bridge"]
    settings = services.settings
    body = _read_body(settings.web.max_body_bytes)
    if body is None:
        return "too_large", _plain("Payload Too Large", 413)
    if not is_valid_signature(
        settings.graph.app_secret, body, request.headers.get(SIGNATURE_HEADER)
    ):
        log.warning("webhook rejected: bad signature")
        return "bad_signature", _plain("Forbidden", 403)
    if services.recorder is not None:
        services.recorder.record(body)
    try:
        parsed = _parse(body, settings)
    except PayloadError:
        log.warning("webhook rejected: body is not JSON")
        return "bad_json", _plain("Bad Request", 400)
    try:
        _enqueue(services, parsed, delivery_id)
    except QueueError:
        # The only 5xx: Meta will redeliver, and nothing was acknowledged.
        log.exception("webhook could not enqueue")
        return "queue_error", _plain("Service Unavailable", 503)
    return ("ok" if parsed.well_formed else "wrong_shape"), _plain("EVENT_RECEIVED", 200)


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None (logged) if it is over ``limit`` bytes, declared or actual."""
    length = request.content_length
    if length is not None and length > limit:
        log.warning("webhook rejected: body too large", extra={"bytes": length})
        return None
    body = request.get_data(cache=False)
    if len(body) > limit:
        log.warning("webhook rejected: body too large", extra={"bytes": len(body)})
        return None
    return body


def _parse(body: bytes, settings: Settings) -> events.ParseResult:
    """The delivery's events and what else it held, counted and logged; PayloadError if the
    body is not JSON."""
    try:
        decoded: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("webhook body is not JSON") from exc
    parsed = events.parse_webhook(
        decoded, app_id=settings.graph.app_id, pages=settings.served_pages
    )
    _count(parsed, settings.graph.app_id)
    if not parsed.well_formed:
        log.warning(
            "webhook ignored: not a Messenger page delivery",
            extra={"reason": parsed.skipped[0].reason},
        )
    elif parsed.skipped:
        log.debug(
            "webhook items skipped",
            extra={"skipped": dict(Counter(s.reason for s in parsed.skipped))},
        )
    return parsed


def _enqueue(services: Services, parsed: events.ParseResult, delivery_id: str) -> None:
    """Commit the events and thread signals (if any) in one put; QueueError if it failed."""
    now = time.time()
    settings = services.settings
    signals = threads.signals_from(parsed, own_app_id=settings.graph.app_id, now_ms=int(now * 1000))
    if not (parsed.events or signals):
        return
    jobs = [to_new_job(event, now, delivery_id) for event in parsed.events]
    result = services.enqueue(jobs, now=now, signals=signals)
    for event in parsed.events:
        metrics.EVENTS.labels(event.kind).inc()
    if result.duplicates:
        metrics.DUPLICATES.inc(result.duplicates)
    log.info(
        "webhook accepted",
        extra={
            "events": len(jobs),
            "added": result.added,
            "duplicates": result.duplicates,
            "mids": [job.key for job in jobs],
            "thread_signals": len(signals),
        },
    )


def _count(parsed: events.ParseResult, own_app_id: str | None) -> None:
    """Metrics and warnings for what the delivery held besides the bot's events."""
    for item in parsed.skipped:
        metrics.SKIPPED.labels(item.reason).inc()
    for echo in parsed.echoes:
        metrics.ECHOES.labels(echo.origin).inc()
    for handover in parsed.handovers:
        owner = threads.owner_of(handover.action, handover.new_owner, own_app_id)
        metrics.HANDOVERS.labels(handover.action, owner or "unknown").inc()
    for page, count in parsed.other_pages.items():
        metrics.UNKNOWN_PAGES.labels(page).inc(count)
    if parsed.other_pages:
        log.warning(
            "webhook items for a Page the bridge does not serve were ignored",
            extra={"pages": sorted(parsed.other_pages)},
        )


def to_new_job(event: events.Event, now: float, delivery_id: str = "") -> NewJob:
    """A queue job for an event, ordered by Messenger's timestamp (arrival time if absent);
    ``delivery_id`` names the webhook POST, so delivery's logs of the event carry it."""
    return NewJob(
        key=events.dedupe_key(event),
        page=event.page_id,
        conversation=events.conversation_key(event),
        order_ts=event.timestamp or int(now * 1000),
        payload=events.to_json(event),
        delivery_id=delivery_id,
    )
