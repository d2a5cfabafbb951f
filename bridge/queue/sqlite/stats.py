"""What monitoring reads from SQLite: counts by state, a job's state, whether writes work.

(``pages`` and ``workers``, the rest of ``bridge.queue.Stats``, are the reads of
``SqlitePages`` and ``SqliteHousekeeping``.)
"""

from __future__ import annotations

import sqlite3
from typing import Any

from bridge.errors import QueueError
from bridge.queue.sqlite.database import Database


class SqliteStats(Database):
    """Counts, one job's state and the write check, for ``bridge.queue.Stats``."""

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
