"""What monitoring reads from the SQS backend: message counts, a job's state, a write check.

SQS counts messages, not jobs: visible ones are queued, in-flight ones held by a process
(running or waiting), dead letters are in the dead-letter queue; finished jobs are not counted,
and the oldest message's age is CloudWatch's ``ApproximateAgeOfOldestMessage``. (``pages`` and
``workers``, the rest of ``bridge.queue.Stats``, are the reads of ``SqsPages`` and
``SqsHousekeeping``.)
"""

from __future__ import annotations

import time
from typing import Any

from bridge.errors import QueueError
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import calling, describe, error_code
from bridge.queue.sqs.base import SqsBase
from bridge.queue.sqs.table import job_pk

_COUNTS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


class SqsStats(SqsBase):
    """Counts, one job's state and the write check, for ``bridge.queue.Stats``."""

    def state_of(self, key: str) -> str | None:
        """The state of the job for an event key (queued, running, done, dropped, dead)."""
        item = self.table.get(job_pk(key), items.JOB_SK)
        return None if item is None else str(item.get("state"))

    def stats(self, *, now: float) -> dict[str, Any]:
        """Messages by where they are (see the module doc: finished jobs are not counted)."""
        counts = self._counts(self.url)
        dead = self.dead.count()
        return {
            "queued": counts["ApproximateNumberOfMessages"]
            + counts["ApproximateNumberOfMessagesDelayed"],
            "retrying": 0,
            "running": counts["ApproximateNumberOfMessagesNotVisible"],
            "done": 0,
            "dropped": 0,
            "dead": dead,
            "oldest_age": 0.0,
            "pages": {},
        }

    def _counts(self, url: str) -> dict[str, int]:
        response = calling(
            "queue stats",
            lambda: self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=_COUNTS),
        )
        attributes = response.get("Attributes") or {}
        return {name: int(attributes.get(name) or 0) for name in _COUNTS}

    def check_writable(self, *, timeout: float) -> None:
        """Write the table's health item and read the queue's attributes, each within
        ``timeout`` seconds; raise ``QueueError`` if either fails."""
        try:
            self._clients.quick("dynamodb", timeout).put_item(
                TableName=self.table.name,
                Item={"pk": {"S": "health"}, "sk": {"S": "check"}, "at": {"N": repr(time.time())}},
            )
            self._clients.quick("sqs", timeout).get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["QueueArn"]
            )
        except Exception as exc:  # noqa: BLE001 - any failure means: not ready
            raise QueueError(f"queue check failed: {error_code(exc)}: {describe(exc)}") from exc
