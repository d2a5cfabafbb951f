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
from typing import IO, TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.utils import get_content_length

from bridge.config.settings import Settings
from bridge.errors import PayloadError, QueueError
from bridge.messenger import events
from bridge.messenger import thread_control as threads
from bridge.messenger.events.notifications import dated
from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature, tokens_match
from bridge.obs import metrics
from bridge.obs.gunicorn_logs import ACCESS_FIELDS
from bridge.obs.logs import log_context, new_request_id
from bridge.queue import NewJob
from bridge.web.services import Services

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)
# What the log lines of one delivery show at most: ids each (Meta's mids are ~90 characters),
# and ids in all (the counts are there too).
_LOGGED_ID_CHARS = 120
_LOGGED_IDS = 100
_PAGE_ID_DIGITS = 20

bp = Blueprint("webhook", __name__)

# The signature header as a WSGI environ key.
_SIGNATURE_KEY = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")


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
    """The POST through Flask. ``bridge.web.fastpath`` answers it in front of Flask (the
    server's path) with the same function, ``receive_delivery``."""
    services: Services = current_app.extensions["bridge"]
    delivery_id = str(g.get("request_id") or new_request_id())
    status, text = receive_delivery(services, request.environ, delivery_id=delivery_id)
    return _plain(text, status)


def receive_delivery(
    services: Services, environ: WSGIEnvironment, *, delivery_id: str
) -> tuple[int, str]:
    """Read the body, verify the signature over the raw bytes, parse, enqueue durably; the
    status and text to answer. RequestEntityTooLarge (counted) if a body without
    Content-Length runs over the limit, as werkzeug raises.

    The POST's request id is its delivery id: stored with its jobs, on every log line of the
    POST and of their delivery, and in the access log line (``X-Request-ID``)."""
    try:
        with log_context(delivery_id=delivery_id), metrics.WEBHOOK_DURATION.time():
            result, status, text = _receive(services, environ, delivery_id)
    except RequestEntityTooLarge:
        metrics.WEBHOOK_REQUESTS.labels("too_large").inc()
        raise
    metrics.WEBHOOK_REQUESTS.labels(result).inc()
    return status, text


def _receive(
    services: Services, environ: WSGIEnvironment, delivery_id: str
) -> tuple[str, int, str]:
    """The webhook's work; returns the result (a metrics label), the status and the text."""
    settings = services.settings
    body = read_body(environ, settings.web.max_body_bytes)
    if body is None:
        return "too_large", 413, "Payload Too Large"
    if not is_valid_signature(settings.graph.app_secret, body, environ.get(_SIGNATURE_KEY)):
        log.warning("webhook rejected: bad signature")
        return "bad_signature", 403, "Forbidden"
    if services.recorder is not None:
        services.recorder.record(body)
    try:
        parsed = _parse(body, settings)
    except PayloadError:
        log.warning("webhook rejected: body is not JSON")
        return "bad_json", 400, "Bad Request"
    try:
        summary = _enqueue(services, parsed, delivery_id)
    except QueueError:
        # The only 5xx: Meta will redeliver, and nothing was acknowledged.
        log.exception("webhook could not enqueue")
        return "queue_error", 503, "Service Unavailable"
    if summary is not None:
        _report(services, environ, summary)
    return ("ok" if parsed.well_formed else "wrong_shape"), 200, "EVENT_RECEIVED"


def _report(services: Services, environ: WSGIEnvironment, summary: dict[str, object]) -> None:
    """What the POST added, on its access line when the server writes the app's fields there
    (gunicorn.conf.py: one line per webhook POST), else on a line of its own."""
    if services.summary_in_access_log:
        environ[ACCESS_FIELDS] = summary
    else:
        log.info("webhook accepted", extra=summary)


def read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """The raw body, or None (logged) if Content-Length declares more than ``limit`` bytes:
    refused before reading. A body without Content-Length (chunked) is read if the server
    ends the stream (``wsgi.input_terminated``), up to one byte past the limit:
    RequestEntityTooLarge if it gets there; without that promise it reads as empty."""
    length = get_content_length(
        environ.get("CONTENT_LENGTH"), environ.get("HTTP_TRANSFER_ENCODING")
    )
    if length is not None and length > limit:
        log.warning("webhook rejected: body too large", extra={"bytes": length})
        return None
    if length is None and not environ.get("wsgi.input_terminated"):
        return b""
    body = _read_up_to(environ["wsgi.input"], limit + 1 if length is None else length)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return body


