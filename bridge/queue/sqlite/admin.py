"""Dead letters in SQLite: the jobs in state ``dead`` (and ``dropped``, if asked), and putting
them back in the queue."""

from __future__ import annotations

import sqlite3

from bridge.queue.records import DeadLetter
from bridge.queue.sqlite.conversations import settle
from bridge.queue.sqlite.database import Database


class SqliteAdmin(Database):
    """``bridge.queue.Admin`` on the ``jobs`` table."""

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
            settle(connection, dict(requeued))
            return len(requeued)

        return self._transaction("requeue", requeue)
