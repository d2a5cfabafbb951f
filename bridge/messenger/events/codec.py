"""Events as JSON: stored in the queue (``to_json`` / ``from_json``), and webhook bodies as
Meta serialises them (``meta_bytes``, the bytes a signature is computed over)."""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, fields

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
    is stored exactly as before attachments and referrals were read."""
    stored = asdict(event)
    for item in fields(event):
        if item.name != "kind" and item.default is not MISSING:
            if getattr(event, item.name) == item.default:
                del stored[item.name]
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


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
