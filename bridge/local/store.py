"""The local-mode state file: the inbox of sends, the sample bot's sessions, the local Page's
subscription and Messenger profile, the faults to inject and the Lex calls in progress.

One SQLite file beside the queue database, opened by every server process, so what one process
recorded (a send, a fault, a call in progress) every other one sees. Connections come from
``bridge.queue.sqlite.connections``, the queue's public helpers for SQLite users.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bridge.config.private import private_database
from bridge.config.settings import Settings
from bridge.delivery.liveness import pid_alive
from bridge.local.faults import validate_faults
from bridge.queue.sqlite.connections import PerThread, while_locked

_LOCAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY, recipient TEXT NOT NULL,
                                  body TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS inbox_recipient ON inbox (recipient, seq);
CREATE TABLE IF NOT EXISTS lex_sessions (session_id TEXT PRIMARY KEY, attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS page_subscription (page TEXT PRIMARY KEY, fields TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messenger_profile (field TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL,
                                   fault TEXT NOT NULL, sticky INTEGER NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS faults_target ON faults (target, id);
CREATE TABLE IF NOT EXISTS lex_calls (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL,
                                      started REAL NOT NULL);
"""
_INBOX_ADDED = {"page": "TEXT NOT NULL DEFAULT ''"}  # the Page whose token made the call


def local_store_path(settings: Settings) -> Path:
    """The local-mode state file, beside the queue database."""
    return settings.queue.db_path.with_name(settings.queue.db_path.stem + "-local.db")


