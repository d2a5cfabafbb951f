"""The local Lex V2 runtime endpoint: RecognizeText for the sample bot, in Lex V2's rest-json
wire format, so boto3 (pointed here by its standard endpoint override) reaches it exactly as it
reaches a bot on AWS; and the pictures the sample bot's cards show.

The sample bot's sessions are kept in the local store (every server process sees them), and
a call can be told to fail with a Lex error (``/local/faults/lex``, see bridge/local/faults.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from bridge.config.localmode import LOCAL_LEX_BOT_ID
from bridge.local import context
from bridge.local.sample_bot import front as sample_bot
from bridge.messenger.text import utf16_len

bp = Blueprint("lex", __name__)

_LEX_TEXT = (
    "/lex/bots/<bot_id>/botAliases/<alias_id>/botLocales/<locale_id>/sessions/<session_id>/text"
)
CARD_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="382" height="200"
viewBox="0 0 382 200">
<rect width="382" height="200" fill="#0866ff"/><circle cx="96" cy="100" r="56" fill="#fff"/>
<path d="M66 118l22-34 16 18 20-22 -6 38z" fill="#0866ff"/>
<text x="170" y="92" font-family="sans-serif" font-size="26" fill="#fff">Messenger</text>
<text x="170" y="126" font-family="sans-serif" font-size="26" fill="#fff">Lex Bridge</text></svg>"""
CONDITIONS_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="382" height="200"
viewBox="0 0 382 200">
<rect width="382" height="200" fill="#e8f6f3"/>
<rect x="48" y="34" width="112" height="140" rx="14" fill="#fff" stroke="#0f8b7d" stroke-width="4"/>
<rect x="80" y="24" width="48" height="20" rx="6" fill="#0f8b7d"/>
<path d="M94 70h20v20h20v20h-20v20h-20v-20h-20v-20h20z" fill="#e5484d"/>
<g fill="#0f8b7d"><circle cx="200" cy="66" r="7"/><circle cx="200" cy="100" r="7"/>
<circle cx="200" cy="134" r="7"/></g>
<g fill="#9fd6cd"><rect x="218" y="60" width="118" height="12" rx="6"/>
<rect x="218" y="94" width="96" height="12" rx="6"/><rect x="218" y="128" width="108" height="12"
rx="6"/></g></svg>"""


def _lex_error(status: int, error_type: str, message: str) -> Response:
    response = jsonify({"message": message})
    response.status_code = status
    response.headers["x-amzn-ErrorType"] = error_type
    return response


def _is_unicode(text: str) -> bool:
    """False for text with lone surrogates (valid JSON escapes, but not valid Unicode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@bp.post(_LEX_TEXT)
def recognize_text(bot_id: str, alias_id: str, locale_id: str, session_id: str) -> Response:
    """RecognizeText for the sample bot, in Lex V2's rest-json wire format (or a fault)."""
    with context.local_store().lex_call():
        fault = context.take_fault("lex")
        if fault is not None and "status" in fault:
            return _lex_error(fault["status"], fault["type"], fault["message"])
        return _recognize_text(bot_id, session_id)


def _recognize_text(bot_id: str, session_id: str) -> Response:
    if bot_id != LOCAL_LEX_BOT_ID:
        return _lex_error(404, "ResourceNotFoundException", f"bot {bot_id} not found")
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not 1 <= utf16_len(text) <= 1024 or not _is_unicode(text):
        return _lex_error(400, "ValidationException", "text must be 1-1024 characters")
    assert isinstance(body, dict)  # a str text came from a JSON object
    store = context.local_store()
    session = _session(body, store.session(session_id))
    if session is None:
        return _lex_error(400, "ValidationException", "sessionAttributes must map to strings")
    base = f"{context.settings().local_base_url}/assets"
    turn = sample_bot.respond(text, session, asset_base=base)
    store.save_session(session_id, turn.session_attributes)
    attributes = body.get("requestAttributes")
    return jsonify(
        sample_bot.recognize_text_response(
            session_id=session_id,
            turn=turn,
            request_attributes=attributes if isinstance(attributes, dict) else {},
        )
    )


def _session(body: dict[str, Any], stored: dict[str, str]) -> dict[str, str] | None:
    """The session attributes of the turn: a sent map replaces the stored one, as in Lex
    (None: the sent map is not one of strings)."""
    session_state = body.get("sessionState")
    sent = session_state.get("sessionAttributes") if isinstance(session_state, dict) else None
    if sent is None:
        return stored
    if not isinstance(sent, dict) or not all(isinstance(v, str) for v in sent.values()):
        return None
    return dict(sent)


@bp.get("/assets/card.svg")
def card_image() -> Response:
    return Response(CARD_SVG, mimetype="image/svg+xml")


@bp.get("/assets/conditions.svg")
def conditions_image() -> Response:
    """The picture on the sample bot's list of conditions."""
    return Response(CONDITIONS_SVG, mimetype="image/svg+xml")
