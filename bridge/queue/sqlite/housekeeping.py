"""The queue's upkeep in SQLite: processes' heartbeats, releasing the jobs of those gone, and
forgetting finished jobs, idle threads and notification-messages tokens past their retention
(``SqliteNotifications.purge_notification_tokens``)."""

from __future__ import annotations

import sqlite3

from bridge.queue.records import Worker
from bridge.queue.sqlite.conversations import settle
from bridge.queue.sqlite.database import Database


class SqliteHousekeeping(Database):
    """``bridge.queue.Housekeeping`` on the ``workers``, ``jobs`` and ``threads`` tables."""

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

    def release_stale(self, *, dead: list[str]) -> int:
        """Requeue the running jobs of the processes in ``dead`` and forget those processes.
        Returns how many jobs were released."""
        gone = sorted(set(dead))
        marks = ",".join("?" * len(gone))

        def release(connection: sqlite3.Connection) -> int:
            released = connection.execute(
                "UPDATE jobs SET state = 'queued', owner = NULL, process = NULL, lease_until = 0,"
                " last_error = 'released: its worker stopped'"
                " WHERE state = 'running' AND (process IS NULL"
                f" OR process IN ({marks})) RETURNING conversation, page",
                gone,
            ).fetchall()
            settle(connection, dict(released))
            if gone:
                connection.execute(f"DELETE FROM workers WHERE process IN ({marks})", gone)
            return len(released)

        return self._transaction("release", release)

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
