"""Dead letters of the SQS backend for ``bridge.queue.Admin``: the dead-letter queue
(``bridge.queue.sqs.dead``), listed and requeued."""

from __future__ import annotations

from bridge.queue.records import DeadLetter, NewJob
from bridge.queue.sqs.base import SqsBase
from bridge.queue.sqs.tickets import send_tickets


class SqsAdmin(SqsBase):
    """``bridge.queue.Admin`` on the dead-letter queue."""

    def dead_letters(self, *, include_dropped: bool = False, limit: int = 100) -> list[DeadLetter]:
        """Dead letters (the dead-letter queue; and, if asked, dropped jobs), newest first."""
        return self.dead.letters(include_dropped=include_dropped, limit=limit)

    def requeue(
        self, *, ids: list[int] | None = None, reason: str | None = None, everything: bool = False
    ) -> int:
        """Move dead letters back to the queue with fresh attempts: by id, by a substring of
        their reason, or all of them. Returns how many were requeued."""
        if not (ids or reason or everything):
            return 0
        return self.dead.requeue(ids=ids, reason=reason, everything=everything, send=self._send)

    def _send(self, url: str, messages: list[tuple[NewJob, str]]) -> None:
        send_tickets(self._sqs, url, messages)
