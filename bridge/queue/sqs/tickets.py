"""Sending job tickets: SendMessageBatch, 10 messages and under 200 KB at a time.

A ticket's MessageGroupId is its conversation (SQS hands a person's messages out one at a
time, in order) and its MessageDeduplicationId the given id (the mid; another for a requeue),
each made acceptable to SQS by ``sqs_id``.
"""

from __future__ import annotations

from typing import Any

from bridge.errors import QueueError
from bridge.queue.records import NewJob
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import calling, sqs_id

SEND_BATCH_BYTES = 200_000  # below SQS's 256 KiB per batch


def send_tickets(sqs: Any, url: str, messages: list[tuple[NewJob, str]]) -> None:
    """Send a ticket per job (``str``: its deduplication id); raise ``QueueError`` if any
    is refused."""
    batch: list[dict[str, str]] = []
    size = 0
    for job, dedupe in messages:
        body = items.to_body(job)
        if batch and (len(batch) == 10 or size + len(body) > SEND_BATCH_BYTES):
            _send_batch(sqs, url, batch)
            batch, size = [], 0
        batch.append(
            {
                "Id": str(len(batch)),
                "MessageBody": body,
                "MessageGroupId": sqs_id(job.conversation),
                "MessageDeduplicationId": sqs_id(dedupe),
            }
        )
        size += len(body)
    if batch:
        _send_batch(sqs, url, batch)


def _send_batch(sqs: Any, url: str, entries: list[dict[str, str]]) -> None:
    response = calling("enqueue", lambda: sqs.send_message_batch(QueueUrl=url, Entries=entries))
    failed = response.get("Failed") or []
    if failed:
        first = failed[0]
        raise QueueError(
            f"enqueue failed for {len(failed)} of {len(entries)} messages:"
            f" {first.get('Code')}: {first.get('Message')}"
        )
