"""The embedded queue: one SQLite database in WAL mode, shared by every process of a container.

A job is committed before the webhook answers 200, so it survives ``kill -9`` of any process.
The ``key`` (the event's mid) is unique, which absorbs Meta's redeliveries. A conversation's
jobs are claimed strictly one at a time, oldest first by Messenger timestamp then arrival;
different conversations are claimed concurrently. Every change to a claimed job names its
``owner``, so a worker whose lease ran out cannot touch a job another worker took over.
Processes report a heartbeat; the running jobs of a process that stopped reporting (or whose
lease ran out) go back to the queue, ahead of their conversation's later jobs. The ``threads``
table holds each (Page, person)'s ``bridge.messenger.thread_control.ThreadState``, changed by the
pure ``bridge.messenger.thread_control.apply`` inside the same write transactions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any, TypeVar

from bridge.errors import QueueError
from bridge.messenger.thread_control import ThreadSignal, ThreadState, apply_all
from bridge.queue import DeadLetter, Job, Message, NewJob, PageState, PutResult, Worker
from bridge.queue.sqlite.connections import PerThread, while_locked
from bridge.queue.sqlite.writer import Writer

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    page         TEXT NOT NULL DEFAULT '',
    conversation TEXT NOT NULL,
    order_ts     INTEGER NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued',
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   REAL NOT NULL DEFAULT 0,
    owner        TEXT,
    process      TEXT,
    lease_until  REAL NOT NULL DEFAULT 0,
    reply        TEXT,
    sent         INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   REAL NOT NULL,
    finished_at  REAL,
    delivery     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_pending ON jobs (state, order_ts, id);
CREATE INDEX IF NOT EXISTS jobs_conversation ON jobs (conversation, state, order_ts, id);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS pages (
    page          TEXT PRIMARY KEY,
    blocked_until REAL NOT NULL DEFAULT 0,
    paused        INTEGER NOT NULL DEFAULT 0,
    reason        TEXT,
    since         REAL
);
-- One row per conversation with unfinished jobs, derived from them (see _SETTLE): whether one
-- of its jobs is running, and its head, the oldest queued job. Claiming reads the heads of
-- idle conversations in order from an index, instead of searching all queued jobs.
CREATE TABLE IF NOT EXISTS conversations (
    conversation TEXT PRIMARY KEY,
    page         TEXT NOT NULL,
    busy         INTEGER NOT NULL,
    head_ts      INTEGER,
    head_id      INTEGER
);
CREATE INDEX IF NOT EXISTS conversations_heads ON conversations (busy, head_ts, head_id);
CREATE TABLE IF NOT EXISTS workers (
    process   TEXT PRIMARY KEY,
    host      TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    heartbeat REAL NOT NULL
);
-- One row per (Page, person): bridge.messenger.thread_control.ThreadState (times in epoch ms,
-- Meta's clock).
CREATE TABLE IF NOT EXISTS threads (
    page         TEXT NOT NULL,
    user         TEXT NOT NULL,
    last_inbound INTEGER NOT NULL DEFAULT 0,
    holder       TEXT,
    held_from    INTEGER NOT NULL DEFAULT 0,
    held_until   INTEGER,
    human_seen   INTEGER NOT NULL DEFAULT 0,
    standby_seen INTEGER NOT NULL DEFAULT 0,
    reason       TEXT,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (page, user)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS threads_updated ON threads (updated_at);
"""

# Columns added after the first release, for databases created before them.
_ADDED_COLUMNS = {
    "page": "TEXT NOT NULL DEFAULT ''",
    "process": "TEXT",
    "delivery": "TEXT NOT NULL DEFAULT ''",  # the webhook POST's delivery id, for logs
}

_JOB_COLUMNS = (
    "id, key, page, conversation, order_ts, payload, attempts, reply, sent, last_error, delivery"
)

# Only the head of a conversation (its oldest queued job) may be claimed, and only while no job
# of that conversation is running and its Page is neither throttled nor paused.
_CLAIMABLE = """
SELECT c.head_id, c.conversation FROM conversations AS c JOIN jobs AS j ON j.id = c.head_id
WHERE c.busy = 0 AND c.head_ts IS NOT NULL AND j.not_before <= :now
  AND NOT EXISTS (
      SELECT 1 FROM pages AS p
      WHERE p.page = c.page AND (p.paused = 1 OR p.blocked_until > :now))
ORDER BY c.head_ts, c.head_id
LIMIT 1
"""

