"""Bot backends behind one small Protocol; ``make_bot`` is the only place that picks one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bridge.bots.lexv2 import LexV2Bot, make_lexv2_client
from bridge.bots.notext import NoTextReply
from bridge.config.settings import Settings
from bridge.errors import ConfigError
from bridge.messenger.events import Event
from bridge.messenger.replies import Reply


class Bot(Protocol):
    """Answers one inbound event with the bot's replies; raises ``BotError`` on failure."""

    def respond(self, event: Event) -> list[Reply]: ...


def make_bot(
    settings: Settings, *, lex_client: Any | None = None, clients: dict[Any, Any] | None = None
) -> Bot:
    """The configured backend; ``lex_client`` replaces the Lex client (tests, fakes), and
    ``clients`` shares one Lex client per Lex service and endpoint between bots (the clients
    are thread-safe; several Pages may use several bots).

    Events without text of the kinds in ``BRIDGE_NO_TEXT_REPLY_KINDS`` are answered by the
    bridge itself and never reach the backend."""
    bot = _backend(settings, lex_client, {} if clients is None else clients)
    if settings.conversation.no_text_reply_kinds:
        return NoTextReply(
            bot,
            kinds=settings.conversation.no_text_reply_kinds,
            reply=settings.conversation.no_text_reply,
        )
    return bot


def _shared(clients: dict[Any, Any], settings: Settings, make: Callable[[Settings], Any]) -> Any:
    key = (make, settings.lex.endpoint_url)
    if key not in clients:
        clients[key] = make(settings)
    return clients[key]


def _backend(settings: Settings, lex_client: Any | None, clients: dict[Any, Any]) -> Bot:
    inputs = dict(settings.conversation.no_text_inputs)
    # "local" is the bridge's own Lex V2 endpoint (settings.lex.endpoint_url): same wire
    # format, same backend.
    if settings.lex.backend in ("lexv2", "local"):
        return LexV2Bot(
            lex_client if lex_client is not None else _shared(clients, settings, make_lexv2_client),
            bot_id=settings.lex.bot_id,
            alias_id=settings.lex.alias_id,
            locale_id=settings.lex.locale_id,
            inputs=inputs,
            v1_attributes=settings.lex.v1_attributes,
            session_id=settings.lex.session_id,
            handover_intent=settings.conversation.handover_intent,
        )
    if settings.lex.backend == "lexv1":
        # Imported here: Lex V1 is past end of support, and deleting its module drops it.
        try:
            from bridge.bots.lexv1 import LexV1Bot, make_lexv1_client
        except ModuleNotFoundError as missing:
            if missing.name != "bridge.bots.lexv1":
                raise
            raise ConfigError(["BRIDGE_BOT=lexv1: this build has no Lex V1 backend"]) from None
        return LexV1Bot(
            lex_client if lex_client is not None else _shared(clients, settings, make_lexv1_client),
            bot_name=settings.lex.bot_name,
            bot_alias=settings.lex.bot_alias,
            inputs=inputs,
            session_id=settings.lex.session_id,
            handover_intent=settings.conversation.handover_intent,
        )
    raise ConfigError(
        [f"BRIDGE_BOT={settings.lex.backend!r} is not supported: expected lexv2, lexv1 or local"]
    )
