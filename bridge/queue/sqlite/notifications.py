"""Notification-messages tokens in SQLite: one row per (Page, token) in ``notification_tokens``.

The webhook records them inside its own write transaction (``record_tokens`` is called from
``put``, so they commit with the delivery's jobs). An update older than the row (Meta's
``updated_at``) leaves it as it is: Meta retries and reorders deliveries. Rows are read by Page
(``notification_tokens_page``) and by person (``notification_tokens_person``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from bridge.messenger.events import TokenUpdate
from bridge.messenger.events.notifications import latest_per_token
from bridge.queue.records import TOKEN_RETENTION_MS, NotificationToken
from bridge.queue.sqlite.database import Database

_COLUMNS = "page, user, token, topic, frequency, timezone, expires_at, status, updated_at"
_SAVE = (
    f"INSERT INTO notification_tokens ({_COLUMNS}, written_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (page, token) DO UPDATE SET user = excluded.user, topic = excluded.topic,"
    " frequency = excluded.frequency, timezone = excluded.timezone,"
    " expires_at = excluded.expires_at, status = excluded.status,"
    " updated_at = excluded.updated_at, written_at = excluded.written_at"
    " WHERE excluded.updated_at >= notification_tokens.updated_at"
)
# What is still given back at :now (epoch ms): see bridge.queue.records.forget_token_at.
_KEPT = (
    "(expires_at IS NULL OR expires_at + :keep > :now)"
    " AND (status != 'stopped' OR updated_at + :keep > :now)"
)


def record_tokens(
    connection: sqlite3.Connection, updates: Sequence[TokenUpdate], now: float
) -> None:
    """Write each (Page, token)'s latest update unless its row is newer."""
    for u in latest_per_token(updates).values():
        connection.execute(
            _SAVE,
            (
                u.page_id,
                u.user_id,
                u.token,
                u.topic,
                u.frequency,
                u.timezone,
                u.expires_at,
                u.status,
                u.updated_at,
                now,
            ),
        )


def purge_tokens(connection: sqlite3.Connection, now: float) -> int:
    """Forget the tokens past their retention; how many."""
    kept = {"keep": TOKEN_RETENTION_MS, "now": int(now * 1000)}
    return connection.execute(f"DELETE FROM notification_tokens WHERE NOT ({_KEPT})", kept).rowcount


def _token(row: tuple[Any, ...]) -> NotificationToken:
    page, user, token, topic, frequency, timezone, expires_at, status, updated_at = row
    return NotificationToken(
        page, user, token, topic, frequency, timezone, expires_at, status, updated_at
    )


class SqliteNotifications(Database):
    """``bridge.queue.Notifications`` on the ``notification_tokens`` table."""

    def record_notification_tokens(self, updates: Sequence[TokenUpdate], *, now: float) -> None:
        """Record token updates on their own (the webhook's come with its ``put``)."""
        if updates:
            self._transaction("notifications", lambda c: record_tokens(c, updates, now))

    def notification_token(self, page: str, token: str) -> NotificationToken | None:
        """The token ``token`` of ``page`` (None: unknown, or forgotten)."""
        rows = self._select("page = :page AND token = :token", {"page": page, "token": token})
        return rows[0] if rows else None

    def notification_tokens(
        self, *, page: str | None = None, limit: int = 1000
    ) -> list[NotificationToken]:
        """The tokens of ``page`` (every Page's: None), by Page, the latest changed first."""
        where = "1" if page is None else "page = :page"
        return self._select(where, {"page": page, "limit": limit}, limited=True)

    def person_notification_tokens(self, page: str, user: str) -> list[NotificationToken]:
        """The tokens of one person on ``page``, the latest changed first."""
        return self._select("page = :page AND user = :user", {"page": page, "user": user})

    def purge_notification_tokens(self, *, now: float) -> int:
        """Forget the tokens past their retention (``forget_token_at``); how many."""
        return self._transaction("purge", lambda c: purge_tokens(c, now))

    def _select(
        self, where: str, params: dict[str, object], *, limited: bool = False
    ) -> list[NotificationToken]:
        values = {**params, "keep": TOKEN_RETENTION_MS, "now": int(time.time() * 1000)}
        rows = self._read(
            f"SELECT {_COLUMNS} FROM notification_tokens WHERE {where} AND {_KEPT}"
            " ORDER BY page, updated_at DESC, token" + (" LIMIT :limit" if limited else ""),
            values,
        )
        return [_token(row) for row in rows]
