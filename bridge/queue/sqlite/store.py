"""The embedded queue: one SQLite database in WAL mode, shared by every process of a container.

A job is committed before the webhook answers 200, so it survives ``kill -9`` of any process.
The ``key`` (the event's mid) is unique, which absorbs Meta's redeliveries. A conversation's
jobs are claimed strictly one at a time, oldest first by Messenger timestamp then arrival;
different conversations are claimed concurrently. Every change to a claimed job names its
``owner``, so a worker taken for gone cannot touch a job another worker took over (and
``still_holds`` tells a turn before each send). Processes report a heartbeat; the running jobs
of a process known gone (``release_stale``: delivery's housekeeping judges who is, see
``bridge.delivery.liveness``) go back to the queue, ahead of their conversation's later jobs.
The webhook's put may claim new jobs for idle delivery threads, and an ack the next job, in the
same transaction (``put_and_claim``, ``ack_and_claim``). The ``threads``
table holds each (Page, person)'s ``bridge.messenger.thread_control.ThreadState``, changed by the
pure ``bridge.messenger.thread_control.apply`` inside the same write transactions, and the
``notification_tokens`` table the notification-messages tokens of opt-ins (notifications.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from bridge.messenger.events import TokenUpdate
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue.records import Claim, Job, Message, NewJob, PutResult
from bridge.queue.sqlite.admin import SqliteAdmin
from bridge.queue.sqlite.conversations import CLAIMABLE, CLAIMABLE_IN, settle
from bridge.queue.sqlite.housekeeping import SqliteHousekeeping
from bridge.queue.sqlite.notifications import SqliteNotifications, record_tokens
from bridge.queue.sqlite.outbox import SqliteOutbox
from bridge.queue.sqlite.pages import SqlitePages
from bridge.queue.sqlite.stats import SqliteStats
from bridge.queue.sqlite.threads import SqliteThreads, record_threads

_JOB_COLUMNS = (
    "id, key, page, conversation, order_ts, payload, attempts, reply, sent, last_error, delivery"
)


class SqliteQueue(
    SqliteThreads,
    SqliteNotifications,
    SqlitePages,
    SqliteHousekeeping,
    SqliteStats,
    SqliteAdmin,
    SqliteOutbox,
):
    """Durable FIFO-per-conversation queue on one SQLite file; safe across threads and processes.

    Every role of ``bridge.queue.Queue``: the jobs here, the other roles in their parts (all on
    one ``bridge.queue.sqlite.database.Database``)."""

    # --- the webhook's side ----------------------------------------------------------------

    def put(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
    ) -> PutResult:
        """Commit new jobs and what the delivery said about their threads and tokens, in one
        transaction; a key already present counts as a duplicate."""
        if not jobs and not signals and not tokens:
            return PutResult(0, 0)
        return self._transaction("enqueue", lambda c: _insert(c, jobs, now, signals, tokens)[0])

    def put_and_claim(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
        claim: Claim,
        limit: int,
    ) -> tuple[PutResult, list[Job]]:
        """``put``, and in the same transaction claim up to ``limit`` of the new jobs that are
        the claimable heads of their conversations (for idle delivery threads)."""
        if not jobs and not signals and not tokens:
            return PutResult(0, 0), []

        def insert_and_take(connection: sqlite3.Connection) -> tuple[PutResult, list[Job]]:
            result, touched = _insert(connection, jobs, now, signals, tokens)
            taken: list[Job] = []
            for conversation in list(touched)[:limit]:
                row = connection.execute(
                    CLAIMABLE_IN, {"now": now, "conversation": conversation}
                ).fetchone()
                if row is not None:
                    taken.append(_take(connection, row[0], claim, now))
            return result, taken

        return self._transaction("enqueue", insert_and_take)

    # --- delivery's side -------------------------------------------------------------------

    def claim(self, *, owner: str, process: str, now: float, lease: float) -> Job | None:
        """Take the oldest claimable job for ``lease`` seconds, or None if there is none."""
        claim = Claim(owner, process, lease)
        return self._transaction("claim", lambda c: _take_next(c, claim, now))

    def still_holds(self, job: Job) -> bool:
        """Whether this owner still holds ``job`` (another process may have taken it over)."""
        return bool(
            self._read(
                "SELECT 1 FROM jobs WHERE id = ? AND owner = ? AND state = 'running'",
                (job.id, job.owner),
            )
        )

    def ack_and_claim(
        self, job: Job, *, now: float, sent: int, claim: Claim
    ) -> tuple[bool, Job | None]:
        """``ack``, then take the oldest claimable job, in one transaction."""
        ack = _running_change(job, _ACK, {"now": now, "sent": sent}, "ack")

        def ack_and_take(connection: sqlite3.Connection) -> tuple[bool, Job | None]:
            return ack(connection), _take_next(connection, claim, now)

        return self._transaction("ack", ack_and_take)

    def _finish_running(
        self, job: Job, assignments: str, params: dict[str, object], *, what: str = "update"
    ) -> bool:
        """Change a job this owner still holds; False if its lease was lost meanwhile.
        ``what`` names a change of state (``ack``, ``retry``…), after which its conversation's
        row follows."""
        return self._transaction(what, _running_change(job, assignments, params, what))

    def save_reply(self, job: Job, messages: list[Message]) -> bool:
        """Store the bot's rendered reply so a retry never asks the bot again."""
        return self.store_reply(job, messages)()

    def store_reply(self, job: Job, messages: list[Message]) -> Callable[[], bool]:
        """``save_reply`` without waiting: the returned function waits for the commit (and
        tells whether the lease still held); changes after it are committed after it."""
        reply = json.dumps(messages, ensure_ascii=False)
        change = _running_change(job, "reply = :reply", {"reply": reply}, "update")
        return self._writer.submit("update", change)

    def mark_sent(self, job: Job, count: int) -> bool:
        """Record that the first ``count`` reply messages reached the Graph API (the ledger)."""
        return self._finish_running(job, "sent = :count", {"count": count})

    def ack(self, job: Job, *, now: float, sent: int | None = None) -> bool:
        """The job is done: its whole reply was sent (``sent`` messages, for the ledger)."""
        return self._finish_running(job, _ACK, {"now": now, "sent": sent}, what="ack")

    def retry(self, job: Job, *, at: float, error: str, refund: bool = False) -> bool:
        """Give the job back, claimable from ``at``; it stays at its conversation's head.

        ``refund``: the attempt does not count (the Page was throttled or paused, or the
        process is shutting down), so waiting never exhausts a job.
        """
        return self._finish_running(
            job,
            "state = 'queued', owner = NULL, process = NULL, not_before = :at,"
            " lease_until = 0, last_error = :error, attempts = attempts - :refund",
            {"at": at, "error": error, "refund": 1 if refund else 0},
            what="retry",
        )

    def drop(self, job: Job, *, reason: str, now: float) -> bool:
        """End the job unanswered on purpose (too old; the person cannot be messaged)."""
        return self._finish_running(
            job,
            "state = 'dropped', owner = NULL, process = NULL, finished_at = :now,"
            " last_error = :reason",
            {"now": now, "reason": reason},
            what="drop",
        )

    def bury(self, job: Job, *, reason: str, now: float) -> bool:
        """Give up on the job: it becomes a dead letter with its reason."""
        return self._finish_running(
            job,
            "state = 'dead', owner = NULL, process = NULL, finished_at = :now,"
            " last_error = :reason",
            {"now": now, "reason": reason},
            what="bury",
        )