# Bring a conversation's row in line with its jobs after any of them changed state.
_SETTLE = """
INSERT INTO conversations (conversation, page, busy, head_ts, head_id)
SELECT :conversation, :page,
       EXISTS (SELECT 1 FROM jobs WHERE conversation = :conversation AND state = 'running'),
       head.order_ts, head.id
FROM (SELECT 1) LEFT JOIN (
    SELECT order_ts, id FROM jobs WHERE conversation = :conversation AND state = 'queued'
    ORDER BY order_ts, id LIMIT 1) AS head ON true
WHERE true  -- without it SQLite would read the ON CONFLICT below as a join constraint
ON CONFLICT (conversation) DO UPDATE
SET busy = excluded.busy, head_ts = excluded.head_ts, head_id = excluded.head_id
"""
_FORGET_IDLE = "DELETE FROM conversations WHERE conversation = ? AND busy = 0 AND head_ts IS NULL"


_THREAD_COLUMNS = (
    "page, user, last_inbound, holder, held_from, held_until, human_seen, standby_seen, reason"
)
_SAVE_THREAD = (
    f"INSERT INTO threads ({_THREAD_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (page, user) DO UPDATE SET last_inbound = excluded.last_inbound,"
    " holder = excluded.holder, held_from = excluded.held_from,"
    " held_until = excluded.held_until, human_seen = excluded.human_seen,"
    " standby_seen = excluded.standby_seen, reason = excluded.reason,"
    " updated_at = excluded.updated_at"
)


def _record_threads(
    connection: sqlite3.Connection, signals: Sequence[ThreadSignal], now: float
) -> None:
    """Apply ``signals`` to their threads' rows (read,
    ``bridge.messenger.thread_control.apply``, write)."""
    by_thread: dict[tuple[str, str], list[ThreadSignal]] = {}
    for signal in signals:
        by_thread.setdefault((signal.page, signal.user), []).append(signal)
    for (page, user), batch in by_thread.items():
        row = connection.execute(
            f"SELECT {_THREAD_COLUMNS} FROM threads WHERE page = ? AND user = ?", (page, user)
        ).fetchone()
        state = ThreadState(*row) if row is not None else ThreadState(page, user)
        connection.execute(_SAVE_THREAD, (*astuple(apply_all(state, batch)), now))


def _settle(connection: sqlite3.Connection, conversations: dict[str, str]) -> None:
    """Recompute the rows of ``conversations`` (conversation → Page) from their jobs."""
    for conversation, page in conversations.items():
        connection.execute(_SETTLE, {"conversation": conversation, "page": page})
        connection.execute(_FORGET_IDLE, (conversation,))


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


def _in_transaction(
    connection: sqlite3.Connection, fill: Callable[[sqlite3.Connection], None]
) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        fill(connection)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _fill_conversations(connection: sqlite3.Connection) -> None:
    """The conversations rows of the unfinished jobs."""
    rows = connection.execute(
        "SELECT conversation, MAX(page) FROM jobs"
        " WHERE state IN ('queued', 'running') GROUP BY conversation"
    ).fetchall()
    _settle(connection, dict(rows))


def _fill_threads(connection: sqlite3.Connection) -> None:
    """Each conversation's latest event, from its jobs, starts its 24-hour window (nobody
    held a thread then)."""
    connection.execute(
        "INSERT OR IGNORE INTO threads (page, user, last_inbound, updated_at)"
        " SELECT page, substr(conversation, instr(conversation, ':') + 1),"
        " MAX(order_ts), MAX(created_at) FROM jobs"
        " WHERE page != '' AND instr(conversation, ':') > 0 GROUP BY conversation"
    )


