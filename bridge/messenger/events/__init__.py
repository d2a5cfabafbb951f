"""Webhook JSON → typed inbound events, and events as JSON; pure, no I/O.

The records are in ``types``; ``parse`` reads a webhook body (``thread`` its echoes and
handovers, ``inbound`` the events a person's action makes, ``parts`` and ``fields`` what those
share); ``inputs`` says what the bot receives, ``keys`` how events are told apart, ``codec``
how they are stored. The names below are what the rest of the bridge uses.
"""

from bridge.messenger.events.codec import from_json, meta_bytes, to_json
from bridge.messenger.events.inputs import bot_input, is_like, no_text_kind
from bridge.messenger.events.keys import conversation_key, conversation_of, dedupe_key
from bridge.messenger.events.parse import parse_webhook
from bridge.messenger.events.types import (
    Attachment,
    Echo,
    Event,
    Handover,
    Media,
    Optin,
    ParseResult,
    PolicyEnforcement,
    Postback,
    QuickReply,
    Referral,
    ReferralData,
    ReplyTo,
    Skipped,
    StandbyItem,
    TextMessage,
    TokenUpdate,
)

__all__ = [
    "Attachment",
    "Echo",
    "Event",
    "Handover",
    "Media",
    "Optin",
    "ParseResult",
    "PolicyEnforcement",
    "Postback",
    "QuickReply",
    "Referral",
    "ReferralData",
    "ReplyTo",
    "Skipped",
    "StandbyItem",
    "TextMessage",
    "TokenUpdate",
    "bot_input",
    "conversation_key",
    "conversation_of",
    "dedupe_key",
    "from_json",
    "is_like",
    "meta_bytes",
    "no_text_kind",
    "parse_webhook",
    "to_json",
]
