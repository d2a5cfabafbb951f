"""A small in-memory store of notification-messages tokens (``bridge.queue.Notifications``),
for tests of what uses tokens without the queue's own store."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.queue import NotificationToken


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

    def notification_token(self, page: str, token: str) -> NotificationToken | None:
        return next((t for t in self.tokens if t.page == page and t.token == token), None)

    def notification_tokens(
        self, *, page: str | None = None, limit: int = 1000
    ) -> list[NotificationToken]:
        return [t for t in self.tokens if page is None or t.page == page][:limit]

    def person_notification_tokens(self, page: str, user: str) -> list[NotificationToken]:
        return [t for t in self.tokens if t.page == page and t.user == user]