class SqliteQueue:
    """Durable FIFO-per-conversation queue on one SQLite file; safe across threads and processes."""

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._connections = PerThread(self._open)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = Writer(self._open, path.with_name(f"{path.name}-lock"))
        while_locked(self._create_schema, path, busy_timeout)

    def _create_schema(self) -> None:
        # Its own connection, closed at once: a process that only creates the queue (the
        # server's master before it forks its workers) keeps no connection open.
        connection = self._open()
        try:
            had_jobs = _has_table(connection, "jobs")
            had_conversations = _has_table(connection, "conversations")
            had_threads = _has_table(connection, "threads")
            connection.executescript(SCHEMA)
            present = {row[1] for row in connection.execute("PRAGMA table_info(jobs)")}
            for column, definition in _ADDED_COLUMNS.items():
                if column not in present:
                    connection.execute(f"ALTER TABLE jobs ADD COLUMN {column} {definition}")
            # A database from before a derived table: fill it once from the jobs (both fills
            # are idempotent, should two processes upgrade the same file at once).
            if had_jobs and not had_conversations:
                _in_transaction(connection, _fill_conversations)
            if had_jobs and not had_threads:
                _in_transaction(connection, _fill_threads)
        finally:
            connection.close()

    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise QueueError(f"cannot open queue database {self.path}: {exc}") from exc
        while_locked(
            lambda: connection.execute("PRAGMA journal_mode=WAL"), self.path, self._busy_timeout
        )
        # FULL: a committed job survives power loss too, not only a killed process.
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, for reads (WAL readers never wait for the writer)."""
        return self._connections.get()

    def _transaction(self, what: str, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` in a write transaction (shared with this process's other
        writers, see ``bridge.queue.sqlite.writer``); SQLite errors become ``QueueError``."""
        return self._writer.run(what, operation)

    def _write(self, sql: str, params: dict[str, object] | list[object]) -> int:
        return self._transaction("queue write", lambda c: c.execute(sql, params).rowcount)

    def _read(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[Any]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise QueueError(f"queue read failed: {exc}") from exc

    # --- the webhook's side ----------------------------------------------------------------

    def put(
        self, jobs: list[NewJob], *, now: float, signals: Sequence[ThreadSignal] = ()
    ) -> PutResult:
        """Commit new jobs and what the delivery said about their threads, in one transaction;
        a key already present counts as a duplicate."""
        if not jobs and not signals:
            return PutResult(0, 0)
        rows = [
            (job.key, job.page, job.conversation, job.order_ts, job.payload, now, job.delivery_id)
            for job in jobs
        ]

        def insert(connection: sqlite3.Connection) -> int:
            added = 0
            touched: dict[str, str] = {}
            for row in rows:
                if connection.execute(
                    "INSERT OR IGNORE INTO jobs (key, page, conversation, order_ts, payload,"
                    " created_at, delivery) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                ).rowcount:
                    added += 1
                    touched[row[2]] = row[1]
            _settle(connection, touched)
            if signals:
                _record_threads(connection, signals, now)
            return added

        added = self._transaction("enqueue", insert)
        return PutResult(added, len(jobs) - added)

    # --- threads -----------------------------------------------------------------------------

    def record_threads(self, signals: Sequence[ThreadSignal], *, now: float) -> None:
        """Apply ``signals`` to their threads (the worker's own: a pass, a refused send)."""
        if signals:
            self._transaction("threads", lambda c: _record_threads(c, signals, now))

    def thread(self, page: str, user: str) -> ThreadState | None:
        """What is known about the thread of ``user`` on ``page`` (None: nothing yet)."""
        rows = self._read(
            f"SELECT {_THREAD_COLUMNS} FROM threads WHERE page = ? AND user = ?", (page, user)
        )
        return ThreadState(*rows[0]) if rows else None

    # --- delivery's side -------------------------------------------------------------------

    def claim(self, *, owner: str, process: str, now: float, lease: float) -> Job | None:
        """Take the oldest claimable job for ``lease`` seconds, or None if there is none."""

        def take(connection: sqlite3.Connection) -> tuple[Any, ...] | None:
            row = connection.execute(_CLAIMABLE, {"now": now}).fetchone()
            if row is None:
                return None
            claimed: tuple[Any, ...] = connection.execute(
                "UPDATE jobs SET state = 'running', owner = ?, process = ?, lease_until = ?,"
                f" attempts = attempts + 1 WHERE id = ? RETURNING {_JOB_COLUMNS}",
                (owner, process, now + lease, row[0]),
            ).fetchone()
            _settle(connection, {claimed[3]: claimed[2]})
            return claimed

        claimed = self._transaction("claim", take)
        if claimed is None:
            return None
        (
            job_id,
            key,
            page,
            conversation,
            order_ts,
            payload,
            attempts,
            reply,
            sent,
            error,
            delivery,
        ) = claimed
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

    def _finish_running(
        self, job: Job, assignments: str, params: dict[str, object], *, what: str = "update"
    ) -> bool:
        """Change a job this owner still holds; False if its lease was lost meanwhile.
        ``what`` names a change of state (``ack``, ``retry``…), after which its conversation's
        row follows."""
        sql = (
            f"UPDATE jobs SET {assignments} WHERE id = :id AND owner = :owner AND state = 'running'"
        )
        values = {**params, "id": job.id, "owner": job.owner}

        def change(connection: sqlite3.Connection) -> bool:
            if connection.execute(sql, values).rowcount != 1:
                return False
            if what != "update":
                _settle(connection, {job.conversation: job.page})
            return True

        return self._transaction(what, change)

    def save_reply(self, job: Job, messages: list[Message]) -> bool:
        """Store the bot's rendered reply so a retry never asks the bot again."""
        return self._finish_running(
            job, "reply = :reply", {"reply": json.dumps(messages, ensure_ascii=False)}
        )

    def mark_sent(self, job: Job, count: int) -> bool:
        """Record that the first ``count`` reply messages reached the Graph API (the ledger)."""
        return self._finish_running(job, "sent = :count", {"count": count})

    def ack(self, job: Job, *, now: float, sent: int | None = None) -> bool:
        """The job is done: its whole reply was sent (``sent`` messages, for the ledger)."""
        return self._finish_running(
            job,
            "state = 'done', owner = NULL, process = NULL, finished_at = :now, last_error = NULL,"
            " sent = COALESCE(:sent, sent)",
            {"now": now, "sent": sent},
            what="ack",
        )

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

    # --- liveness ----------------------------------------------------------------------------

    def heartbeat(self, worker: Worker) -> None:
        """Record that ``worker.process`` is alive."""
        self._write(
            "INSERT INTO workers (process, host, pid, heartbeat) VALUES (:p, :h, :pid, :t)"
            " ON CONFLICT (process) DO UPDATE SET heartbeat = excluded.heartbeat",
            {"p": worker.process, "h": worker.host, "pid": worker.pid, "t": worker.heartbeat},
        )

    def workers(self) -> list[Worker]:
        """Every process that reported a heartbeat (and was not yet forgotten)."""
        rows = self._read("SELECT process, host, pid, heartbeat FROM workers ORDER BY process")
        return [Worker(*row) for row in rows]

    def release_stale(self, *, now: float, stale_after: float, dead: list[str]) -> int:
        """Requeue running jobs whose lease ran out, whose process stopped reporting, or whose
        process is known dead; forget those processes. Returns how many jobs were released."""

        def release(connection: sqlite3.Connection) -> int:
            stale = [
                row[0]
                for row in connection.execute(
                    "SELECT process FROM workers WHERE heartbeat < ?", (now - stale_after,)
                )
            ]
            gone = sorted(set(stale) | set(dead))
            marks = ",".join("?" * len(gone))
            released = connection.execute(
                "UPDATE jobs SET state = 'queued', owner = NULL, process = NULL, lease_until = 0,"
                " last_error = 'released: its worker stopped'"
                " WHERE state = 'running' AND (lease_until <= ? OR process IS NULL"
                f" OR process IN ({marks})) RETURNING conversation, page",
                (now, *gone),
            ).fetchall()
            _settle(connection, dict(released))
            if gone:
                connection.execute(f"DELETE FROM workers WHERE process IN ({marks})", gone)
            return len(released)

        return self._transaction("release", release)

    # --- Pages ---------------------------------------------------------------------------------

    def block_page(self, page: str, *, until: float, reason: str, now: float) -> None:
        """Hold every send to ``page`` until ``until`` (a throttle; never shortens one)."""
        self._write(
            "INSERT INTO pages (page, blocked_until, reason, since)"
            " VALUES (:page, :until, :reason, :now)"
            " ON CONFLICT (page) DO UPDATE SET blocked_until = MAX(blocked_until, :until),"
            " reason = :reason, since = :now",
            {"page": page, "until": until, "reason": reason, "now": now},
        )

    def pause_page(self, page: str, *, reason: str, now: float) -> bool:
        """Stop sending to ``page`` until resumed; True only for the call that paused it."""
        return (
            self._write(
                "INSERT INTO pages (page, paused, reason, since) VALUES (:page, 1, :reason, :now)"
                " ON CONFLICT (page) DO UPDATE SET paused = 1, reason = :reason, since = :now"
                " WHERE paused = 0",
                {"page": page, "reason": reason, "now": now},
            )
            == 1
        )

    def resume_page(self, page: str) -> bool:
        """Allow sending to ``page`` again; True only for the call that resumed it."""
        return (
            self._write(
                "UPDATE pages SET paused = 0 WHERE page = :page AND paused = 1", {"page": page}
            )
            == 1
        )

    def pages(self) -> list[PageState]:
        """Every Page that was ever throttled or paused, and its state."""
        rows = self._read(
            "SELECT page, blocked_until, paused, reason, since FROM pages ORDER BY page"
        )
        return [
            PageState(page, until, bool(paused), reason, since)
            for page, until, paused, reason, since in rows
        ]

    # --- inspection and repair -----------------------------------------------------------------

    def state_of(self, key: str) -> str | None:
        """The state of the job for an event key (queued, running, done, dropped, dead)."""
        rows = self._read("SELECT state FROM jobs WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def stats(self, *, now: float) -> dict[str, Any]:
        """Counts by state (queued split into ready and retrying), the oldest unfinished job's
        age in seconds, and unfinished jobs per Page."""
        counts = dict(self._read("SELECT state, COUNT(*) FROM jobs GROUP BY state"))
        retrying = self._read(
            "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND (not_before > ? OR attempts > 0)",
            (now,),
        )[0][0]
        oldest = self._read(
            "SELECT MIN(created_at) FROM jobs WHERE state IN ('queued', 'running')"
        )[0][0]
        per_page = dict(
            self._read(
                "SELECT page, COUNT(*) FROM jobs WHERE state IN ('queued', 'running') GROUP BY page"
            )
        )
        return {
            "queued": counts.get("queued", 0),
            "retrying": retrying,
            "running": counts.get("running", 0),
            "done": counts.get("done", 0),
            "dropped": counts.get("dropped", 0),
            "dead": counts.get("dead", 0),
            "oldest_age": 0.0 if oldest is None else max(0.0, now - oldest),
            "pages": per_page,
        }

    def check_writable(self, *, timeout: float) -> None:
        """Take the database's write lock and give it back (``BEGIN IMMEDIATE``, ``ROLLBACK``),
        waiting at most ``timeout`` seconds for it; raise ``QueueError`` if that fails."""
        try:
            connection = self._connection()
            connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
            finally:
                connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        except sqlite3.Error as exc:
            raise QueueError(f"queue write check failed: {exc}") from exc

    def dead_letters(self, *, include_dropped: bool = False, limit: int = 100) -> list[DeadLetter]:
        """Dead letters (and, if asked, dropped jobs), newest first."""
        states = "'dead', 'dropped'" if include_dropped else "'dead'"
        rows = self._read(
            "SELECT id, key, page, conversation, state, attempts, last_error, finished_at, payload"
            f" FROM jobs WHERE state IN ({states}) ORDER BY finished_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [DeadLetter(*row) for row in rows]

    def requeue(
        self, *, ids: list[int] | None = None, reason: str | None = None, everything: bool = False
    ) -> int:
        """Put dead letters back in the queue with fresh attempts: by id, by a substring of
        their reason, or all of them. Returns how many were requeued."""
        where = "state = 'dead'"
        params: list[object] = []
        if ids:
            where += f" AND id IN ({','.join('?' * len(ids))})"
            params += ids
        if reason:
            where += " AND instr(last_error, ?) > 0"
            params.append(reason)
        if not (ids or reason or everything):
            return 0

        def requeue(connection: sqlite3.Connection) -> int:
            requeued = connection.execute(
                "UPDATE jobs SET state = 'queued', attempts = 0, not_before = 0,"
                f" finished_at = NULL, owner = NULL, process = NULL WHERE {where}"
                " RETURNING conversation, page",
                params,
            ).fetchall()
            _settle(connection, dict(requeued))
            return len(requeued)

        return self._transaction("requeue", requeue)

    def purge(self, *, before: float) -> int:
        """Forget done and dropped jobs finished before ``before`` (their keys stop deduping),
        and threads unchanged since then (a hold lapses within a week; the window is a day).
        Returns how many jobs were forgotten."""

        def purge(connection: sqlite3.Connection) -> int:
            purged = connection.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'dropped') AND finished_at < :before",
                {"before": before},
            ).rowcount
            connection.execute("DELETE FROM threads WHERE updated_at < ?", (before,))
            return purged

        return self._transaction("purge", purge)

    def close(self) -> None:
        """Commit what is pending and stop the writer thread; close this thread's connection
        and those of threads that ended (see ``PerThread.close``). The queue stays usable."""
        self._writer.close()
        self._connections.close()
