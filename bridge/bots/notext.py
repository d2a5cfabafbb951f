"""The bridge's own answer to events without text, for bots that cannot use them."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from bridge.messenger.events import Event, no_text_kind
from bridge.messenger.replies import Reply, Text

if TYPE_CHECKING:
    from bridge.bots import Bot


class NoTextReply:
    """Answers events without text of the given kinds (``image``, ``like``, ``referral``...;
    see ``bridge.config.patterns.NO_TEXT_KINDS``) with ``reply``, without asking the bot; every
    other
    event goes to ``bot``."""

    def __init__(self, bot: Bot, *, kinds: Collection[str], reply: str) -> None:
        self._bot = bot
        self._kinds = frozenset(kinds)
        self._reply = reply

    def respond(self, event: Event) -> list[Reply]:
        if no_text_kind(event) in self._kinds:
            return [Text(self._reply)]
        return self._bot.respond(event)
