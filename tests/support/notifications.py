"""A small in-memory store of notification-messages tokens (``bridge.queue.Notifications``),
for tests of what uses tokens without the queue's own store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bridge.messenger.events.types import TokenUpdate
from bridge.queue import NotificationToken
from bridge.queue.records import token_of


@dataclass
class MemoryNotifications:
    tokens: list[NotificationToken] = field(default_factory=list)

    def add(
        self,
        page: str,
        user: str,
        token: str,
        *,
        expires_at: int | None = None,
        status: str = "active",
    ) -> NotificationToken:
        record = NotificationToken(
            page=page,
            user=user,
            token=token,
            topic="offers",
            frequency="DAILY",
            timezone=None,
            expires_at=expires_at,
            status=status,
            updated_at=1,
        )
        self.tokens = [t for t in self.tokens if not (t.page == page and t.token == token)]
        self.tokens.append(record)
        return record

    def record_notification_tokens(self, updates: Sequence[TokenUpdate], *, now: float) -> None:
        """Keep each update unless the stored one of its (Page, token) is newer."""
        for update in updates:
            known = self.notification_token(update.page_id, update.token)
            if known is not None and known.updated_at > update.updated_at:
                continue
            self.tokens = [
                t for t in self.tokens if (t.page, t.token) != (update.page_id, update.token)
            ]
            self.tokens.append(token_of(update))

    def notification_token(self, page: str, token: str) -> NotificationToken | None:
        return next((t for t in self.tokens if t.page == page and t.token == token), None)

    def notification_tokens(
        self, *, page: str | None = None, limit: int = 1000
    ) -> list[NotificationToken]:
        return [t for t in self.tokens if page is None or t.page == page][:limit]

    def person_notification_tokens(self, page: str, user: str) -> list[NotificationToken]:
        return [t for t in self.tokens if t.page == page and t.user == user]
