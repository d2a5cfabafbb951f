"""The bot side: which backend answers, the Lex bot it calls, and how Lex is called."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bridge.config import patterns
from bridge.config.env import EnvReader
from bridge.config.localmode import LOCAL_LEX_ALIAS_ID, LOCAL_LEX_BOT_ID, local_base_url
from bridge.config.pages import PageBot

BOTS = ("lexv2", "lexv1", "local")
SESSION_IDS = ("psid", "page_psid")


@dataclass(frozen=True)
class LexSettings:
    """``backend`` is lexv2, lexv1 or local (the sample bot, served by the bridge itself).
    V2 bots are named by ids and locale, V1 bots by name and alias."""

    backend: str = "lexv2"
    bot_id: str = ""
    alias_id: str = ""
    locale_id: str = "en_US"
    endpoint_url: str | None = None
    bot_name: str = ""
    bot_alias: str = ""
    region: str | None = None  # AWS_REGION; None: boto3's own chain decides
    read_timeout: float = 40.0
    v1_attributes: bool = False
    session_id: str = "psid"


def read_backend(env: EnvReader, *, local: bool) -> str:
    """BRIDGE_BOT: the sample bot by default in local mode, and only there."""
    backend = env.choice("BRIDGE_BOT", BOTS, "local" if local else "lexv2")
    if backend == "local" and not local:
        env.problem("BRIDGE_BOT=local needs BRIDGE_MODE=local (the sample bot runs only there)")
    return backend


def read_lex(env: EnvReader, bot: LexSettings) -> LexSettings:
    """How Lex is called, added to the bot ``read_bot`` found: region, read timeout, the V1-era
    attributes and the session id."""
    return replace(
        bot,
        # botocore reads only AWS_DEFAULT_REGION; AWS_REGION (what other SDKs and the CLI
        # read first) is passed on explicitly. Unset: boto3's own chain decides.
        region=env.text("AWS_REGION", "") or None,
        read_timeout=env.number("LEX_READ_TIMEOUT", 40.0, low=31, high=300),
        v1_attributes=env.boolean("BRIDGE_V1_ATTRIBUTES", False),
        session_id=env.choice("BRIDGE_SESSION_ID", SESSION_IDS, "psid"),
    )


def read_bot(env: EnvReader, backend: str, port: int, *, required: bool) -> LexSettings:
    """The chosen backend's bot: V2 ids, locale and endpoint override, or V1 name and alias.
    ``required``: a missing bot id or name is a problem (not when every Page of the pages
    file has its own bot)."""
    locale = env.matching("LEX_LOCALE_ID", patterns.LOCALE, patterns.LOCALE_HINT, "en_US")
    if backend == "local":
        return LexSettings(
            backend,
            LOCAL_LEX_BOT_ID,
            LOCAL_LEX_ALIAS_ID,
            locale,
            endpoint_url=f"{local_base_url(port)}/lex",
        )
    if backend == "lexv1":
        name = env.matching(
            "LEX_BOT_NAME",
            patterns.LEX_V1_BOT_NAME,
            patterns.LEX_V1_BOT_NAME_HINT,
            "",
            required=required,
        )
        alias = env.matching(
            "LEX_BOT_ALIAS",
            patterns.LEX_V1_ALIAS,
            patterns.LEX_V1_ALIAS_HINT,
            "",
            required=required,
        )
        return LexSettings(backend, locale_id=locale, bot_name=name, bot_alias=alias)
    bot_id = env.matching(
        "LEX_BOT_ID", patterns.LEX_BOT_ID, patterns.LEX_BOT_ID_HINT, "", required=required
    )
    alias_id = env.matching(
        "LEX_BOT_ALIAS_ID",
        patterns.LEX_ALIAS_ID,
        patterns.LEX_ALIAS_ID_HINT,
        "",
        required=required,
    )
    return LexSettings(backend, bot_id, alias_id, locale)


def page_lex(lex: LexSettings, bot: PageBot, *, local_base: str) -> LexSettings:
    """The environment's Lex settings with a pages-file Page's own bot in place of its bot;
    the locale falls back to LEX_LOCALE_ID, the call settings stay the environment's."""
    local = bot.type == "local"
    return replace(
        lex,
        backend=bot.type,
        bot_id=LOCAL_LEX_BOT_ID if local else bot.bot_id,
        alias_id=LOCAL_LEX_ALIAS_ID if local else bot.alias_id,
        locale_id=bot.locale_id or lex.locale_id,
        endpoint_url=f"{local_base}/lex" if local else None,
        bot_name=bot.bot_name,
        bot_alias=bot.bot_alias,
    )
