"""The local sample bot's front door: answers RecognizeText turns in local mode, with no AWS
account.

It is a real backend, not a test double: the bridge reaches it through boto3's Lex V2 client
and the Lex V2 runtime wire format, exactly as it reaches a bot on AWS. The dialog is the
symptom checker in bridge/local/sample_bot/symptoms.py; this module shapes its turns as Lex V2
responses.
"""

from __future__ import annotations

import json
from typing import Any

from bridge.local.sample_bot import symptoms
from bridge.local.sample_bot.diagnostics import LONG_PARAGRAPH
from bridge.local.sample_bot.turn import Turn, card, plain, wire_slot

__all__ = ["LONG_PARAGRAPH", "Turn", "card", "dumps", "plain", "recognize_text_response"]


def respond(text: str, session: dict[str, str], *, asset_base: str) -> Turn:
    """One turn of the sample bot; pure: the caller stores the session."""
    return symptoms.respond(text, session, asset_base=asset_base)


def recognize_text_response(
    *, session_id: str, turn: Turn, request_attributes: dict[str, str]
) -> dict[str, Any]:
    """Shape a turn as Lex V2's RecognizeText response: ElicitSlot while a slot is pending,
    else Close."""
    intent = {
        "name": turn.intent,
        "state": "InProgress" if turn.elicit else "Fulfilled",
        "confirmationState": "None",
        "slots": {name: wire_slot(value) for name, value in turn.slots.items()},
    }
    action: dict[str, str] = (
        {"type": "ElicitSlot", "slotToElicit": turn.elicit} if turn.elicit else {"type": "Close"}
    )
    return {
        "messages": turn.messages,
        "sessionState": {
            "dialogAction": action,
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