class LocalStore:
    """The inbox of sends, the sample bot's sessions, the faults to inject and the Lex calls in
    progress, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connections = PerThread(self._open)
        private_database(path)  # the inbox holds the bot's replies to people
        while_locked(lambda: self._db().executescript(_LOCAL_SCHEMA), path, 10)
        present = {row[1] for row in self._db().execute("PRAGMA table_info(inbox)")}
        for column, definition in _INBOX_ADDED.items():
            if column not in present:
                self._db().execute(f"ALTER TABLE inbox ADD COLUMN {column} {definition}")

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        while_locked(lambda: db.execute("PRAGMA journal_mode=WAL"), self.path, 10)
        return db

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    # --- the inbox ---------------------------------------------------------------------------

    def record(self, recipient: str, body: dict[str, Any], page: str = "") -> int:
        cursor = self._db().execute(
            "INSERT INTO inbox (recipient, body, at, page) VALUES (?, ?, ?, ?)",
            (recipient, json.dumps(body, ensure_ascii=False), time.time(), page),
        )
        return int(cursor.lastrowid or 0)

    def entries(
        self, *, recipient: str | None, after: int, page: str | None = None
    ) -> list[dict[str, Any]]:
        sql = "SELECT seq, recipient, body, at, page FROM inbox WHERE seq > ?"
        params: list[object] = [after]
        if recipient:
            sql += " AND recipient = ?"
            params.append(recipient)
        if page:
            sql += " AND page = ?"
            params.append(page)
        rows = self._db().execute(sql + " ORDER BY seq", params).fetchall()
        return [
            {"seq": seq, "recipient": to, "body": json.loads(body), "at": at, "page": sender}
            for seq, to, body, at, sender in rows
        ]

    # --- the sample bot's sessions -----------------------------------------------------------

    def session(self, session_id: str) -> dict[str, str]:
        row = (
            self._db()
            .execute("SELECT attributes FROM lex_sessions WHERE session_id = ?", (session_id,))
            .fetchone()
        )
        return {} if row is None else dict(json.loads(row[0]))

    def save_session(self, session_id: str, attributes: dict[str, str]) -> None:
        self._db().execute(
            "INSERT INTO lex_sessions (session_id, attributes) VALUES (?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET attributes = excluded.attributes",
            (session_id, json.dumps(attributes, ensure_ascii=False)),
        )

    # --- the local Page's set-up -------------------------------------------------------------

    def subscribed_fields(self, page: str) -> list[str] | None:
        """The app's webhook fields on ``page``; None for a Page never changed (the caller
        knows which fields a set-up Page has)."""
        row = (
            self._db()
            .execute("SELECT fields FROM page_subscription WHERE page = ?", (page,))
            .fetchone()
        )
        return None if row is None else list(json.loads(row[0]))

    def set_subscribed_fields(self, page: str, fields: list[str]) -> None:
        self._db().execute(
            "INSERT INTO page_subscription (page, fields) VALUES (?, ?)"
            " ON CONFLICT (page) DO UPDATE SET fields = excluded.fields",
            (page, json.dumps(fields)),
        )

    def profile(self) -> dict[str, Any]:
        rows = self._db().execute("SELECT field, value FROM messenger_profile").fetchall()
        return {name: json.loads(value) for name, value in rows}

    def set_profile(self, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            self._db().execute(
                "INSERT INTO messenger_profile (field, value) VALUES (?, ?)"
                " ON CONFLICT (field) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value, ensure_ascii=False)),
            )

    def delete_profile(self, fields: list[str]) -> None:
        for name in fields:
            self._db().execute("DELETE FROM messenger_profile WHERE field = ?", (name,))

    # --- faults ------------------------------------------------------------------------------

    def add_faults(self, target: str, faults: Sequence[object]) -> int:
        """Validate and queue ``faults`` (each ``count`` times) in one transaction; how many
        were queued. Raises ``FaultError`` (and queues nothing) for an invalid one."""
        queued = validate_faults(target, faults)
        now = time.time()
        with self._immediate() as db:
            db.executemany(
                "INSERT INTO faults (target, fault, sticky, at) VALUES (?, ?, ?, ?)",
                [(target, json.dumps(f), int(bool(f.get("sticky"))), now) for f in queued],
            )
        return len(queued)

    def take_fault(self, target: str, page: str | None = None) -> dict[str, Any] | None:
        """The oldest fault for ``target`` that applies to ``page`` (one naming no Page applies
        to every Page), removed from the queue unless it is sticky. One ``BEGIN IMMEDIATE``
        transaction, so two processes never consume the same fault."""
        db = self._db()
        if not db.execute("SELECT 1 FROM faults WHERE target = ? LIMIT 1", (target,)).fetchall():
            return None  # the common case, without taking the write lock
        with self._immediate():
            rows = db.execute(
                "SELECT id, fault, sticky FROM faults WHERE target = ? ORDER BY id", (target,)
            ).fetchall()
            for fault_id, text, sticky in rows:
                fault = dict(json.loads(text))
                if fault.get("page", page) != page:
                    continue
                if not sticky:
                    db.execute("DELETE FROM faults WHERE id = ?", (fault_id,))
                return fault
        return None

    def clear_faults(self, target: str | None = None) -> int:
        """Remove every fault (for ``target``, or all); how many were removed."""
        if target is None:
            cursor = self._db().execute("DELETE FROM faults")
        else:
            cursor = self._db().execute("DELETE FROM faults WHERE target = ?", (target,))
        return cursor.rowcount

    def list_faults(self) -> list[dict[str, Any]]:
        """Every queued fault, oldest first: ``{"id", "target", "fault"}``."""
        rows = self._db().execute("SELECT id, target, fault FROM faults ORDER BY id").fetchall()
        return [
            {"id": id_, "target": target, "fault": json.loads(fault)} for id_, target, fault in rows
        ]

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock first (waiting on the busy timeout)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- the Lex calls in progress ----------------------------------------------------------
    # One row per call with the process id, so a process killed mid-call does not leave its
    # calls counted.

    @contextmanager
    def lex_call(self) -> Iterator[None]:
        """Count a RecognizeText call as in progress (in every process) while inside."""
        cursor = self._db().execute(
            "INSERT INTO lex_calls (pid, started) VALUES (?, ?)", (os.getpid(), time.time())
        )
        call = int(cursor.lastrowid or 0)
        try:
            yield
        finally:
            self._db().execute("DELETE FROM lex_calls WHERE id = ?", (call,))

    def active_lex_calls(self) -> int:
        """Calls in progress in live processes; rows of processes that died are dropped."""
        db = self._db()
        rows = db.execute("SELECT pid, COUNT(*) FROM lex_calls GROUP BY pid").fetchall()
        dead = [pid for pid, _ in rows if not pid_alive(pid)]
        if dead:
            marks = ", ".join("?" * len(dead))
            db.execute(f"DELETE FROM lex_calls WHERE pid IN ({marks})", dead)
        return sum(count for pid, count in rows if pid not in dead)
