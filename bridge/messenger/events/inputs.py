"""What the bot receives for an event: its text, or for an event without text, its kind."""

from __future__ import annotations

from collections.abc import Mapping

from bridge.config.patterns import ATTACHMENT_KINDS
from bridge.messenger.events.types import (
    LIKE_STICKER_IDS,
    Attachment,
    Event,
    Media,
    Optin,
    Postback,
    QuickReply,
    Referral,
    TextMessage,
)


def is_like(media: Media) -> bool:
    """Messenger's Like (thumbs-up) sticker, in any of its sizes."""
    return media.type == "sticker" and media.sticker_id in LIKE_STICKER_IDS


def attachment_kind(attachments: tuple[Media, ...]) -> str:
    """The kind of an attachment-only message: ``like`` if it is only Like stickers, else the
    type of its first attachment (``other`` for a type without a kind of its own)."""
    if attachments and all(is_like(media) for media in attachments):
        return "like"
    first = attachments[0].type if attachments else "other"
    return first if first in ATTACHMENT_KINDS else "other"


def no_text_kind(event: Event) -> str | None:
    """For an event without text of its own (attachments, a referral, an opt-in), its kind
    (one of ``NO_TEXT_KINDS``); None for events that carry text."""
    if isinstance(event, Attachment):
        return attachment_kind(event.attachments)
    if isinstance(event, Referral | Optin):
        return event.kind
    return None


def bot_input(event: Event, texts: Mapping[str, str] | None = None) -> str:
    """The text the bot receives: what was typed, or the tapped choice's payload; for an event
    without text, the text ``texts`` gives its kind (default: the kind's name, e.g. ``image``)."""
    if isinstance(event, TextMessage):
        return event.text
    if isinstance(event, QuickReply):
        return event.payload
    if isinstance(event, Postback):
        return event.payload if event.payload.strip() else event.title
    kind = no_text_kind(event) or event.kind
    return (texts or {}).get(kind) or kind