_ACK = (
    "state = 'done', owner = NULL, process = NULL, finished_at = :now, last_error = NULL,"
    " sent = COALESCE(:sent, sent)"
)


def _running_change(
    job: Job, assignments: str, params: dict[str, object], what: str
) -> Callable[[sqlite3.Connection], bool]:
    """The change of a job this owner still holds (False: its lease was lost); a change of
    state (``what`` other than ``update``) settles its conversation's row too."""
    sql = f"UPDATE jobs SET {assignments} WHERE id = :id AND owner = :owner AND state = 'running'"
    values = {**params, "id": job.id, "owner": job.owner}

    def change(connection: sqlite3.Connection) -> bool:
        if connection.execute(sql, values).rowcount != 1:
            return False
        if what != "update":
            settle(connection, {job.conversation: job.page})
        return True

    return change


def _insert(
    connection: sqlite3.Connection,
    jobs: list[NewJob],
    now: float,
    signals: Sequence[ThreadSignal],
    tokens: Sequence[TokenUpdate] = (),
) -> tuple[PutResult, dict[str, str]]:
    """Insert the new jobs (a known key is a duplicate) and record the signals and tokens;
    returns the counts and the conversations (→ Page) that got a new job."""
    added = 0
    touched: dict[str, str] = {}
    for job in jobs:
        if connection.execute(
            "INSERT OR IGNORE INTO jobs (key, page, conversation, order_ts, payload,"
            " created_at, delivery) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job.key, job.page, job.conversation, job.order_ts, job.payload, now, job.delivery_id),
        ).rowcount:
            added += 1
            touched[job.conversation] = job.page
    # Each new job settled its conversation's row itself (the schema's jobs_new_head trigger).
    if signals:
        record_threads(connection, signals, now)
    if tokens:
        record_tokens(connection, tokens, now)
    return PutResult(added, len(jobs) - added), touched


def _take_next(connection: sqlite3.Connection, claim: Claim, now: float) -> Job | None:
    """Claim the oldest claimable job, if any."""
    row = connection.execute(CLAIMABLE, {"now": now}).fetchone()
    return None if row is None else _take(connection, row[0], claim, now)


def _take(connection: sqlite3.Connection, job_id: int, claim: Claim, now: float) -> Job:
    """Claim the claimable job ``job_id`` for ``claim``."""
    claimed: tuple[Any, ...] = connection.execute(
        "UPDATE jobs SET state = 'running', owner = ?, process = ?, lease_until = ?,"
        f" attempts = attempts + 1 WHERE id = ? RETURNING {_JOB_COLUMNS}",
        (claim.owner, claim.process, now + claim.lease, job_id),
    ).fetchone()
    settle(connection, {claimed[3]: claimed[2]})
    return _to_job(claimed, claim.owner)


def _to_job(row: tuple[Any, ...], owner: str) -> Job:
    """The ``Job`` of a claimed row (``_JOB_COLUMNS``, in order)."""
    job_id, key, page, conversation, order_ts, payload, attempts, reply, sent, error, delivery = row
    return Job(
        id=job_id,
        key=key,
        page=page,
        conversation=conversation,
        order_ts=order_ts,
        payload=payload,
        attempts=attempts,
        owner=owner,
        reply=None if reply is None else json.loads(reply),
        sent=sent,
        last_error=error,
        delivery_id=delivery,
    )
