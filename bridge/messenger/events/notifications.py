"""Notification-messages tokens out of opt-ins; pure, no I/O.

A ``messaging_optins`` item of type ``notification_messages`` (messenger.md §4.4) becomes an
``Optin`` event, which never holds its token (events go into the queue and the bot's
request), and a ``TokenUpdate``, which does and goes only to the queue's token store.
``notification_messages_status`` ``STOP_NOTIFICATIONS`` stops a token; ``RESUME_NOTIFICATIONS``
or no status (a new opt-in) makes it active. Meta's reference writes the values with an
underscore, some of its pages with a space: both read the same.

A token that is blank, longer than ``TOKEN_MAX`` or holds anything but printable ASCII without
spaces is none Meta issued (a recording's stand-in, say): the opt-in still reaches the bot,
and no token is recorded. So is the token of an odd sender id (longer than ``USER_MAX``).
https://developers.facebook.com/docs/messenger-platform/marketing-messages
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, TypeGuard

from bridge.messenger.events.fields import read_millis, read_optional, read_text
from bridge.messenger.events.types import Optin, TokenStatus, TokenUpdate

NOTIFICATION_OPTIN = "notification_messages"
TOKEN_FIELD = "notification_messages_token"
TOKEN_MAX = 500  # characters; Meta's tokens are far shorter
TOPIC_MAX = 1000  # characters of the opt-in's payload kept (Meta's payload limit)
USER_MAX = 200  # characters of a sender id (PSIDs are about 16 digits)
_STOP = "STOP_NOTIFICATIONS"


def has_token(event: object) -> TypeGuard[Optin]:
    """Whether an event is an opt-in that may carry a notification-messages token."""
    return isinstance(event, Optin) and event.optin_type == NOTIFICATION_OPTIN


def token_status(value: object) -> TokenStatus:
    """``notification_messages_status`` as a token's status (absent or unknown: ``active``)."""
    text = read_text(value).strip().upper().replace(" ", "_").replace("-", "_")
    return "stopped" if text == _STOP else "active"


def is_token(value: str) -> bool:
    """A value that may be a token Meta issued (see the module docstring)."""
    return 0 < len(value) <= TOKEN_MAX and all("!" <= c <= "~" for c in value)


def to_token_update(optin: dict[str, Any], event: Optin) -> TokenUpdate | None:
    """The token update of a notification-messages opt-in, read from its ``optin`` object
    (``event`` is what the same object parsed into); None if it has no token to record."""
    token = optin.get(TOKEN_FIELD)
    if not isinstance(token, str) or not is_token(token) or len(event.sender_id) > USER_MAX:
        return None
    topic = read_text(optin.get("payload"))[:TOPIC_MAX]
    return TokenUpdate(
        page_id=event.page_id,
        user_id=event.sender_id,
        token=token,
        topic=topic,
        frequency=read_optional(optin.get("notification_messages_frequency")),
        timezone=read_optional(optin.get("notification_messages_timezone")),
        expires_at=read_millis(optin.get("token_expiry_timestamp")) or None,
        status=token_status(optin.get("notification_messages_status")),
        updated_at=event.timestamp,
    )


def dated(updates: Iterable[TokenUpdate], now_ms: int) -> list[TokenUpdate]:
    """The updates, one without Meta's timestamp dated ``now_ms`` (as thread signals are)."""
    return [u if u.updated_at else replace(u, updated_at=now_ms) for u in updates]


def latest_per_token(updates: Iterable[TokenUpdate]) -> dict[tuple[str, str], TokenUpdate]:
    """The latest update of each (Page, token) among ``updates`` (a tie: the later one)."""
    latest: dict[tuple[str, str], TokenUpdate] = {}
    for update in updates:
        key = (update.page_id, update.token)
        known = latest.get(key)
        if known is None or update.updated_at >= known.updated_at:
            latest[key] = update
    return latest
