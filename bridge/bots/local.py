"""The local sample bot: answers RecognizeText turns in local mode, with no AWS account.

It is a real backend, not a test double: the bridge reaches it through boto3's Lex V2 client
and the Lex V2 runtime wire format, exactly as it reaches a bot on AWS. Its answers exercise
every rendering path: plain text, a card with an image and buttons, choices as quick replies,
a long answer that must be split, SSML, and per-session state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

GREETINGS = frozenset({"hi", "hello", "hey", "help", "start", "get_started", "안녕", "안녕하세요"})
LONG_PARAGRAPH = (
    "Messenger refuses a text of 2000 characters or more, so the bridge splits long answers "
    "at paragraph, sentence or word boundaries and sends the parts in order. "
)


@dataclass(frozen=True)
class Turn:
    """What the sample bot says for one input, and the session it leaves behind."""

    intent: str
    messages: list[dict[str, Any]]
    session_attributes: dict[str, str] = field(default_factory=dict)


def plain(text: str) -> dict[str, Any]:
    return {"contentType": "PlainText", "content": text}


def card(
    title: str,
    *,
    subtitle: str | None = None,
    image_url: str | None = None,
    buttons: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    response_card: dict[str, Any] = {"title": title}
    if subtitle:
        response_card["subtitle"] = subtitle
    if image_url:
        response_card["imageUrl"] = image_url
    response_card["buttons"] = [{"text": text, "value": value} for text, value in buttons or []]
    return {"contentType": "ImageResponseCard", "imageResponseCard": response_card}


MENU = card(
    "What would you like to try?",
    buttons=[
        ("Show a card", "card"),
        ("A long answer", "long"),
        ("Count my turns", "count"),
    ],
)


def respond(text: str, session: dict[str, str], *, asset_base: str) -> Turn:
    """One turn of the sample bot; pure: the caller stores the session."""
    counted = session.get("turns", "0")
    turns = (int(counted) if counted.isascii() and counted.isdigit() else 0) + 1
    state = {**session, "turns": str(turns)}
    word = text.strip().lower()
    if word in GREETINGS:
        return Turn("Welcome", [plain("Hello! I am the bridge's sample bot."), MENU], state)
    if word == "card":
        return Turn(
            "ShowCard",
            [
                card(
                    "Messenger Lex Bridge",
                    subtitle="A Lex card becomes a Messenger generic template.",
                    image_url=f"{asset_base}/card.svg",
                    buttons=[("Say hello", "hello"), ("Count my turns", "count")],
                )
            ],
            state,
        )
    if word == "long":
        paragraphs = [f"Part {n}. " + LONG_PARAGRAPH * 5 for n in range(1, 6)]
        return Turn("LongAnswer", [plain("\n\n".join(paragraphs))], state)
    if word == "count":
        return Turn("CountTurns", [plain(f"This is turn {turns} of our conversation.")], state)
    if word == "ssml":
        return Turn(
            "Speak",
            [{"contentType": "SSML", "content": "<speak>Spoken <break time='1s'/> text.</speak>"}],
            state,
        )
    return Turn("Echo", [plain(f"You said: {text}")], state)


def recognize_text_response(
    *, session_id: str, turn: Turn, request_attributes: dict[str, str]
) -> dict[str, Any]:
    """Shape a turn as Lex V2's RecognizeText response."""
    intent = {"name": turn.intent, "state": "Fulfilled", "confirmationState": "None", "slots": {}}
    return {
        "messages": turn.messages,
        "sessionState": {
            "dialogAction": {"type": "Close"},
            "intent": intent,
            "sessionAttributes": turn.session_attributes,
        },
        "interpretations": [
            {"intent": intent, "nluConfidence": {"score": 1.0}, "interpretationSource": "Lex"}
        ],
        "sessionId": session_id,
        "requestAttributes": request_attributes,
    }


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
