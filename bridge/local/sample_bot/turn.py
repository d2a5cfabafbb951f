"""One answer of a Lex-style bot: its messages, its session, and the slot it asks for.

Standard library only, like the dialogs built on it, so the same code can run behind the local
Lex endpoint and in a Lambda code hook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SlotValue:
    """A filled slot: what the user typed and what it was resolved to."""

    original: str
    interpreted: str


@dataclass(frozen=True)
class Turn:
    """What the bot says for one input, the session it leaves behind, and the dialog action:
    ``elicit`` names the slot the bot is waiting for (Lex's ElicitSlot), None closes the
    intent."""

    intent: str
    messages: list[dict[str, Any]]
    session_attributes: dict[str, str] = field(default_factory=dict)
    elicit: str | None = None
    slots: dict[str, SlotValue | None] = field(default_factory=dict)


def wire_slot(value: SlotValue | None) -> dict[str, Any] | None:
    """A slot as Lex V2 writes it in ``sessionState.intent.slots`` (None: not filled)."""
    if value is None:
        return None
    return {
        "shape": "Scalar",
        "value": {
            "originalValue": value.original,
            "interpretedValue": value.interpreted,
            "resolvedValues": [value.interpreted],
        },
    }


def plain(text: str) -> dict[str, Any]:
    return {"contentType": "PlainText", "content": text}


def ssml(text: str) -> dict[str, Any]:
    return {"contentType": "SSML", "content": text}


def card(
    title: str,
    *,
    subtitle: str | None = None,
    image_url: str | None = None,
    buttons: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """An ImageResponseCard; ``buttons`` are (text, value) pairs."""
    response_card: dict[str, Any] = {"title": title}
    if subtitle:
        response_card["subtitle"] = subtitle
    if image_url:
        response_card["imageUrl"] = image_url
    response_card["buttons"] = [{"text": text, "value": value} for text, value in buttons or []]
    return {"contentType": "ImageResponseCard", "imageResponseCard": response_card}
