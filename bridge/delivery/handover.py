"""The handover step delivery carries out when the bot asks for a person.

How a Lex answer asks for one is ``bridge.bots.handover``: the bot's replies end with a
``Handover``. The reply's messages are sent first, then the conversation's thread control is
passed to the Page Inbox (``POST /me/pass_thread_control`` with ``recipient``,
``target_app_id`` 263902037430900 and ``metadata``; messenger.md §9). The stored reply carries
that as a last step ``{"bridge:handover": {...}}`` so the send ledger covers it like a message.
Pure; the Graph call is in bridge/delivery/sending.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.messenger.render import render, truncate
from bridge.messenger.replies import PAGE_INBOX_APP_ID, Handover, JsonObject, Reply

STEP_KEY = "bridge:handover"
METADATA_MAX = 999  # Meta: metadata under 1000 characters
ASKED = "The bot asked for a person."


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
