"""What a caller is answered for an outbound message: the HTTP status and the JSON body.

Shared by the outbound API (``bridge.web.outbound_api``) and local mode's "send as the Page"
panel (``bridge.local.pagesend``), so both answer a request the same way: 202 once the message
is committed (200 for a repeat of its ``idempotency_key``), 400 naming the field, 422 when it
cannot be sent now (the refusal's code), 503 when the queue failed; a status read answers 200,
404 for an unknown id, 503 when the queue failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bridge.errors import InvalidRequest, OutboundRefused, QueueError
from bridge.outbound import jobs
from bridge.outbound.enqueue import Outbox
from bridge.queue import OutboundReads

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP status and its JSON body; ``location`` is the new message's status path."""

    status: int
    body: dict[str, Any]
    location: str | None = None


def error(status: int, code: str, message: str, **more: str) -> Answer:
    """An error answer: ``{"error": {"code", ...more, "message"}}``."""
    return Answer(status, {"error": {"code": code, **more, "message": message}})


def invalid(exc: InvalidRequest) -> Answer:
    return error(400, "invalid", exc.message, field=exc.field)


def submitted(outbox: Outbox, body: object, *, now: float, delivery_id: str = "") -> Answer:
    """Queue the request ``body`` (``Outbox.submit``) and say how it went."""
    try:
        accepted = outbox.submit(body, now=now, delivery_id=delivery_id)
    except InvalidRequest as exc:
        return invalid(exc)
    except OutboundRefused as exc:
        return error(422, exc.code, exc.message)
    except QueueError:
        log.exception("outbound message could not be queued")
        return unavailable()
    return Answer(
        202 if accepted.created else 200,
        {"id": accepted.id, "status": "queued"},
        location=f"/v1/messages/{accepted.id}",
    )


def status(reads: OutboundReads, message_id: str) -> Answer:
    """What became of the outbound message ``message_id`` (``jobs.status_of``)."""
    record = None
    if jobs.is_outbound_key(message_id):
        try:
            record = reads.outbound(message_id)
        except QueueError:
            log.exception("outbound message status could not be read")
            return unavailable()
    if record is None:
        return error(404, "not_found", "no message with this id")
    return Answer(200, jobs.status_of(record))


def unavailable() -> Answer:
    return error(503, "unavailable", "the queue is not available; try again")
