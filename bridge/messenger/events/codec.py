"""Events as JSON: stored in the queue (``to_json`` / ``from_json``), and webhook bodies as
Meta serialises them (``meta_bytes``, the bytes a signature is computed over)."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields, is_dataclass
from typing import Any

from bridge.messenger.events.types import (
    Attachment,
    Event,
    Media,
    Optin,
    Postback,
    QuickReply,
    Referral,
    ReferralData,
    ReplyTo,
    TextMessage,
)

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
    """Serialise an event for the queue. Fields at their default are left out, so a text event
    is stored exactly as before attachments and referrals were read. The same JSON as
    ``json.dumps(asdict(event))`` less those fields, built without ``asdict``'s deep copies
    (the webhook calls this for every event)."""
    stored: dict[str, Any] = {}
    for name, default in _stored_fields(type(event)):
        value = getattr(event, name)
        if default is not _KEPT and value == default:
            continue
        stored[name] = value if type(value) in _PLAIN else _plain(value)
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


_KEPT = object()  # a field that is always stored (no default, or ``kind``)
_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELDS: dict[type, tuple[tuple[str, object], ...]] = {}


def _stored_fields(cls: type) -> tuple[tuple[str, object], ...]:
    """A dataclass's fields in order, each with the default that leaves it out of an event."""
    known = _FIELDS.get(cls)
    if known is None:
        known = _FIELDS[cls] = tuple(
            (item.name, _KEPT if item.name == "kind" or item.default is MISSING else item.default)
            for item in fields(cls)
        )
    return known


def _plain(value: object) -> object:
    """A nested value as ``asdict`` makes it: dataclasses as dicts (every field), tuples and
    lists as lists."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name, _ in _stored_fields(type(value))}
    return value


_STORED_KINDS: dict[str, type[Event]] = {
    "text": TextMessage,
    "quick_reply": QuickReply,
    "postback": Postback,
    "attachment": Attachment,
    "referral": Referral,
    "optin": Optin,
}


def from_json(data: str) -> Event:
    """Rebuild an event stored by :func:`to_json`."""
    stored = json.loads(data)
    kind = stored.get("kind")
    cls = _STORED_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown stored event kind: {kind!r}")
    if "attachments" in stored:
        stored["attachments"] = tuple(Media(**media) for media in stored["attachments"])
    if stored.get("reply_to") is not None:
        stored["reply_to"] = ReplyTo(**stored["reply_to"])
    if stored.get("referral") is not None:
        referral = dict(stored["referral"])
        referral["ads_context"] = tuple(tuple(pair) for pair in referral.get("ads_context", ()))
        stored["referral"] = ReferralData(**referral)
    return cls(**stored)
