"""Webhook JSON → typed inbound events; pure, no I/O.

Every ``entry`` and every ``messaging`` item is read. Only what a person said to the Page
becomes an event for the bot: text messages, quick-reply taps and postbacks. Echoes,
deliveries, reads, reactions and everything under ``standby`` (a thread the bridge does not
own) are skipped with a named reason; unknown keys and event types are tolerated.
https://developers.facebook.com/docs/messenger-platform/webhooks
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

_SECONDS_BEFORE = 10**11  # an epoch below this is in seconds (ms would be before 1973)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Keys of a messaging item that name an event type we know and deliberately skip.
_SKIPPED_KINDS = (
    "delivery",
    "read",
    "reaction",
    "referral",
    "optin",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "account_linking",
    "policy_enforcement",
    "message_edit",
)


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A person typed text."""

    page_id: str
    sender_id: str
    timestamp: int
    mid: str
    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A person tapped a quick reply; ``text`` is its title, ``payload`` what the bot gets."""

    page_id: str
    sender_id: str
    timestamp: int
    mid: str
    text: str
    payload: str
    kind: Literal["quick_reply"] = "quick_reply"


@dataclass(frozen=True, slots=True)
class Postback:
    """A person tapped a postback button, Get Started, or a persistent-menu item."""

    page_id: str
    sender_id: str
    timestamp: int
    mid: str | None
    title: str
    payload: str
    kind: Literal["postback"] = "postback"


Event = TextMessage | QuickReply | Postback


@dataclass(frozen=True, slots=True)
class Skipped:
    """A messaging item that is not sent to the bot, and why (for logs and metrics)."""

    reason: str


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The events to hand to the bot, the items skipped, and whether the body had our shape."""

    events: list[Event]
    skipped: list[Skipped]
    well_formed: bool = True


def parse_webhook(body: object, *, page_id: str | None = None) -> ParseResult:
    """Read a decoded webhook body; ``page_id`` (if given) drops entries for other Pages."""
    if not isinstance(body, dict) or body.get("object") != "page":
        return ParseResult([], [Skipped("not_page_object")], well_formed=False)
    entries = body.get("entry")
    if not isinstance(entries, list):
        return ParseResult([], [Skipped("no_entry_list")], well_formed=False)
    events: list[Event] = []
    skipped: list[Skipped] = []
    for entry in entries:
        for item in _entry_items(entry, page_id, skipped):
            result = to_event(item, entry)
            if isinstance(result, Skipped):
                skipped.append(result)
            else:
                events.append(result)
    return ParseResult(events, skipped)


def _entry_items(entry: object, page_id: str | None, skipped: list[Skipped]) -> list[Any]:
    """The messaging items of one entry that may carry events for the bot."""
    if not isinstance(entry, dict):
        skipped.append(Skipped("malformed_entry"))
        return []
    if page_id is not None and str(entry.get("id")) != page_id:
        skipped.append(Skipped("other_page"))
        return []
    standby = entry.get("standby")
    if isinstance(standby, list):
        skipped.extend(Skipped("standby") for _ in standby)
    items = entry.get("messaging")
    if items is None:
        if not isinstance(standby, list):
            skipped.append(Skipped("no_messaging"))
        return []
    if not isinstance(items, list):
        skipped.append(Skipped("malformed_entry"))
        return []
    return items


def to_event(item: object, entry: dict[str, Any]) -> Event | Skipped:
    """Turn one ``messaging`` item into an event, or say why it is skipped."""
    if not isinstance(item, dict):
        return Skipped("malformed_item")
    sender_id = _id_of(item.get("sender"))
    page_id = _id_of(item.get("recipient")) or _str(entry.get("id"))
    timestamp = _millis(item.get("timestamp"), entry.get("time"))
    message = item.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return Skipped("echo")
        if not sender_id or not page_id:
            return Skipped("no_sender")
        return _message_event(message, page_id, sender_id, timestamp)
    postback = item.get("postback")
    if isinstance(postback, dict):
        if not sender_id or not page_id:
            return Skipped("no_sender")
        return _postback_event(postback, page_id, sender_id, timestamp)
    for kind in _SKIPPED_KINDS:
        if kind in item:
            return Skipped(kind)
    return Skipped("unknown")


