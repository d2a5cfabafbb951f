"""The embedded queue: one SQLite database in WAL mode, shared by every process of a container.

A job is committed before the webhook answers 200, so it survives ``kill -9`` of any process.
The ``key`` (the event's mid) is unique, which absorbs Meta's redeliveries. A conversation's
jobs are claimed strictly one at a time, oldest first by Messenger timestamp then arrival;
different conversations are claimed concurrently. Every change to a claimed job names its
``owner``, so a worker whose lease ran out cannot touch a job another worker took over.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bridge.errors import QueueError
from bridge.queue import Job, Message, NewJob, PutResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    conversation TEXT NOT NULL,
    order_ts     INTEGER NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued',
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   REAL NOT NULL DEFAULT 0,
    owner        TEXT,
    lease_until  REAL NOT NULL DEFAULT 0,
    reply        TEXT,
    sent         INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   REAL NOT NULL,
    finished_at  REAL
);
CREATE INDEX IF NOT EXISTS jobs_pending ON jobs (state, order_ts, id);
CREATE INDEX IF NOT EXISTS jobs_conversation ON jobs (conversation, state, order_ts, id);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
"""

# The head of each conversation is its oldest unfinished job; only a head may be claimed, and
# only while no other job of that conversation holds a live lease.
_CLAIMABLE = """
SELECT j.id FROM jobs AS j
WHERE ((j.state = 'queued' AND j.not_before <= :now)
       OR (j.state = 'running' AND j.lease_until <= :now))
  AND NOT EXISTS (
      SELECT 1 FROM jobs AS k
      WHERE k.conversation = j.conversation AND k.id != j.id
        AND k.state IN ('queued', 'running')
        AND (k.order_ts < j.order_ts OR (k.order_ts = j.order_ts AND k.id < j.id)
             OR (k.state = 'running' AND k.lease_until > :now)))
ORDER BY j.order_ts, j.id
LIMIT 1
"""


