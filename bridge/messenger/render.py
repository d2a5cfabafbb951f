"""Turn neutral replies into Send API message objects that respect every Messenger limit.

Pure and total: no I/O, and any ``Reply`` renders to zero or more messages within the limits
in ``bridge.messenger.limits`` (a bot's custom payload is passed through only if it keeps them too).
Limits: https://developers.facebook.com/docs/messenger-platform/reference/send-api/
Lengths are counted in UTF-16 code units (``bridge.messenger.text``), never fewer than the
characters Meta counts; cuts fall between grapheme clusters.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any, assert_never

import regex

from bridge.messenger.limits import (
    BUTTON_TITLE_MAX,
    BUTTONS_MAX,
    ELEMENT_SUBTITLE_MAX,
    ELEMENT_TITLE_MAX,
    PAYLOAD_MAX,
    QUICK_REPLIES_MAX,
    QUICK_REPLY_TITLE_MAX,
    TEXT_MAX,
    message_problems,
)
from bridge.messenger.replies import (
    Button,
    Card,
    Custom,
    Fallback,
    Handover,
    JsonObject,
    Reply,
    Ssml,
    Text,
)
from bridge.messenger.text import ELLIPSIS
from bridge.messenger.text import split_text as split_between
from bridge.messenger.text import truncate as truncate_between

PLACEHOLDER_TEXT = ELLIPSIS  # stands in for a blank card title where Meta requires text

_GRAPHEME = regex.compile(r"\X")
_SEPARATING_TAG = regex.compile(r"<\s*/?\s*(?:break|p|s)\b[^>]*>", regex.IGNORECASE)
_TAG = regex.compile(r"<[^>]*>")
_BLANKS = regex.compile(r"[ \t]+")
_BLANKS_AROUND_NEWLINE = regex.compile(r" ?\n ?")


def render(reply: Reply) -> list[JsonObject]:
    """Render one reply as Send API ``message`` objects, in sending order."""
    match reply:
        case Text(text=text):
            return _text_messages(text)
        case Ssml(ssml=ssml):
            return _text_messages(ssml_to_text(ssml))
        case Card():
            return _card_messages(reply)
        case Custom(content=content):
            return _custom_messages(content)
        case Handover():
            return []  # not a message: delivery passes thread control (bridge.delivery.handover)
        case Fallback():
            return []  # delivery sends the Page's fallback text instead (bridge.delivery.asking)
        case _:
            assert_never(reply)


def _text_messages(text: str) -> list[JsonObject]:
    """One text message per chunk of ``text``."""
    return [{"text": chunk} for chunk in split_text(text)]


# --- cards -------------------------------------------------------------------------------


def _card_messages(card: Card) -> list[JsonObject]:
    """A generic template if the card has an image or subtitle, else text with quick replies."""
    buttons = [b for b in card.buttons if _has_text(b.title) and _has_text(b.value)]
    if _has_text(card.image_url) or _has_text(card.subtitle):
        return [_generic_message(card, buttons)]
    return _text_with_quick_replies(card.title, buttons)


def _generic_message(card: Card, buttons: Sequence[Button]) -> JsonObject:
    """A one-element generic template; buttons beyond the third become quick replies."""
    element = _drop_none(
        {
            "title": truncate(_required(card.title), ELEMENT_TITLE_MAX),
            "subtitle": _truncate_optional(card.subtitle, ELEMENT_SUBTITLE_MAX),
            "image_url": card.image_url if _has_text(card.image_url) else None,
            "buttons": [_postback(b) for b in buttons[:BUTTONS_MAX]] or None,
        }
    )
    payload = {"template_type": "generic", "elements": [element]}
    message: JsonObject = {"attachment": {"type": "template", "payload": payload}}
    return _with_quick_replies(message, buttons[BUTTONS_MAX:])


def _text_with_quick_replies(text: str, buttons: Sequence[Button]) -> list[JsonObject]:
    """Text messages, the last carrying the buttons as quick replies."""
    messages = _text_messages(text)
    if not buttons:
        return messages
    if not messages:
        messages = [{"text": PLACEHOLDER_TEXT}]
    messages[-1] = _with_quick_replies(messages[-1], buttons)
    return messages


def _with_quick_replies(message: JsonObject, buttons: Sequence[Button]) -> JsonObject:
    """``message`` plus up to ``QUICK_REPLIES_MAX`` quick replies, if there are any."""
    if not buttons:
        return message
    return {**message, "quick_replies": [_quick_reply(b) for b in buttons[:QUICK_REPLIES_MAX]]}


def _postback(button: Button) -> JsonObject:
    """A postback button whose payload is the button's value."""
    return {
        "type": "postback",
        "title": truncate(button.title, BUTTON_TITLE_MAX),
        "payload": truncate(button.value, PAYLOAD_MAX),
    }


def _quick_reply(button: Button) -> JsonObject:
    """A text quick reply whose payload is the button's value."""
    return {
        "content_type": "text",
        "title": truncate(button.title, QUICK_REPLY_TITLE_MAX),
        "payload": truncate(button.value, PAYLOAD_MAX),
    }


def _has_text(value: str | None) -> bool:
    """True if ``value`` is a string with something besides whitespace."""
    return value is not None and not _is_blank(value)


def _required(title: str) -> str:
    """``title``, or the placeholder when it is blank (Meta requires a title)."""
    return title if _has_text(title) else PLACEHOLDER_TEXT


def _truncate_optional(text: str | None, limit: int) -> str | None:
    """``truncate(text, limit)``, or None for a missing or blank text."""
    return None if text is None or _is_blank(text) else truncate(text, limit)


def _drop_none(fields: dict[str, Any]) -> JsonObject:
    """``fields`` without the None values."""
    return {key: value for key, value in fields.items() if value is not None}


# --- custom payloads ---------------------------------------------------------------------


def _custom_messages(content: str) -> list[JsonObject]:
    """The custom payload itself if it is a valid message object, else its text."""
    message = _parse_message(content)
    return [message] if message is not None else _text_messages(content)


def _parse_message(content: str) -> JsonObject | None:
    """The message object in ``content`` (bare or as ``{"message": ...}``), or None."""
    try:
        obj = json.loads(content)
    except (ValueError, RecursionError):
        return None
    if isinstance(obj, dict) and obj.keys() == {"message"}:
        obj = obj["message"]
    return obj if isinstance(obj, dict) and not message_problems(obj) else None


# --- SSML ----------------------------------------------------------------------------------


def ssml_to_text(ssml: str) -> str:
    """The text a chat user should see for an SSML document."""
    text: str = _TAG.sub("", _SEPARATING_TAG.sub(" ", ssml))
    text = _BLANKS.sub(" ", html.unescape(text))
    text = _BLANKS_AROUND_NEWLINE.sub("\n", text)
    return text.strip()


# --- truncation and splitting, by grapheme clusters --------------------------------------


def graphemes(text: str) -> list[str]:
    """``text``'s grapheme clusters (what a reader sees as one character, Unicode UAX #29)."""
    found: list[str] = _GRAPHEME.findall(text)
    return found


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-16 units at a grapheme boundary, ending with "…"."""
    return truncate_between(text, limit, pieces=graphemes)


def split_text(text: str, limit: int = TEXT_MAX - 1) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 units, at the most natural breaks."""
    return split_between(text, limit, pieces=graphemes)


def _is_blank(text: str) -> bool:
    """True for an empty or whitespace-only string."""
    return not text or text.isspace()