def _message_event(
    message: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    mid = _str(message.get("mid"))
    if not mid:
        return Skipped("no_mid")
    text = _text(message.get("text"))
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict):
        payload = _text(quick_reply.get("payload"))
        if payload.strip():
            return QuickReply(page_id, sender_id, timestamp, mid, text, payload)
    if not text.strip():
        return Skipped("attachment" if message.get("attachments") else "no_text")
    return TextMessage(page_id, sender_id, timestamp, mid, text)


def _postback_event(
    postback: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    title = _text(postback.get("title"))
    payload = _text(postback.get("payload"))
    if not payload.strip() and not title.strip():
        return Skipped("empty_postback")
    mid = _str(postback.get("mid")) or None
    return Postback(page_id, sender_id, timestamp, mid, title, payload)


def bot_input(event: Event) -> str:
    """The text the bot receives: what was typed, or the tapped choice's payload."""
    if isinstance(event, TextMessage):
        return event.text
    if isinstance(event, QuickReply):
        return event.payload
    return event.payload if event.payload.strip() else event.title


def dedupe_key(event: Event) -> str:
    """A key that is the same for every redelivery of one event: its mid, else a digest."""
    if isinstance(event, Postback) and not event.mid:
        # Postbacks from before Graph v11.0 carry no mid.
        seed = "|".join(
            (event.kind, event.page_id, event.sender_id, str(event.timestamp), event.payload)
        )
        return "derived:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]
    return str(event.mid)


def conversation_key(event: Event) -> str:
    """One conversation per Page and person; turns within it run one at a time, in order."""
    return f"{event.page_id}:{event.sender_id}"


_META_ESCAPES = {"/": "\\/", "<": "\\u003C", "%": "\\u0025", "@": "\\u0040"}


def meta_bytes(body: object) -> bytes:
    """Serialise a webhook body the way Meta does: compact, ASCII with ``\\uXXXX`` escapes,
    and ``/ < % @`` escaped too (the bytes a signature is computed over). Those characters
    occur only inside JSON strings, so replacing them everywhere is safe."""
    text = json.dumps(body, ensure_ascii=True, separators=(",", ":"))
    for char, escape in _META_ESCAPES.items():
        text = text.replace(char, escape)
    return text.encode()


def to_json(event: Event) -> str:
    """Serialise an event for the queue."""
    return json.dumps(asdict(event), ensure_ascii=False, separators=(",", ":"))


def from_json(data: str) -> Event:
    """Rebuild an event stored by :func:`to_json`."""
    fields = json.loads(data)
    kind = fields.get("kind")
    if kind == "text":
        return TextMessage(**fields)
    if kind == "quick_reply":
        return QuickReply(**fields)
    if kind == "postback":
        return Postback(**fields)
    raise ValueError(f"unknown stored event kind: {kind!r}")


def _id_of(party: object) -> str:
    return _str(party.get("id")) if isinstance(party, dict) else ""


def _str(value: object) -> str:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _text(value: object) -> str:
    """A string field, with lone surrogates (valid JSON escapes, invalid Unicode) replaced."""
    if not isinstance(value, str):
        return ""
    return _LONE_SURROGATE.sub("\ufffd", value)


def _millis(value: object, fallback: object = None) -> int:
    """Messenger timestamps are epoch milliseconds, sometimes sent as strings."""
    for candidate in (value, fallback):
        if isinstance(candidate, bool):
            continue
        number: int | None = None
        if isinstance(candidate, int):
            number = candidate
        elif isinstance(candidate, str) and candidate.isascii() and candidate.isdigit():
            number = int(candidate)
        elif isinstance(candidate, float):
            number = int(candidate)
        if number is not None:
            # Meta's postback reference shows 10-digit (seconds) strings; everything else is ms.
            return number * 1000 if 0 < number < _SECONDS_BEFORE else number
    return 0
