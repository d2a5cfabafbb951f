"""The keys of an event: one for every redelivery of it (dedupe), one for its conversation
(turns of one conversation run one at a time, in order)."""

from __future__ import annotations

import hashlib

from bridge.messenger.events.types import (
    Attachment,
    Event,
    Postback,
    QuickReply,
    Referral,
    TextMessage,
)


def dedupe_key(event: Event) -> str:
    """A key that is the same for every redelivery of one event: its mid, else a digest."""
    if isinstance(event, TextMessage | QuickReply | Attachment):
        return event.mid
    parts: tuple[str, ...]
    if isinstance(event, Postback):
        if event.mid:
            return event.mid
        # Postbacks from before Graph v11.0 carry no mid.
        parts = (event.payload,)
    elif isinstance(event, Referral):
        data = event.referral
        parts = (data.source, data.type, data.ref or "", data.ad_id or "")
    else:
        parts = (event.optin_type, event.payload or "", event.status or "", event.ref or "")
    seed = "|".join((event.kind, event.page_id, event.sender_id, str(event.timestamp), *parts))
    return "derived:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def conversation_key(event: Event) -> str:
    """One conversation per Page and person; turns within it run one at a time, in order."""
    return conversation_of(event.page_id, event.sender_id)


def conversation_of(page_id: str, user_id: str) -> str:
    """The conversation of a Page and a person (an outbound message joins the same one)."""
    return f"{page_id}:{user_id}"
