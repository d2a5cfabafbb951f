"""The code hook's wire format, pure: a Lex V2 Lambda event in, a Lex V2 response out.

The event (``messageVersion`` 1.0) gives the text (``inputTranscript``), the session attributes
(a string→string map; the dialog keeps JSON in its values) and the intent Lex chose with its
slots. The response carries ``sessionState`` (``dialogAction`` ElicitSlot while the dialog waits
for a slot, else Close; the intent and its state; the session attributes) and the messages,
kept within Lex's limits: at most 10 messages, each text 1–1024 UTF-16 units (longer text is
split at paragraphs), cards with a title of 1–250 characters and at most 5 buttons whose text
and value have 1–50, session attributes under 12 KB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.local.sample_bot.symptoms import Hint
from bridge.local.sample_bot.turn import SlotValue, Turn, wire_slot
from bridge.local.sample_bot.wording import clip
from bridge.messenger.text import utf16_len

# The intents of the bot definition (template.py); a turn answered by the dialog under another
# name (its diagnostics) is reported under the intent Lex invoked.
BOT_INTENTS = frozenset(
    {"Welcome", "ListConditions", "SymptomsOf", "MatchSymptom", "Goodbye", "FallbackIntent"}
)
SLOT_OF = {"SymptomsOf": "Condition", "MatchSymptom": "Symptom"}
MESSAGES_MAX = 10
CONTENT_MAX = 1024  # UTF-16 units of a PlainText or SSML message
TITLE_MAX = 250  # a card's title and subtitle
BUTTONS_MAX = 5
BUTTON_MAX = 50  # a button's text and value
SESSION_MAX = 12_000  # bytes of session attributes in a Lambda response
BOT_KEYS = ("lang", "turns", "pending", "history", "page")  # the dialog's session attributes


@dataclass(frozen=True)
class Request:
    """What the dialog needs from an event."""

    text: str
    session: dict[str, str]
    hint: Hint
    invocation: str  # DialogCodeHook or FulfillmentCodeHook
    intent: str  # the intent Lex invoked
    slots: dict[str, Any] = field(default_factory=dict)  # its slots, as Lex sent them
    session_id: str = ""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def slot_value(slot: object) -> SlotValue | None:
    """A filled slot of the event: what the user said and what Lex resolved it to (the first
    resolved value, else the interpreted one); None when the slot is empty."""
    value = _mapping(_mapping(slot).get("value"))
    interpreted = value.get("interpretedValue")
    resolved = value.get("resolvedValues")
    if isinstance(resolved, list) and resolved and isinstance(resolved[0], str) and resolved[0]:
        interpreted = resolved[0]
    if not isinstance(interpreted, str) or not interpreted.strip():
        return None
    original = value.get("originalValue")
    if not isinstance(original, str) or not original.strip():
        original = value.get("interpretedValue")
    return SlotValue(original if isinstance(original, str) else interpreted, interpreted)


def parse_event(event: Mapping[str, Any]) -> Request:
    """The request in a Lex V2 event; missing or malformed parts read as empty."""
    state = _mapping(event.get("sessionState"))
    intent = _mapping(state.get("intent"))
    name = intent.get("name")
    name = name if isinstance(name, str) else "FallbackIntent"
    slots = dict(_mapping(intent.get("slots")))
    slot_name = SLOT_OF.get(name)
    attributes = _mapping(state.get("sessionAttributes"))
    text = event.get("inputTranscript")
    invocation = event.get("invocationSource")
    session_id = event.get("sessionId")
    return Request(
        text=text if isinstance(text, str) else "",
        session={k: v for k, v in attributes.items() if isinstance(k, str) and isinstance(v, str)},
        hint=Hint(name, slot_value(slots.get(slot_name)) if slot_name else None),
        invocation=invocation if isinstance(invocation, str) else "",
        intent=name,
        slots=slots,
        session_id=session_id if isinstance(session_id, str) else "",
    )


def _split(content: str) -> list[str]:
    """``content`` in parts of at most CONTENT_MAX units, cut between paragraphs (a paragraph
    too long on its own is clipped)."""
    parts: list[str] = []
    for paragraph in (p for p in content.split("\n\n") if p.strip()):
        paragraph = clip(paragraph, CONTENT_MAX)
        if parts and utf16_len(parts[-1]) + 2 + utf16_len(paragraph) <= CONTENT_MAX:
            parts[-1] += "\n\n" + paragraph
        else:
            parts.append(paragraph)
    return parts


def _fit_card(message: dict[str, Any]) -> dict[str, Any] | None:
    response_card = _mapping(message.get("imageResponseCard"))
    title = response_card.get("title")
    if not isinstance(title, str) or not title:
        return None
    fitted: dict[str, Any] = {"title": clip(title, TITLE_MAX)}
    subtitle = response_card.get("subtitle")
    if isinstance(subtitle, str) and subtitle:
        fitted["subtitle"] = clip(subtitle, TITLE_MAX)
    image = response_card.get("imageUrl")
    if isinstance(image, str) and 0 < len(image) <= TITLE_MAX:
        fitted["imageUrl"] = image
    buttons = [
        {"text": clip(b["text"], BUTTON_MAX), "value": b["value"]}
        for b in response_card.get("buttons", [])
        if b.get("text") and 0 < len(b.get("value", "")) <= BUTTON_MAX  # a cut value misleads
    ]
    fitted["buttons"] = buttons[:BUTTONS_MAX]
    return {"contentType": "ImageResponseCard", "imageResponseCard": fitted}


def fit_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` within Lex's limits (see the module's docstring)."""
    fitted: list[dict[str, Any]] = []
    for message in messages:
        if message.get("contentType") == "ImageResponseCard":
            response_card = _fit_card(message)
            fitted += [response_card] if response_card else []
        elif isinstance(message.get("content"), str):
            kind, parts = message["contentType"], _split(message["content"])
            fitted += [{"contentType": kind, "content": part} for part in parts]
    return fitted[:MESSAGES_MAX]


def fit_session(session: dict[str, str]) -> dict[str, str]:
    """The session attributes, or only the dialog's own when the whole map is over Lex's
    limit (another writer's oversized values are dropped rather than the turn failing)."""
    if len(json.dumps(session, ensure_ascii=False).encode()) <= SESSION_MAX:
        return session
    return {k: session[k] for k in BOT_KEYS if k in session}


def lex_response(request: Request, turn: Turn, *, failed: bool = False) -> dict[str, Any]:
    """The Lex V2 response for the dialog's turn: ElicitSlot while a slot is pending (on the
    intent that owns it), else Close with the intent Fulfilled (Failed when ``failed``)."""
    name = turn.intent if turn.intent in BOT_INTENTS and not failed else request.intent
    slots: dict[str, Any] = dict(request.slots) if name == request.intent else {}
    slots.update({slot: wire_slot(value) for slot, value in turn.slots.items()})
    if turn.elicit:
        action: dict[str, str] = {"type": "ElicitSlot", "slotToElicit": turn.elicit}
        state = "InProgress"
    else:
        action = {"type": "Close"}
        state = "Failed" if failed else "Fulfilled"
    return {
        "sessionState": {
            "dialogAction": action,
            "intent": {
                "name": name,
                "slots": slots,
                "state": state,
                "confirmationState": "None",
            },
            "sessionAttributes": fit_session(turn.session_attributes),
        },
        "messages": fit_messages(turn.messages),
    }
