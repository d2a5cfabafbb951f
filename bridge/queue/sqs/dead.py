"""Dead letters of the SQS backend: the FIFO dead-letter queue, read and emptied by the CLI.

The main queue's redrive policy names the dead-letter queue (``python -m bridge init-aws`` sets
it up). Two kinds of messages end there: jobs delivery gave up on (``bury``: their item says
``dead`` and why), and messages SQS moved itself after ``maxReceiveCount`` receives without an
answer (their holder died each time; their item still says ``queued`` or ``running``).

Listing or requeueing receives the dead letters (each stays invisible while it is looked at)
and makes the rest visible again. A FIFO queue hands out a person's messages in order and
holds back the rest of a conversation while some of it is being looked at, so ``requeue
--all`` takes several rounds for a conversation with many dead letters; ``queue dead`` shows,
per conversation, those of the first round. A copy whose job is already done (a requeue or a
bury interrupted between two steps) is deleted when seen.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bridge.errors import QueueError
from bridge.queue import DeadLetter, NewJob
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import calling, job_id, parse_queue_arn, sqs_id
from bridge.queue.sqs.table import DROPPED_INDEX, PK, Expr, Item, Table, job_pk

log = logging.getLogger(__name__)

LOOK_SECONDS = 30  # how long a listed dead letter stays invisible (to the next listing)
REQUEUE_SECONDS = 120  # ... and one being requeued
MAX_REQUEUE_ROUNDS = 100
SQS_MOVED = (
    "SQS moved it to the dead-letter queue: its message was received maxReceiveCount times"
    " without an answer (its process stopped each time)"
)

Send = Callable[[str, list[tuple[NewJob, str]]], None]


@dataclass
class _Letter:
    """One message of the dead-letter queue, read with the job item it belongs to."""

    message: dict[str, Any]
    job: NewJob | None
    item: Item

    @property
    def receipt(self) -> str:
        return str(self.message["ReceiptHandle"])

    def to_dead_letter(self) -> DeadLetter:
        if self.job is None:
            body = str(self.message.get("Body", ""))
            key = str(self.message.get("MessageId", ""))
            return DeadLetter(job_id(key), key, "", "", "dead", 0, "unreadable message", None, body)
        state = self.item.get("state")
        reason = self.item.get("last_error") if state == "dead" else SQS_MOVED
        return items.dead_letter(self.item, state="dead", reason=_text(reason))


class DeadLetters:
    """The dead-letter queue of one main queue (found through its redrive policy)."""

    def __init__(self, queue_url: str, table: Table, sqs: Callable[[], Any]) -> None:
        self._queue_url = queue_url
        self._table = table
        self._client = sqs
        self._url: str | None = None

    @property
    def _sqs(self) -> Any:
        return self._client()

    @property
    def url(self) -> str:
        """The dead-letter queue's URL, from the main queue's redrive policy."""
        if self._url is None:
            response = calling(
                "reading the redrive policy",
                lambda: self._sqs.get_queue_attributes(
                    QueueUrl=self._queue_url, AttributeNames=["RedrivePolicy"]
                ),
            )
            policy = (response.get("Attributes") or {}).get("RedrivePolicy")
            target = (
                parse_queue_arn(json.loads(policy).get("deadLetterTargetArn", ""))
                if policy
                else None
            )
            if target is None:
                raise QueueError(
                    "the queue has no dead-letter queue (redrive policy): run"
                    " `python -m bridge init-aws`"
                )
            account, name = target
            found = calling(
                "finding the dead-letter queue",
                lambda: self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account),
            )
            self._url = str(found["QueueUrl"])
        return self._url

    def add(self, job: NewJob, attempts: int) -> None:
        """Copy a buried job's message here (a repeat within 5 minutes is dropped by SQS)."""
        entry = {
            "Id": "0",
            "MessageBody": items.to_body(job),
            "MessageGroupId": sqs_id(job.conversation),
            "MessageDeduplicationId": sqs_id(f"{job.key}#dead#{attempts}"),
        }
        response = calling(
            "dead letter", lambda: self._sqs.send_message_batch(QueueUrl=self.url, Entries=[entry])
        )
        if response.get("Failed"):
            raise QueueError(f"dead letter failed: {response['Failed'][0].get('Code')}")

    def move_unreadable(self, queue_url: str, message: dict[str, Any]) -> None:
        """Move a message that is not one of the bridge's from ``queue_url`` to here."""
        attributes = message.get("Attributes") or {}
        try:
            calling(
                "dead letter",
                lambda: self._sqs.send_message(
                    QueueUrl=self.url,
                    MessageBody=str(message.get("Body") or "-"),
                    MessageGroupId=str(attributes.get("MessageGroupId") or "unreadable"),
                    MessageDeduplicationId=sqs_id(str(message["MessageId"])),
                ),
            )
            calling(
                "delete",
                lambda: self._sqs.delete_message(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                ),
            )
        except QueueError as exc:
            log.error("unreadable message not moved", extra={"error": str(exc)})

    def _visible(self) -> int:
        response = calling(
            "queue stats",
            lambda: self._sqs.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
            ),
        )
        return int((response.get("Attributes") or {}).get("ApproximateNumberOfMessages") or 0)

    def count(self) -> int:
        """Dead letters in the dead-letter queue (approximate, as SQS counts)."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        response = calling(
            "queue stats",
            lambda: self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names),
        )
        attributes = response.get("Attributes") or {}
        return sum(int(attributes.get(name) or 0) for name in names)

    def letters(self, *, include_dropped: bool, limit: int) -> list[DeadLetter]:
        """Dead letters (and, if asked, dropped jobs from the table), newest first."""
        letters = self._look(limit, LOOK_SECONDS)
        try:
            found = [letter.to_dead_letter() for letter in letters]
        finally:
            self._let_go([letter.receipt for letter in letters])
        if include_dropped:
            dropped = self._table.query(
                "dropped", index=DROPPED_INDEX, newest_first=True, limit=limit
            )
            found += [
                items.dead_letter(item, state="dropped", reason=_reason(item)) for item in dropped
            ]
        found.sort(key=lambda letter: letter.finished_at or 0.0, reverse=True)
        return found[:limit]

    def requeue(
        self, *, ids: list[int] | None, reason: str | None, everything: bool, send: Send
    ) -> int:
        """Put matching dead letters back on the main queue, round after round until a round
        finds none (see the module doc). Returns how many were requeued."""
        wanted = set(ids or [])
        total = 0
        for _ in range(MAX_REQUEUE_ROUNDS):
            letters = self._look(10_000, REQUEUE_SECONDS)
            chosen = [
                letter
                for letter in letters
                if letter.job is not None
                and _matches(letter.to_dead_letter(), wanted, reason, everything)
            ]
            try:
                for letter in chosen:
                    total += self._requeue_one(letter, send)
            finally:
                self._let_go([letter.receipt for letter in letters if letter not in chosen])
            if not chosen:
                break
        return total

    def _requeue_one(self, letter: _Letter, send: Send) -> int:
        """The job's item back to queued (attempts 0), a new ticket, the dead copy deleted."""
        assert letter.job is not None
        job, now = letter.job, time.time()
        requeues = int(letter.item.get("requeues") or 0) + 1
        expr = Expr().set("state", "queued").set("attempts", 0).set("requeues", requeues)
        expr.set("expires", int(now + items.UNFINISHED_TTL))
        expr.remove("not_before", "finished", "owner", "dl")
        for name, value in items.job_fields(job).items():
            expr.set_default(name, value)
        expr.set_default("created", now)
        condition = f"{expr.missing(PK)} OR {expr.one_of('state', 'dead', 'queued', 'running')}"
        if not self._table.update(
            job_pk(job.key), items.JOB_SK, expr, condition, what="requeue"
        ).ok:
            self._delete(letter.receipt)  # finished meanwhile: the copy is stale
            return 0
        # A new deduplication id: SQS would drop a repeat of the first within 5 minutes.
        send(self._queue_url, [(job, f"{job.key}#requeue#{requeues}")])
        self._delete(letter.receipt)
        return 1

    def _look(self, limit: int, seconds: int) -> list[_Letter]:
        """Receive up to ``limit`` dead letters, each joined with its item. Copies of finished
        jobs, and second copies of one job, are deleted on the way."""
        messages: list[dict[str, Any]] = []
        # As many as SQS says are there: no long poll ends the reading on an empty answer.
        limit = min(limit, self._visible())
        while len(messages) < limit:
            receive = partial(
                self._sqs.receive_message,
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, limit - len(messages)),
                WaitTimeSeconds=1,
                VisibilityTimeout=seconds,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "MessageGroupId"],
            )
            response = calling("reading dead letters", receive)
            batch = response.get("Messages") or []
            if not batch:
                break
            messages += batch
        jobs = [items.from_body(str(m.get("Body", ""))) for m in messages]
        keys = sorted({(job_pk(job.key), items.JOB_SK) for job in jobs if job is not None})
        found = self._table.get_many(keys) if keys else {}
        letters: list[_Letter] = []
        seen: set[str] = set()
        for message, job in zip(messages, jobs, strict=True):
            if job is None:
                letters.append(_Letter(message, None, {}))
                continue
            item = found.get(job_pk(job.key)) or items.item_for(job)
            if item.get("state") in ("done", "dropped") or job.key in seen:
                self._delete(str(message["ReceiptHandle"]))
                continue
            seen.add(job.key)
            letters.append(_Letter(message, job, item))
        return letters

    def _delete(self, receipt: str) -> None:
        calling(
            "delete dead letter",
            lambda: self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt),
        )

    def _let_go(self, receipts: list[str]) -> None:
        """Make dead letters visible again at once."""
        for start in range(0, len(receipts), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                for i, receipt in enumerate(receipts[start : start + 10])
            ]
            release = partial(
                self._sqs.change_message_visibility_batch, QueueUrl=self.url, Entries=entries
            )
            calling("releasing dead letters", release)


def _reason(item: Item) -> str | None:
    return _text(item.get("last_error"))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _matches(letter: DeadLetter, ids: set[int], reason: str | None, everything: bool) -> bool:
    if ids and letter.id not in ids:
        return False
    if reason and reason not in (letter.reason or ""):
        return False
    return bool(ids or reason or everything)
