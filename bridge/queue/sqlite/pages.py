"""Page state in SQLite: the ``pages`` table, read by every claim (``CLAIMABLE`` skips the
jobs of a throttled or paused Page, so they hold nothing else up)."""

from __future__ import annotations

from bridge.queue.records import PageState
from bridge.queue.sqlite.database import Database


class SqlitePages(Database):
    """``bridge.queue.Pages`` on the ``pages`` table."""

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
