"""The local-mode state file: the inbox of sends, the sample bot's sessions, the local Page's
subscription and Messenger profile, the faults to inject and the Lex calls in progress.

One SQLite file beside the queue database, opened by every server process, so what one process
recorded (a send, a fault, a call in progress) every other one sees. Connections come from
``bridge.queue.sqlite.connections``, the queue's public helpers for SQLite users.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bridge.config.settings import Settings
from bridge.local import faults as localfaults
from bridge.queue.sqlite.connections import PerThread, while_locked

_LOCAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY, recipient TEXT NOT NULL,
                                  body TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS inbox_recipient ON inbox (recipient, seq);
CREATE TABLE IF NOT EXISTS lex_sessions (session_id TEXT PRIMARY KEY, attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS page_subscription (page TEXT PRIMARY KEY, fields TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messenger_profile (field TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_INBOX_ADDED = {"page": "TEXT NOT NULL DEFAULT ''"}  # the Page whose token made the call


def local_store_path(settings: Settings) -> Path:
    """The local-mode state file, beside the queue database."""
    return settings.db_path.with_name(settings.db_path.stem + "-local.db")


class LocalStore:
    """The inbox of sends, the sample bot's sessions, the faults to inject and the Lex calls in
    progress, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connections = PerThread(self._open)
        path.parent.mkdir(parents=True, exist_ok=True)
        schema = _LOCAL_SCHEMA + localfaults.SCHEMA
        while_locked(lambda: self._db().executescript(schema), path, 10)
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

    # --- faults and the Lex calls in progress ------------------------------------------------

    def add_faults(self, target: str, faults: Sequence[object]) -> int:
        """Validate and queue ``faults`` (each ``count`` times); raises ``FaultError``."""
        return localfaults.add(self._db(), target, faults)

    def take_fault(self, target: str, page: str | None = None) -> dict[str, Any] | None:
        """The oldest fault for ``target`` (and for ``page``, or for any Page), consumed unless
        sticky; atomic across processes."""
        return localfaults.take(self._db(), target, page)

    def clear_faults(self, target: str | None = None) -> int:
        return localfaults.clear(self._db(), target)

    def list_faults(self) -> list[dict[str, Any]]:
        return localfaults.pending(self._db())

    @contextmanager
    def lex_call(self) -> Iterator[None]:
        """Count a RecognizeText call as in progress (in every process) while inside."""
        call = localfaults.lex_call_started(self._db())
        try:
            yield
        finally:
            localfaults.lex_call_ended(self._db(), call)

    def active_lex_calls(self) -> int:
        return localfaults.lex_calls_active(self._db())
