"""Bot backends behind one small Protocol; ``make_bot`` is the only place that picks one."""

from __future__ import annotations

from typing import Any, Protocol

from bridge.bots.lexv2 import LexV2Bot, make_lexv2_client
from bridge.config import Settings
from bridge.errors import ConfigError
from bridge.events import Event
from bridge.replies import Reply


class Bot(Protocol):
    """Answers one inbound event with the bot's replies; raises ``BotError`` on failure."""

    def respond(self, event: Event) -> list[Reply]: ...


def make_bot(settings: Settings, *, lex_client: Any | None = None) -> Bot:
    """The configured backend; ``lex_client`` replaces the boto3 client (tests, fakes)."""
    # "local" is the bridge's own Lex V2 endpoint (settings.lex_endpoint_url): same wire
    # format, same backend.
    if settings.bot in ("lexv2", "local"):
        return LexV2Bot(
            lex_client if lex_client is not None else make_lexv2_client(settings),
            bot_id=settings.lex_bot_id,
            alias_id=settings.lex_bot_alias_id,
            locale_id=settings.lex_locale_id,
        )
    raise ConfigError([f"BRIDGE_BOT={settings.bot!r} is not supported: expected lexv2 or local"])