def while_locked(operation: Callable[[], object], path: Path, timeout: float) -> None:
    """Run a setup step, retrying while another process holds the lock it needs.

    Switching a new database to WAL takes an exclusive lock without waiting on the busy
    handler, so server processes starting together would otherwise fail to boot.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            operation()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise QueueError(f"cannot open database {path}: {exc}") from exc
            time.sleep(0.01)


class SqliteQueue:
    """Durable FIFO-per-conversation queue on one SQLite file; safe across threads and processes."""

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        while_locked(lambda: self._connection().executescript(SCHEMA), path, busy_timeout)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = sqlite3.connect(
                    self.path,
                    timeout=self._busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error as exc:
                raise QueueError(f"cannot open queue database {self.path}: {exc}") from exc
            opened = connection
            while_locked(
                lambda: opened.execute("PRAGMA journal_mode=WAL"), self.path, self._busy_timeout
            )
            # FULL: a committed job survives power loss too, not only a killed process.
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _write(self, sql: str, params: dict[str, object]) -> bool:
        try:
            cursor = self._connection().execute(sql, params)
        except sqlite3.Error as exc:
            raise QueueError(f"queue write failed: {exc}") from exc
        return cursor.rowcount == 1

    def put(self, jobs: list[NewJob], *, now: float) -> PutResult:
        """Commit new jobs in one transaction; a key already present counts as a duplicate."""
        if not jobs:
            return PutResult(0, 0)
        connection = self._connection()
        added = 0
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for job in jobs:
                    cursor = connection.execute(
                        "INSERT OR IGNORE INTO jobs (key, conversation, order_ts, payload,"
                        " created_at) VALUES (?, ?, ?, ?, ?)",
                        (job.key, job.conversation, job.order_ts, job.payload, now),
                    )
                    added += cursor.rowcount
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise QueueError(f"enqueue failed: {exc}") from exc
        return PutResult(added, len(jobs) - added)

    def claim(self, *, owner: str, now: float, lease: float) -> Job | None:
        """Take the oldest claimable job for ``lease`` seconds, or None if there is none."""
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                row = connection.execute(_CLAIMABLE, {"now": now}).fetchone()
                if row is None:
                    connection.execute("COMMIT")
                    return None
                claimed = connection.execute(
                    "UPDATE jobs SET state = 'running', owner = ?, lease_until = ?,"
                    " attempts = attempts + 1 WHERE id = ?"
                    " RETURNING id, key, conversation, payload, attempts, reply, sent",
                    (owner, now + lease, row[0]),
                ).fetchone()
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise QueueError(f"claim failed: {exc}") from exc
        job_id, key, conversation, payload, attempts, reply, sent = claimed
        return Job(
            id=job_id,
            key=key,
            conversation=conversation,
            payload=payload,
            attempts=attempts,
            owner=owner,
            reply=None if reply is None else json.loads(reply),
            sent=sent,
        )

    def save_reply(self, job: Job, messages: list[Message]) -> bool:
        """Store the bot's rendered reply so a retry never asks the bot again."""
        return self._write(
            "UPDATE jobs SET reply = :reply"
            " WHERE id = :id AND owner = :owner AND state = 'running'",
            {"reply": json.dumps(messages, ensure_ascii=False), "id": job.id, "owner": job.owner},
        )

    def mark_sent(self, job: Job, count: int) -> bool:
        """Record that the first ``count`` reply messages reached the Graph API."""
        return self._write(
            "UPDATE jobs SET sent = :count WHERE id = :id AND owner = :owner AND state = 'running'",
            {"count": count, "id": job.id, "owner": job.owner},
        )

    def ack(self, job: Job, *, now: float) -> bool:
        """The job is done: its whole reply was sent."""
        return self._write(
            "UPDATE jobs SET state = 'done', owner = NULL, finished_at = :now, last_error = NULL"
            " WHERE id = :id AND owner = :owner AND state = 'running'",
            {"now": now, "id": job.id, "owner": job.owner},
        )

    def retry(self, job: Job, *, at: float, error: str) -> bool:
        """Give the job back, claimable again from ``at``; it stays at its conversation's head."""
        return self._write(
            "UPDATE jobs SET state = 'queued', owner = NULL, not_before = :at, lease_until = 0,"
            " last_error = :error WHERE id = :id AND owner = :owner AND state = 'running'",
            {"at": at, "error": error, "id": job.id, "owner": job.owner},
        )

    def bury(self, job: Job, *, reason: str, now: float) -> bool:
        """Give up on the job: it becomes a dead letter with its reason."""
        return self._write(
            "UPDATE jobs SET state = 'dead', owner = NULL, finished_at = :now, last_error = :reason"
            " WHERE id = :id AND owner = :owner AND state = 'running'",
            {"now": now, "reason": reason, "id": job.id, "owner": job.owner},
        )

    def state_of(self, key: str) -> str | None:
        """The state of the job for an event key (queued, running, done, dead), if known."""
        row = self._connection().execute("SELECT state FROM jobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def stats(self, *, now: float) -> dict[str, float]:
        """Jobs by state and the age in seconds of the oldest unfinished one."""
        connection = self._connection()
        counts = dict(connection.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"))
        oldest = connection.execute(
            "SELECT MIN(created_at) FROM jobs WHERE state IN ('queued', 'running')"
        ).fetchone()[0]
        result: dict[str, float] = {
            state: float(counts.get(state, 0)) for state in ("queued", "running", "done", "dead")
        }
        result["oldest_age"] = 0.0 if oldest is None else max(0.0, now - oldest)
        return result

    def purge(self, *, before: float) -> int:
        """Forget finished jobs older than ``before``; their keys stop deduplicating."""
        try:
            cursor = self._connection().execute(
                "DELETE FROM jobs WHERE state = 'done' AND finished_at < ?", (before,)
            )
        except sqlite3.Error as exc:
            raise QueueError(f"purge failed: {exc}") from exc
        return cursor.rowcount

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
