"""Notification-messages tokens in the SQS backend's table (bridge/queue/sqs/table.py).

Each token is two items in its Page's partition ``notify#<page>``: ``token#<token>`` (looked up
by the token the sender names) and ``user#<psid>#<token>`` (a person's tokens, by prefix), each
written only if it is new or older than the update (Meta's ``updated_at``), so a retried or
reordered delivery never undoes a newer one and two writers end with the newest. An item
``notify`` / ``<page>`` names each Page that has tokens, for listing every Page.

Crash windows: the webhook writes the tokens before its jobs, so a crash between the two items
(or before the jobs) means no 200, and Meta's redelivery writes both again (an equal
``updated_at`` is written again). The table's TTL (``expires``) forgets a token at
``bridge.queue.records.forget_token_at``; until DynamoDB gets to it (within days), reads leave
it out.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from bridge.messenger.events import TokenUpdate
from bridge.messenger.events.notifications import latest_per_token
from bridge.queue.records import NotificationToken, forget_token_at, token_of
from bridge.queue.sqs.base import SqsBase
from bridge.queue.sqs.table import PK, SK, TTL_ATTRIBUTE, Expr, Item, Value

NOTIFY_PK = "notify"
_FIELDS = ("topic", "frequency", "timezone", "expires_at", "status", "updated_at")


def notify_pk(page: str) -> str:
    return f"notify#{page}"


def token_sk(token: str) -> str:
    return f"token#{token}"


def person_sk(user: str, token: str = "") -> str:
    """The sort key of a person's item (without ``token``: the prefix of all of theirs)."""
    return f"user#{user}#{token}"


def token_item(token: NotificationToken, sk: str) -> dict[str, Value]:
    """One of the token's two items (``sk``: ``token_sk`` or ``person_sk``)."""
    values: dict[str, Value] = {
        PK: notify_pk(token.page),
        SK: sk,
        "page": token.page,
        "user": token.user,
        "token": token.token,
        **{name: getattr(token, name) for name in _FIELDS},
    }
    forget = forget_token_at(token)
    if forget is not None:
        values[TTL_ATTRIBUTE] = -(-forget // 1000)  # epoch seconds, rounded up
    return values


def token_from_item(item: Item) -> NotificationToken:
    expires_at = item.get("expires_at")
    return NotificationToken(
        page=str(item.get("page") or ""),
        user=str(item.get("user") or ""),
        token=str(item.get("token") or ""),
        topic=str(item.get("topic") or ""),
        frequency=_text(item.get("frequency")),
        timezone=_text(item.get("timezone")),
        expires_at=None if expires_at is None else int(expires_at),
        status=str(item.get("status") or "active"),
        updated_at=int(item.get("updated_at") or 0),
    )


def _text(value: Value) -> str | None:
    return None if value is None else str(value)


def kept(items: Iterable[Item], now: float) -> list[NotificationToken]:
    """The tokens of ``items`` not yet past their retention, the latest changed first."""
    now_ms = int(now * 1000)
    tokens = [token_from_item(item) for item in items]
    alive = [t for t in tokens if (forget_token_at(t) or now_ms + 1) > now_ms]
    return sorted(alive, key=lambda t: (-t.updated_at, t.token))


class SqsNotifications(SqsBase):
    """``bridge.queue.Notifications`` on the table's token items."""

    def record_notification_tokens(self, updates: Sequence[TokenUpdate], *, now: float) -> None:
        """Write each (Page, token)'s latest update unless its items are newer."""
        for update in latest_per_token(updates).values():
            token = token_of(update)
            self.table.put_plain({PK: NOTIFY_PK, SK: token.page}, what="notifications")
            for sk in (token_sk(token.token), person_sk(token.user, token.token)):
                expr = Expr()
                newer = (
                    f"{expr.missing(PK)} OR {expr.n('updated_at')} <= {expr.v(token.updated_at)}"
                )
                written = self.table.put(token_item(token, sk), expr, newer, what="notifications")
                if not written.ok:
                    break  # a newer update is stored: this one changes nothing

    def notification_token(self, page: str, token: str) -> NotificationToken | None:
        """The token ``token`` of ``page`` (None: unknown, or forgotten)."""
        item = self.table.get(notify_pk(page), token_sk(token))
        found = kept([item] if item else [], time.time())
        return found[0] if found else None

    def notification_tokens(
        self, *, page: str | None = None, limit: int = 1000
    ) -> list[NotificationToken]:
        """The tokens of ``page`` (every Page's: None), by Page, the latest changed first."""
        pages = (
            [page]
            if page is not None
            else sorted(str(item[SK]) for item in self.table.query(NOTIFY_PK))
        )
        found: list[NotificationToken] = []
        for name in pages:
            items = self.table.query(notify_pk(name), prefix=token_sk(""))
            found += kept(items, time.time())
            if len(found) >= limit:
                break
        return found[:limit]

    def person_notification_tokens(self, page: str, user: str) -> list[NotificationToken]:
        """The tokens of one person on ``page``, the latest changed first."""
        items = self.table.query(notify_pk(page), prefix=person_sk(user))
        return [t for t in kept(items, time.time()) if t.user == user]

    def purge_notification_tokens(self, *, now: float) -> int:
        """Nothing to do: the table's TTL forgets tokens past their retention (reads already
        leave them out)."""
        return 0
