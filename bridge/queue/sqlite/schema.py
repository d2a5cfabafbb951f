"""The queue database's tables, and the upgrade of a database made by an earlier release.

Creating is idempotent (``IF NOT EXISTS``) and runs under ``while_locked`` whenever a queue is
opened, so every process may do it; so is the upgrade, should two processes upgrade the same
file at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from bridge.queue.sqlite.conversations import settle

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
    delivery     TEXT NOT NULL DEFAULT '',
    mids         TEXT
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
-- One row per conversation with unfinished jobs, derived from them (see conversations.py):
-- whether one of its jobs is running, and its head, the oldest queued job. Claiming reads the
-- heads of idle conversations in order from an index, instead of searching all queued jobs.
CREATE TABLE IF NOT EXISTS conversations (
    conversation TEXT PRIMARY KEY,
    page         TEXT NOT NULL,
    busy         INTEGER NOT NULL,
    head_ts      INTEGER,
    head_id      INTEGER
);
CREATE INDEX IF NOT EXISTS conversations_heads ON conversations (busy, head_ts, head_id);
-- A new queued job settles its conversation's row in its own INSERT (one statement fewer per
-- message): a row exists while the conversation has a queued or running job, so a missing one
-- is idle; a new job cannot change whether one runs, only become the head if it is older.
CREATE TRIGGER IF NOT EXISTS jobs_new_head AFTER INSERT ON jobs WHEN NEW.state = 'queued'
BEGIN
    INSERT INTO conversations (conversation, page, busy, head_ts, head_id)
    VALUES (NEW.conversation, NEW.page, 0, NEW.order_ts, NEW.id)
    ON CONFLICT (conversation) DO UPDATE SET head_ts = excluded.head_ts, head_id = excluded.head_id
    WHERE head_ts IS NULL OR excluded.head_ts < head_ts
       OR (excluded.head_ts = head_ts AND excluded.head_id < head_id);
END;
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
-- One row per (Page, notification-messages token): bridge.queue.records.NotificationToken
-- (times in epoch ms, Meta's clock; written_at: the bridge's, epoch seconds). A database
-- from before it gets it here, empty: tokens are recorded from the next opt-in on.
CREATE TABLE IF NOT EXISTS notification_tokens (
    page       TEXT NOT NULL,
    token      TEXT NOT NULL,
    user       TEXT NOT NULL,
    topic      TEXT NOT NULL DEFAULT '',
    frequency  TEXT,
    timezone   TEXT,
    expires_at INTEGER,
    status     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    written_at REAL NOT NULL,
    PRIMARY KEY (page, token)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notification_tokens_page ON notification_tokens (page, updated_at);
CREATE INDEX IF NOT EXISTS notification_tokens_person ON notification_tokens (page, user);
"""

# Columns added after the first release, for databases created before them.
_ADDED_COLUMNS = {
    "page": "TEXT NOT NULL DEFAULT ''",
    "process": "TEXT",
    "delivery": "TEXT NOT NULL DEFAULT ''",  # the webhook POST's delivery id, for logs
    "mids": "TEXT",  # an outbound job's Graph message ids, a JSON list (NULL: none yet)
}


def create_schema(connection: sqlite3.Connection) -> None:
    """Create what is missing, add the newer columns, and fill a derived table that is new."""
    had_jobs = _has_table(connection, "jobs")
    had_conversations = _has_table(connection, "conversations")
    had_threads = _has_table(connection, "threads")
    connection.executescript(SCHEMA)
    present = {row[1] for row in connection.execute("PRAGMA table_info(jobs)")}
    for column, definition in _ADDED_COLUMNS.items():
        if column not in present:
            connection.execute(f"ALTER TABLE jobs ADD COLUMN {column} {definition}")
    # A database from before a derived table: fill it once from the jobs (both fills are
    # idempotent, should two processes upgrade the same file at once).
    if had_jobs and not had_conversations:
        _in_transaction(connection, _fill_conversations)
    if had_jobs and not had_threads:
        _in_transaction(connection, _fill_threads)


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
    settle(connection, dict(rows))


def _fill_threads(connection: sqlite3.Connection) -> None:
    """Each conversation's latest event, from its jobs, starts its 24-hour window (nobody
    held a thread then)."""
    connection.execute(
        "INSERT OR IGNORE INTO threads (page, user, last_inbound, updated_at)"
        " SELECT page, substr(conversation, instr(conversation, ':') + 1),"
        " MAX(order_ts), MAX(created_at) FROM jobs"
        " WHERE page != '' AND instr(conversation, ':') > 0 GROUP BY conversation"
    )
