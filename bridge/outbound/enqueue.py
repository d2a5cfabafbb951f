"""Queueing an outbound message: the one path of ``POST /v1/messages`` and ``bridge send``.

``submit`` reads the request, checks it against what the queue knows of the person (the rules
of ``bridge.outbound.rules``) and puts one job in the person's conversation, the same one the
webhook's jobs for that person use: it waits for a turn in flight, and the person's next
message waits for it. It returns once the job is committed. A repeat under the same
``idempotency_key`` (also one racing this one: the put dedupes by key) returns the job
already queued; with another body, it is refused (``idempotency_conflict``). Each result is
counted in ``bridge_outbound_messages_total``; nothing logged names the person's words or
a token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bridge.errors import InvalidRequest, OutboundRefused, QueueError
from bridge.messenger.events import conversation_of
from bridge.obs import metrics
from bridge.outbound import jobs, rules
from bridge.outbound.request import OutboundRequest, parse_request, resolve_page
from bridge.queue import NewJob, Notifications, OutboundRecord, OutboundSink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message in the queue: ``created`` False when it was already there (a repeat)."""

    id: str
    created: bool


@dataclass(frozen=True)
class Outbox:
    """Where outbound messages go: the queue, the notification-messages tokens (None: none
    are stored, so no token is known), the Pages served (``resolve_page``) and how long a
    silent holder's hold lasts (ms, ``BRIDGE_HUMAN_IDLE``)."""

    queue: OutboundSink
    notifications: Notifications | None
    pages: Sequence[str]
    idle_ms: int

    def submit(self, body: object, *, now: float, delivery_id: str = "") -> Accepted:
        """Read, check and queue the request ``body``; ``InvalidRequest`` or
        ``OutboundRefused`` if it cannot be queued, ``QueueError`` if the queue failed."""
        try:
            request = parse_request(body)
            page = resolve_page(request.page_id, self.pages)
        except InvalidRequest:
            metrics.OUTBOUND_MESSAGES.labels("invalid").inc()
            raise
        try:
            accepted = self._enqueue(request, page, now=now, delivery_id=delivery_id)
        except OutboundRefused as refused:
            metrics.OUTBOUND_MESSAGES.labels(refused.code).inc()
            log.info("outbound message refused", extra={"page": page, "reason": refused.code})
            raise
        metrics.OUTBOUND_MESSAGES.labels("queued" if accepted.created else "duplicate").inc()
        log.info(
            "outbound message queued" if accepted.created else "outbound message repeated",
            extra={"page": page, "outbound_id": accepted.id},
        )
        return accepted

    def _enqueue(
        self, request: OutboundRequest, page: str, *, now: float, delivery_id: str
    ) -> Accepted:
        key = jobs.job_id(page, request.idempotency_key)
        digest = jobs.request_hash(request, page)
        if request.idempotency_key is not None:
            existing = self.queue.outbound(key)
            if existing is not None:
                return _repeat(existing, digest)
        now_ms = int(now * 1000)
        user, token_sha = self._recipient(request, page, now_ms)
        payload = jobs.to_payload(
            jobs.OutboundJob(
                user=user,
                messages=request.messages,
                lex_text=request.lex_text,
                messaging_type=request.messaging_type,
                tag=request.tag,
                token_sha256=token_sha,
                request_sha256=digest,
            )
        )
        job = NewJob(key, page, conversation_of(page, user), now_ms, payload, delivery_id)
        if self.queue.put([job], now=now).added:
            return Accepted(key, created=True)
        existing = self.queue.outbound(key)  # another request with this key came first
        if existing is None:
            raise QueueError(f"the queue kept no job for {key} and reported none added")
        return _repeat(existing, digest)

    def _recipient(
        self, request: OutboundRequest, page: str, now_ms: int
    ) -> tuple[str, str | None]:
        """The person's PSID (and the token's hash), if the rules let the message go now."""
        if request.token is not None:
            known = self.notifications
            token = None if known is None else known.notification_token(page, request.token)
            thread = None if token is None else self.queue.thread(page, token.user)
            refusal = rules.to_token(
                token, thread, written_ms=now_ms, now_ms=now_ms, idle_ms=self.idle_ms
            )
            _raise(refusal)
            assert token is not None  # to_token refuses an unknown token
            return token.user, jobs.token_hash(request.token)
        assert request.psid is not None  # parse_request gives one recipient or the other
        thread = self.queue.thread(page, request.psid)
        refusal = rules.to_person(
            thread, tag=request.tag, written_ms=now_ms, now_ms=now_ms, idle_ms=self.idle_ms
        )
        _raise(refusal)
        return request.psid, None


def _raise(refusal: rules.Refusal | None) -> None:
    if refusal is not None:
        raise OutboundRefused(refusal.code, refusal.message)


def _repeat(existing: OutboundRecord, digest: str) -> Accepted:
    """A repeat of a message already queued: the same one, unless the body differs."""
    try:
        same = jobs.from_payload(existing.payload).request_sha256 == digest
    except (ValueError, KeyError, TypeError):
        same = False
    if not same:
        raise OutboundRefused(
            "idempotency_conflict",
            "this idempotency_key was used for another message: use a new key for a new message",
        )
    return Accepted(existing.key, created=False)
