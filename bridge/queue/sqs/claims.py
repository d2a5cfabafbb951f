"""Claiming in the SQS backend: receive tickets into this process, then take a job's item.

A message is only a ticket: whoever receives it claims the item first (a fresh owner token,
only on a queued job, or a running one whose holder lost the message), and a ticket whose job
already ended is deleted unused. Batch receives (up to one message per idle delivery thread)
are held behind the first message of their conversation, so the rest wait in this process.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from bridge.errors import QueueError
from bridge.queue.records import Job
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import calling
from bridge.queue.sqs.base import SqsBase
from bridge.queue.sqs.held import Held
from bridge.queue.sqs.table import Expr, Item, job_pk

log = logging.getLogger(__name__)

RECEIVE_BACKOFF = 1.0  # seconds without receiving after a receive failed
_SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "MessageGroupId"]


class SqsClaims(SqsBase):
    """``claim`` of ``bridge.queue.Jobs``: from the messages held here, else after a receive."""

    def claim(self, *, owner: str, process: str, now: float, lease: float) -> Job | None:
        """The next job this process may run: from the messages it holds, else after one
        receive (one thread at a time long-polls; the others find nothing and come back)."""
        if not self._processes.join(process, owner):
            return None
        self._leases.ensure_running()
        job = self._claim_held(owner, now, lease)
        if job is None and self._receive(process):
            job = self._claim_held(owner, now, lease)
        return job

    def _claim_held(self, owner: str, now: float, lease: float) -> Job | None:
        if len(self._held) == 0:
            return None
        self._page_cache.refresh()
        while True:
            held = self._held.next_ready(
                now=now,
                monotonic=time.monotonic(),
                page_held=lambda page: self._page_cache.holds(page, now),
                margin=min(2.0, self._visibility / 3),
            )
            if held is None:
                return None
            try:
                job = self._claim_item(held, owner, now, lease)
            except QueueError:
                self._held.unclaim(held)
                raise
            if job is not None:
                return job

    def _claim_item(self, held: Held, owner: str, now: float, lease: float) -> Job | None:
        """Take the held message's job in the table (fresh owner token), or deal with a ticket
        whose job is finished or not due yet."""
        token = f"{owner}#{secrets.token_hex(4)}"
        expr = Expr().set("state", "running").set("owner", token).increment("attempts", 1)
        expr.remove("not_before")
        for name, value in items.job_fields(held.job).items():
            expr.set_default(name, value)
        expr.set_default("created", now).set_default("expires", int(now + items.UNFINISHED_TTL))
        due = f"({expr.missing('not_before')} OR {expr.n('not_before')} <= {expr.v(now)})"
        condition = (
            f"{expr.missing('state')} OR ({expr.one_of('state', 'queued', 'running')} AND {due})"
        )
        written = self.table.update(
            job_pk(held.job.key), items.JOB_SK, expr, condition, what="claim"
        )
        if written.ok and written.item is not None:
            self._held.started(held, token, time.monotonic() + lease)
            return items.job_from_item(written.item, token)
        self._not_claimed(held, written.item or {}, now)
        return None

    def _not_claimed(self, held: Held, old: Item, now: float) -> None:
        """Deal with a ticket whose job could not be claimed, by the job's state."""
        state = old.get("state")
        due_at = float(old.get("not_before") or 0)
        if state in ("done", "dropped"):
            self._leases.delete(held)  # a second ticket, or its ack's delete was lost
        elif state == "dead":
            self._leases.bury(held, int(old.get("attempts") or 0))
        elif due_at > now:
            self._held.unclaim(held, not_before=due_at)  # a retry not due yet
        else:
            self._held.unclaim(held, not_before=now + 1.0)  # changed meanwhile: look again soon

    def _receive(self, process: str) -> bool:
        """One ReceiveMessage (long poll) into this process's holdings; True if any came."""
        if time.monotonic() < self._receive_after or not self._receiving.acquire(blocking=False):
            return False
        try:
            started = time.monotonic()
            self._receive_after = started + RECEIVE_BACKOFF  # until this receive succeeds
            response = calling(
                "receive",
                lambda: self._sqs.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=self._batch_size(),
                    WaitTimeSeconds=self._wait,
                    VisibilityTimeout=self._visibility,
                    MessageSystemAttributeNames=_SYSTEM_ATTRIBUTES,
                ),
            )
        finally:
            self._receiving.release()
        self._receive_after = 0.0
        messages = response.get("Messages") or []
        held = [self._to_held(message, started) for message in messages]
        kept = [h for h in held if h is not None]
        if self._processes.has_stopped(process):
            self._leases.release(kept)
            return False
        for entry in kept:
            self._held.add(entry)
        return bool(kept)

    def _batch_size(self) -> int:
        """Up to one message per delivery thread of this process not busy with a job."""
        busy, waiting = self._held.counts()
        idle = self._processes.claimers() - busy - waiting
        return max(1, min(10, idle))

    def _to_held(self, message: dict[str, Any], started: float) -> Held | None:
        attributes = message.get("Attributes") or {}
        job = items.from_body(str(message.get("Body", "")))
        if job is None:
            # Not a bridge message: park it in the dead-letter queue rather than block its group.
            log.error("unreadable queue message moved to the dead-letter queue")
            self.dead.move_unreadable(self.url, message)
            return None
        return Held(
            message_id=str(message["MessageId"]),
            receipt=str(message["ReceiptHandle"]),
            job=job,
            group=str(attributes.get("MessageGroupId") or job.conversation),
            receives=int(attributes.get("ApproximateReceiveCount") or 1),
            received_at=started,
            visible_until=started + self._visibility,
        )
