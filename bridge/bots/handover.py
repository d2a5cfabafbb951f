"""How a Lex answer asks for a person (the bot side of a handover).

A Lex answer asks for a person in either of two ways:

- it closes the intent named by ``BRIDGE_HANDOVER_INTENT`` (e.g. ``TalkToPerson``);
- one of its messages is the CustomPayload ``{"bridge": {"handover": "inbox"}}``, optionally
  with ``"metadata": "…"`` for the Page Inbox.

Either way the bot's replies end with a ``Handover``; what delivery then does with it (send
the messages, then pass thread control to the Page Inbox) is ``bridge.delivery.handover``.
Each backend reads its own answer's intent and state (``v2_intent`` in ``lexv2``,
``v1_intent`` in ``lexv1``). Pure.
"""

from __future__ import annotations

import json

from bridge.messenger.replies import Custom, Handover, Reply

BRIDGE_KEY = "bridge"  # a CustomPayload with this key is for the bridge, never shown
INBOX = "inbox"
# Lex V2 intent states and V1 dialog states that mean the intent is done.
CLOSED_STATES = frozenset({"Fulfilled", "ReadyForFulfillment"})


def from_custom_payload(content: str) -> Reply | None:
    """A CustomPayload as a reply: a ``Handover`` for the bridge's handover payload, None for
    another ``{"bridge": …}`` payload (for the bridge, not understood: it cannot be shown, see
    ``lexanswer.shown``), else ``Custom``."""
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
