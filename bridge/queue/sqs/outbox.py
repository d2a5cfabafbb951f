"""Outbound messages in the SQS backend: the read of one by its key (its job's item), and each
part's Graph message id written with the send ledger, in the same conditional update: one
attribute per part (``mid_1``, ``mid_2``...), so no write reads the ones before it."""

from __future__ import annotations

from bridge.queue.records import Job, OutboundRecord
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.running import SqsRunning
from bridge.queue.sqs.table import Expr, Item, job_pk

_MID = "mid_"


class SqsOutbox(SqsRunning):
    """``bridge.queue.OutboundReads`` and ``OutboundLedger`` on the job items."""

    def outbound(self, key: str) -> OutboundRecord | None:
        """The job of ``key``: state, reason, parts sent, their message ids, payload."""
        item = self.table.get(job_pk(key), items.JOB_SK)
        if item is None:
            return None
        sent = int(item.get("sent") or 0)
        reason = item.get("last_error")
        return OutboundRecord(
            key=str(item["key"]),
            state=str(item.get("state") or "queued"),
            reason=None if reason is None else str(reason),
            sent=sent,
            message_ids=_message_ids(item, sent),
            payload=str(item["payload"]),
        )

    def record_sent(self, job: Job, count: int, message_id: str | None) -> bool:
        """The first ``count`` parts reached Graph, the last as ``message_id`` (None: Graph
        gave none); False if this owner lost the job's lease."""
        expr = Expr().set("sent", count)
        if message_id is not None:
            expr.set(f"{_MID}{count}", message_id)
        return self._finish(job, expr, what="ledger")


def _message_ids(item: Item, sent: int) -> tuple[str, ...]:
    found = (item.get(f"{_MID}{index}") for index in range(1, sent + 1))
    return tuple(str(mid) for mid in found if mid is not None)
