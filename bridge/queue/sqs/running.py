"""A claimed job's progress and end in the SQS backend: the stored reply, the send ledger, ack,
retry, drop and bury.

Each write requires the claim's owner token and the running state, so a process whose lease
ran out (another process took the job) cannot overwrite anything; a refused write also lets go
of the message here. Ending a job then deals with its message: deleted (done, dropped), kept
invisible until the retry time (retry), or moved to the dead-letter queue (bury).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from bridge.queue.records import Job, Message
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.base import SqsBase
from bridge.queue.sqs.table import Expr, job_pk


class SqsRunning(SqsBase):
    """The changes of a claimed job, for ``bridge.queue.Jobs``."""

    def _finish(
        self, job: Job, expr: Expr, *, states: tuple[str, ...] = ("running",), what: str
    ) -> bool:
        """A change to a job this owner holds; False (and the message let go) if it lost it."""
        condition = f"{expr.equals('owner', job.owner)} AND {expr.one_of('state', *states)}"
        ok = self.table.update(job_pk(job.key), items.JOB_SK, expr, condition, what=what).ok
        if not ok:
            held = self._held.by_token(job.owner)
            if held is not None:
                self._held.forget(held)
        return ok

    def save_reply(self, job: Job, messages: list[Message]) -> bool:
        """Store the bot's rendered reply so a retry never asks the bot again."""
        reply = json.dumps(messages, ensure_ascii=False)
        return self._finish(job, Expr().set("reply", reply), what="save reply")

    def store_reply(self, job: Job, messages: list[Message]) -> Callable[[], bool]:
        """``save_reply``, done before it returns (one DynamoDB write; nothing to overlap)."""
        stored = self.save_reply(job, messages)
        return lambda: stored

    def mark_sent(self, job: Job, count: int) -> bool:
        """Record that the first ``count`` reply messages reached the Graph API (the ledger)."""
        return self._finish(job, Expr().set("sent", count), what="ledger")

    def ack(self, job: Job, *, now: float, sent: int | None = None) -> bool:
        """The job is done; its message is deleted."""
        expr = Expr().set("state", "done").set("finished", now)
        expr.set("expires", int(now + items.DONE_TTL)).remove("last_error", "not_before")
        if sent is not None:
            expr.set("sent", sent)
        # "done" too: botocore may repeat a write whose answer was lost.
        if not self._finish(job, expr, states=("running", "done"), what="ack"):
            return False
        self._leases.delete_for(job.owner)
        return True

    def still_holds(self, job: Job) -> bool:
        """Whether this process still holds ``job``'s message, invisible to the others."""
        held = self._held.by_token(job.owner)
        return held is not None and time.monotonic() < held.visible_until

    def retry(self, job: Job, *, at: float, error: str, refund: bool = False) -> bool:
        """Give the job back, due at ``at``; this process keeps its message until then (the
        lease thread keeps it invisible), so the conversation's later messages wait."""
        expr = Expr().set("state", "queued").set("not_before", at).set("last_error", error)
        expr.remove("owner")
        if refund:
            expr.increment("attempts", -1)
        if not self._finish(job, expr, what="retry"):
            return False
        held = self._held.by_token(job.owner)
        if held is not None:
            self._held.unclaim(held, not_before=at)
        return True

    def drop(self, job: Job, *, reason: str, now: float) -> bool:
        """End the job unanswered on purpose; listed by ``queue dead --dropped``."""
        expr = Expr().set("state", "dropped").set("finished", now).set("last_error", reason)
        expr.set("dl", "dropped").set("expires", int(now + items.DONE_TTL))
        if not self._finish(job, expr, states=("running", "dropped"), what="drop"):
            return False
        self._leases.delete_for(job.owner)
        return True

    def bury(self, job: Job, *, reason: str, now: float) -> bool:
        """Give up on the job: marked dead, its message moved to the dead-letter queue."""
        expr = Expr().set("state", "dead").set("finished", now).set("last_error", reason)
        expr.set("expires", int(now + items.DEAD_TTL))
        if not self._finish(job, expr, states=("running", "dead"), what="bury"):
            return False
        held = self._held.by_token(job.owner)
        if held is not None:
            self._leases.bury(held, job.attempts)
        return True
