"""What the bridge says and does around the bot's turns: the fallback text, handover to a
human, events without text, sender actions."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.config import patterns
from bridge.config.env import EnvReader
from bridge.config.patterns import NO_TEXT_KINDS

HUMAN_IDLE = 24 * 3600.0  # Meta: thread control expires after 24 h without activity


@dataclass(frozen=True)
class ConversationSettings:
    """``no_text_inputs``: the text the bot gets for an event of that kind; kinds in
    ``no_text_reply_kinds`` are answered with ``no_text_reply`` without asking the bot."""

    fallback_text: str = "Sorry, something went wrong on our side. Please try again in a moment."
    handover_intent: str | None = None
    human_idle: float = HUMAN_IDLE
    no_text_inputs: tuple[tuple[str, str], ...] = ()
    no_text_reply_kinds: frozenset[str] = frozenset()
    no_text_reply: str = "Sorry, I can only read text messages."
    sender_actions: bool = True


def read_conversation(env: EnvReader) -> ConversationSettings:
    """BRIDGE_FALLBACK_TEXT, BRIDGE_HANDOVER_INTENT, BRIDGE_NO_TEXT_* and the like."""
    return ConversationSettings(
        handover_intent=env.matching(
            "BRIDGE_HANDOVER_INTENT", patterns.INTENT_NAME, patterns.INTENT_NAME_HINT, None
        ),
        human_idle=env.number("BRIDGE_HUMAN_IDLE", HUMAN_IDLE, low=60, high=7 * 24 * 3600),
        fallback_text=env.text("BRIDGE_FALLBACK_TEXT", ConversationSettings.fallback_text),
        no_text_inputs=env.kind_texts("BRIDGE_NO_TEXT_INPUTS", NO_TEXT_KINDS),
        no_text_reply_kinds=env.kinds("BRIDGE_NO_TEXT_REPLY_KINDS", NO_TEXT_KINDS),
        no_text_reply=env.text("BRIDGE_NO_TEXT_REPLY", ConversationSettings.no_text_reply),
        sender_actions=env.boolean("BRIDGE_SENDER_ACTIONS", True),
    )
