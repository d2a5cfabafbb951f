"""Webhook deliveries shaped and signed as Meta sends them; pure, no I/O.

A delivery is the body Meta POSTs to the webhook: one ``entry`` per Page holding
``messaging`` items. Its bytes are Meta's escaped-unicode JSON (``meta_bytes``), and
``X-Hub-Signature-256`` is computed over exactly those bytes, so whatever posts a delivery
(the terminal chat, the emulator page, replay, tests) builds it here rather than with
``json.dumps``.
https://developers.facebook.com/docs/messenger-platform/webhooks#event-notifications
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bridge.messenger.events import meta_bytes
from bridge.messenger.signature import SIGNATURE_HEADER, sign


@dataclass(frozen=True, slots=True)
class Choice:
    """Something the user can tap: a quick reply or a postback button."""

    title: str
    payload: str
    kind: str  # "quick_reply" or "postback"


def build_delivery(page_id: str, psid: str, item: dict[str, Any], now_ms: int) -> bytes:
    """A webhook delivery with one messaging item, serialised as Meta does (ASCII escapes)."""
    messaging = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now_ms, **item}
    body = {"object": "page", "entry": [{"id": page_id, "time": now_ms, "messaging": [messaging]}]}
    return meta_bytes(body)


def delivery_headers(body: bytes, secret: str) -> dict[str, str]:
    """The headers Meta sends with ``body``: JSON, and the signature over its exact bytes."""
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}


def new_mid() -> str:
    """A fresh message id, shaped like Meta's (``m_`` and an opaque string)."""
    return "m_" + uuid.uuid4().hex


def text_item(text: str, mid: str) -> dict[str, Any]:
    """The event Messenger sends when a person types ``text``."""
    return {"message": {"mid": mid, "text": text}}


def choice_item(choice: Choice, mid: str) -> dict[str, Any]:
    """The event Messenger sends when a quick reply or a postback button is tapped."""
    if choice.kind == "quick_reply":
        return {
            "message": {
                "mid": mid,
                "text": choice.title,
                "quick_reply": {"payload": choice.payload},
            }
        }
    return {"postback": {"mid": mid, "title": choice.title, "payload": choice.payload}}
