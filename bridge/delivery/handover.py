"""The bot asks for a person: how a Lex answer says so, and the step delivery carries out.

A Lex answer asks for a person in either of two ways:

- it closes the intent named by ``BRIDGE_HANDOVER_INTENT`` (e.g. ``TalkToPerson``);
- one of its messages is the CustomPayload ``{"bridge": {"handover": "inbox"}}``, optionally
  with ``"metadata": "…"`` for the Page Inbox.

Either way the reply's messages are sent first, then the conversation's thread control is
passed to the Page Inbox (``POST /me/pass_thread_control`` with ``recipient``,
``target_app_id`` 263902037430900 and ``metadata``; messenger.md §9). The stored reply carries
that as a last step ``{"bridge:handover": {...}}`` so the send ledger covers it like a message.
Pure; the Graph call is in bridge/delivery/loop.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bridge.messenger.render import render, truncate
from bridge.messenger.replies import PAGE_INBOX_APP_ID, Custom, Handover, JsonObject, Reply

BRIDGE_KEY = "bridge"  # a CustomPayload with this key is for the bridge, never shown
STEP_KEY = "bridge:handover"
INBOX = "inbox"
METADATA_MAX = 999  # Meta: metadata under 1000 characters
ASKED = "The bot asked for a person."
# Lex V2 intent states and V1 dialog states that mean the intent is done.
_CLOSED_STATES = frozenset({"Fulfilled", "ReadyForFulfillment"})


def from_custom_payload(content: str) -> Reply | None:
    """A CustomPayload as a reply: a ``Handover`` for the bridge's handover payload, None for
    another ``{"bridge": …}`` payload (for the bridge, unknown: not shown), else ``Custom``."""
    try:
        decoded = json.loads(content)
    except (ValueError, RecursionError):
        return Custom(content)
    if not isinstance(decoded, dict) or BRIDGE_KEY not in decoded:
        return Custom(content)
    directive = decoded[BRIDGE_KEY]
    if not isinstance(directive, dict) or directive.get("handover") != INBOX:
        return None
    metadata = directive.get("metadata")
    return Handover(metadata=metadata if isinstance(metadata, str) and metadata.strip() else None)


def for_intent(intent: str | None, closed: bool, handover_intent: str | None) -> Handover | None:
    """The handover asked for by closing ``handover_intent`` (None if this answer does not)."""
    if handover_intent is None or intent != handover_intent or not closed:
        return None
    return Handover(metadata=f"The bot asked for a person (intent {intent}).")


def v2_intent(response: Mapping[str, Any]) -> tuple[str | None, bool]:
    """A RecognizeText answer's intent name, and whether the answer closes it."""
    state = response.get("sessionState")
    state = state if isinstance(state, Mapping) else {}
    intent = state.get("intent")
    intent = intent if isinstance(intent, Mapping) else {}
    action = state.get("dialogAction")
    action = action if isinstance(action, Mapping) else {}
    name = intent.get("name")
    closed = action.get("type") == "Close" or intent.get("state") in _CLOSED_STATES
    return (name if isinstance(name, str) else None), closed


def v1_intent(response: Mapping[str, Any]) -> tuple[str | None, bool]:
    """A PostText answer's intent name, and whether its dialog state ends the intent."""
    name = response.get("intentName")
    return (name if isinstance(name, str) else None), response.get("dialogState") in _CLOSED_STATES


def plan(replies: list[Reply]) -> list[JsonObject]:
    """The stored reply: each reply's messages in order, then at most one handover step."""
    messages = [message for reply in replies for message in render(reply)]
    handovers = [reply for reply in replies if isinstance(reply, Handover)]
    if handovers:
        messages.append(to_step(handovers[0]))
    return messages


def to_step(handover: Handover) -> JsonObject:
    metadata = truncate(handover.metadata or ASKED, METADATA_MAX)
    return {STEP_KEY: {"target_app_id": handover.target_app_id, "metadata": metadata}}


def from_step(message: Mapping[str, Any]) -> Handover | None:
    """The handover a stored step asks for (None: the step is a message to send)."""
    step = message.get(STEP_KEY)
    if not isinstance(step, Mapping):
        return None
    target = step.get("target_app_id")
    metadata = step.get("metadata")
    return Handover(
        target_app_id=str(target) if target else PAGE_INBOX_APP_ID,
        metadata=metadata if isinstance(metadata, str) else None,
    )
