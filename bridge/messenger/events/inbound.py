"""The events a person's action makes, one builder per key of a messaging item: a message (text,
a quick-reply tap, attachments), a postback, a referral, an opt-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.messenger.events.fields import read_millis, read_optional, read_str, read_text
from bridge.messenger.events.parts import to_media, to_referral, to_reply_to
from bridge.messenger.events.types import (
    Attachment,
    Event,
    Optin,
    Postback,
    QuickReply,
    Referral,
    Skipped,
    TextMessage,
)

# Reads one kind of messaging item's object: (object, page id, sender id, timestamp).
Builder = Callable[[dict[str, Any], str, str, int], Event | Skipped]


def _message_event(
    message: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    mid = read_str(message.get("mid"))
    if not mid:
        return Skipped("no_mid")
    text = read_text(message.get("text"))
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict):
        payload = read_text(quick_reply.get("payload"))
        if payload.strip():
            return QuickReply(page_id, sender_id, timestamp, mid, text, payload)
    attachments = to_media(message.get("attachments"))
    reply_to = to_reply_to(message.get("reply_to"))
    referral = to_referral(message.get("referral"))
    if text.strip():
        return TextMessage(
            page_id, sender_id, timestamp, mid, text, attachments, reply_to, referral
        )
    if attachments:
        return Attachment(page_id, sender_id, timestamp, mid, attachments, reply_to, referral)
    # Attachments we cannot read (no type) are as good as none.
    return Skipped("bad_attachment" if message.get("attachments") else "no_text")


def _postback_event(
    postback: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    title = read_text(postback.get("title"))
    payload = read_text(postback.get("payload"))
    if not payload.strip() and not title.strip():
        return Skipped("empty_postback")
    mid = read_str(postback.get("mid")) or None
    referral = to_referral(postback.get("referral"))
    return Postback(page_id, sender_id, timestamp, mid, title, payload, referral)


def _referral_event(
    referral: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    data = to_referral(referral)
    if data is None:
        return Skipped("empty_referral")
    return Referral(page_id, sender_id, timestamp, data)


def _optin_event(
    optin: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    return Optin(
        page_id,
        sender_id,
        timestamp,
        optin_type=read_str(optin.get("type")),
        ref=read_optional(optin.get("ref")),
        payload=read_optional(optin.get("payload")),
        title=read_optional(optin.get("title")),
        status=read_optional(optin.get("notification_messages_status")),
        frequency=read_optional(optin.get("notification_messages_frequency")),
        timezone=read_optional(optin.get("notification_messages_timezone")),
        token_expiry=read_millis(optin.get("token_expiry_timestamp")) or None,
    )


# Which key of a messaging item makes which event; the first present wins.
BUILDERS: tuple[tuple[str, Builder], ...] = (
    ("message", _message_event),
    ("postback", _postback_event),
    ("referral", _referral_event),
    ("optin", _optin_event),
)