def _read_up_to(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes: a WSGI stream may return fewer than asked before its end."""
    first = stream.read(size)
    if len(first) >= size or not first:
        return first
    chunks = [first]
    size -= len(first)
    while size > 0 and (chunk := stream.read(size)):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _parse(body: bytes, settings: Settings) -> events.ParseResult:
    """The delivery's events and what else it held, counted and logged; PayloadError if the
    body is not JSON."""
    try:
        decoded: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # nested too deep: 400
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


def _enqueue(
    services: Services, parsed: events.ParseResult, delivery_id: str
) -> dict[str, object] | None:
    """Commit the events, thread signals and notification-messages tokens (if any) in one
    put, and say what it added (None: nothing to put); QueueError if it failed. The tokens
    are counted, never logged."""
    now = time.time()
    now_ms = int(now * 1000)
    settings = services.settings
    signals = threads.signals_from(parsed, own_app_id=settings.graph.app_id, now_ms=now_ms)
    if not (parsed.events or signals):
        return None
    jobs = [to_new_job(event, now, delivery_id) for event in parsed.events]
    tokens = dated(parsed.tokens, now_ms) if parsed.tokens else []
    result = services.enqueue(jobs, now=now, signals=signals, tokens=tokens)
    for event in parsed.events:
        metrics.EVENTS.labels(event.kind).inc()
    for token in tokens:
        metrics.NOTIFICATION_TOKENS.labels(token.status).inc()
    if result.duplicates:
        metrics.DUPLICATES.inc(result.duplicates)
    return {
        "events": len(jobs),
        "added": result.added,
        "duplicates": result.duplicates,
        "mids": [_short(job.key) for job in jobs[:_LOGGED_IDS]],
        "thread_signals": len(signals),
        "notification_tokens": len(tokens),
    }


def _count(parsed: events.ParseResult, own_app_id: str | None) -> None:
    """Metrics and warnings for what the delivery held besides the bot's events."""
    for item in parsed.skipped:
        metrics.SKIPPED.labels(item.reason).inc()
    for echo in parsed.echoes:
        metrics.ECHOES.labels(echo.origin).inc()
    for handover in parsed.handovers:
        owner = threads.owner_of(handover, own_app_id)
        metrics.HANDOVERS.labels(handover.action, owner or "unknown").inc()
    for notice in parsed.policy:
        _warn_policy(notice)
    for page, count in parsed.other_pages.items():
        metrics.UNKNOWN_PAGES.labels(_page_label(page)).inc(count)
    if parsed.other_pages:
        pages = sorted(parsed.other_pages)[:_LOGGED_IDS]
        log.warning(
            "webhook items for a Page the bridge does not serve were ignored",
            extra={"pages": [_short(page) for page in pages]},
        )


def _page_label(page: str) -> str:
    """A Page id as a metric label; anything but a Page id (digits) reads ``invalid``, so an
    odd body cannot add series without end."""
    return page if page.isascii() and page.isdigit() and len(page) <= _PAGE_ID_DIGITS else "invalid"


def _short(value: str) -> str:
    """An id as a log line shows it: Meta's ids are under 100 characters; an odd one longer
    is cut, so one body cannot make a log line of megabytes."""
    return value if len(value) <= _LOGGED_ID_CHARS else f"{value[:_LOGGED_ID_CHARS]}…"


def _warn_policy(notice: events.PolicyEnforcement) -> None:
    """Meta warned the app, blocked it or lifted a block: said at WARNING, with Meta's reason
    (its words about its policy, cut short; these items hold no one's message)."""
    action = notice.action if notice.action in metrics.POLICY_ACTIONS else "other"
    metrics.POLICY_ENFORCEMENTS.labels(action).inc()
    log.warning(
        "Meta took a policy enforcement action on the app",
        extra={"page": notice.page_id, "action": notice.action, "reason": notice.reason},
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
