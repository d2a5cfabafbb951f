"""Items that tell who is talking in a thread rather than events for the bot: echoes of what
the Page sent (classified by the app that sent them) and changes of thread control
(``messaging_handovers``).
https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-echoes
"""

from __future__ import annotations

from typing import Any

from bridge.messenger.events.fields import read_id, read_millis, read_optional, read_str
from bridge.messenger.events.types import Echo, EchoOrigin, Handover, HandoverAction
from bridge.messenger.replies import PAGE_INBOX_APP_ID


def is_echo(item: object) -> bool:
    """A messaging item that echoes a message the Page sent (``message.is_echo``)."""
    message = item.get("message") if isinstance(item, dict) else None
    return isinstance(message, dict) and bool(message.get("is_echo"))


def echo_origin(app_id: str | None, own_app_id: str | None) -> EchoOrigin:
    """Who sent an echoed message, from the echo's ``app_id`` and the bridge's own app id."""
    if app_id == PAGE_INBOX_APP_ID:
        return "page_inbox"
    if not app_id or not own_app_id:
        return "unknown_app"
    return "bridge" if app_id == own_app_id else "other_app"


def is_page_inbox_echo(echo: Echo) -> bool:
    """A person at the Page wrote in the thread from the Page Inbox (Meta Business Suite)."""
    return echo.origin == "page_inbox"


def to_echo(
    item: dict[str, Any], entry: dict[str, Any], *, app_id: str | None, standby: bool = False
) -> Echo:
    """An echo item as an ``Echo``; the Page is the sender, the person the recipient."""
    message = item["message"]
    echo_app = read_str(message.get("app_id")) or None
    return Echo(
        page_id=read_id(item.get("sender")) or read_str(entry.get("id")),
        recipient_id=read_id(item.get("recipient")),
        timestamp=read_millis(item.get("timestamp"), entry.get("time")),
        mid=read_str(message.get("mid")),
        app_id=echo_app,
        origin=echo_origin(echo_app, app_id),
        metadata=read_optional(message.get("metadata")),
        standby=standby,
    )


def to_handover(
    value: dict[str, Any], action: HandoverAction, page_id: str, user_id: str, timestamp: int
) -> Handover:
    """A ``pass_thread_control`` / ``take_thread_control`` / ``request_thread_control``
    object; for a request, the app asking is ``new_owner``."""
    new_owner = value.get("requested_owner_app_id" if action == "request" else "new_owner_app_id")
    return Handover(
        page_id=page_id,
        user_id=user_id,
        timestamp=timestamp,
        action=action,
        previous_owner=read_str(value.get("previous_owner_app_id")) or None,
        new_owner=read_str(new_owner) or None,
        metadata=read_optional(value.get("metadata")),
    )
