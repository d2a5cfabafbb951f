"""Pure conversions between the queue's values and the SQS backend's table items and messages.

See bridge/queue/sqs/table.py for the table's shape and bridge/queue/sqs/queue.py for how they are
used.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from bridge.messenger.thread_control import ThreadState
from bridge.queue import DeadLetter, Job, NewJob, PageState, Worker
from bridge.queue.sqs.aws import job_id
from bridge.queue.sqs.table import PK, SK, Item, Value, job_pk, thread_pk

JOB_SK = "job"
THREAD_SK = "thread"
PAGES_PK = "pages"
WORKERS_PK = "workers"

DAY = 24 * 3600
# Unfinished jobs outlive their SQS message (a queue keeps messages at most 14 days).
UNFINISHED_TTL = 15 * DAY
# Finished jobs keep deduplicating redeliveries of their event for a week (as the SQLite
# backend keeps them until its hourly purge); dead letters as long as the dead-letter queue.
DONE_TTL = 7 * DAY
DEAD_TTL = 15 * DAY
THREAD_TTL = 8 * DAY  # SQLite forgets threads unchanged for a week
WORKER_TTL = DAY

# The SQS message body: what a process needs to run the job if its item is gone.
_BODY_FIELDS = ("key", "page", "conversation", "order_ts", "payload", "delivery_id")


def to_body(job: NewJob) -> str:
    return json.dumps({"v": 1, **asdict(job)}, ensure_ascii=False, separators=(",", ":"))


def from_body(body: str) -> NewJob | None:
    """The job a message carries, or None if the body is not one of ours."""
    try:
        data = json.loads(body)
        return NewJob(
            key=str(data["key"]),
            page=str(data["page"]),
            conversation=str(data["conversation"]),
            order_ts=int(data["order_ts"]),
            payload=str(data["payload"]),
            delivery_id=str(data.get("delivery_id", "")),
        )
    except (ValueError, KeyError, TypeError):
        return None


def new_job_item(job: NewJob, now: float) -> dict[str, Value]:
    """A job's item as the webhook first writes it: queued, never tried."""
    return {
        PK: job_pk(job.key),
        SK: JOB_SK,
        **job_fields(job),
        "state": "queued",
        "attempts": 0,
        "created": now,
        "expires": int(now + UNFINISHED_TTL),
    }


def job_fields(job: NewJob) -> dict[str, Value]:
    """What an item holds about the event itself (the same in the message body)."""
    return {
        "key": job.key,
        "jid": job_id(job.key),
        "page": job.page,
        "conversation": job.conversation,
        "order_ts": job.order_ts,
        "payload": job.payload,
        "delivery_id": job.delivery_id,
    }


def job_from_item(item: Item, owner: str) -> Job:
    """A claimed job from its item (as the claim left it)."""
    reply = item.get("reply")
    return Job(
        id=int(item["jid"]),
        key=str(item["key"]),
        page=str(item["page"]),
        conversation=str(item["conversation"]),
        order_ts=int(item["order_ts"]),
        payload=str(item["payload"]),
        attempts=int(item.get("attempts") or 0),
        owner=owner,
        reply=None if reply is None else json.loads(str(reply)),
        sent=int(item.get("sent") or 0),
        last_error=_text(item.get("last_error")),
        delivery_id=str(item.get("delivery_id") or ""),
    )


def dead_letter(item: Item, *, state: str, reason: str | None) -> DeadLetter:
    finished = item.get("finished")
    return DeadLetter(
        id=int(item["jid"]),
        key=str(item["key"]),
        page=str(item["page"]),
        conversation=str(item["conversation"]),
        state=state,
        attempts=int(item.get("attempts") or 0),
        reason=reason,
        finished_at=None if finished is None else float(finished),
        payload=str(item["payload"]),
    )


def item_for(job: NewJob) -> Item:
    """An item standing in for a job whose item is gone (only its message is left)."""
    return {**job_fields(job), "attempts": 0}


def thread_from_item(item: Item | None, page: str, user: str) -> ThreadState:
    if item is None:
        return ThreadState(page, user)
    held_until = item.get("held_until")
    return ThreadState(
        page=page,
        user=user,
        last_inbound=int(item.get("last_inbound") or 0),
        holder=_text(item.get("holder")),
        held_from=int(item.get("held_from") or 0),
        held_until=None if held_until is None else int(held_until),
        human_seen=int(item.get("human_seen") or 0),
        standby_seen=int(item.get("standby_seen") or 0),
        reason=_text(item.get("reason")),
    )


def thread_item(state: ThreadState, *, version: int, now: float) -> dict[str, Value]:
    return {
        PK: thread_pk(state.page, state.user),
        SK: THREAD_SK,
        "page": state.page,
        "user": state.user,
        "last_inbound": state.last_inbound,
        "holder": state.holder,
        "held_from": state.held_from,
        "held_until": state.held_until,
        "human_seen": state.human_seen,
        "standby_seen": state.standby_seen,
        "reason": state.reason,
        "version": version,
        "updated": now,
        "expires": int(now + THREAD_TTL),
    }


def page_from_item(item: Item) -> PageState:
    since = item.get("since")
    return PageState(
        page=str(item[SK]),
        blocked_until=float(item.get("blocked_until") or 0.0),
        paused=bool(item.get("paused")),
        reason=_text(item.get("reason")),
        since=None if since is None else float(since),
    )


def worker_item(worker: Worker) -> dict[str, Value]:
    return {
        PK: WORKERS_PK,
        SK: worker.process,
        "host": worker.host,
        "pid": worker.pid,
        "heartbeat": worker.heartbeat,
        "expires": int(worker.heartbeat + WORKER_TTL),
    }


def worker_from_item(item: Item) -> Worker:
    return Worker(
        process=str(item[SK]),
        host=str(item.get("host") or ""),
        pid=int(item.get("pid") or 0),
        heartbeat=float(item.get("heartbeat") or 0.0),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
