"""Outbound messages in SQLite: the read of one by its key, and each part's Graph message id
recorded with the send ledger (the ``mids`` column, a JSON list; only outbound jobs use it)."""

from __future__ import annotations

import json
import sqlite3

from bridge.queue.records import Job, OutboundRecord
from bridge.queue.sqlite.database import Database


class SqliteOutbox(Database):
    """``bridge.queue.OutboundReads`` and ``OutboundLedger`` on the ``jobs`` table."""

    def outbound(self, key: str) -> OutboundRecord | None:
        """The job of ``key``: state, reason, parts sent, their message ids, payload."""
        rows = self._read(
            "SELECT key, state, last_error, sent, mids, payload FROM jobs WHERE key = ?", (key,)
        )
        if not rows:
            return None
        key, state, reason, sent, mids, payload = rows[0]
        ids = tuple(str(mid) for mid in json.loads(mids)) if mids else ()
        return OutboundRecord(key, state, reason, sent, ids, payload)

    def record_sent(self, job: Job, count: int, message_id: str | None) -> bool:
        """The first ``count`` parts reached Graph, the last as ``message_id`` (None: Graph
        gave none); False if this owner lost the job's lease."""
        params = {"count": count, "mid": message_id, "id": job.id, "owner": job.owner}

        def change(connection: sqlite3.Connection) -> bool:
            updated = connection.execute(
                "UPDATE jobs SET sent = :count, mids = CASE WHEN :mid IS NULL THEN mids"
                " ELSE json_insert(COALESCE(mids, '[]'), '$[#]', :mid) END"
                " WHERE id = :id AND owner = :owner AND state = 'running'",
                params,
            )
            return bool(updated.rowcount == 1)

        return self._transaction("update", change)
