"""Check 5: the Lex bot answers, with the bridge's own client settings and permission.

Lex V2: one real RecognizeText turn (see ``check_lex`` for why not GetSession); a Lex V1 bot
is checked by ``lex_v1.check_lex_v1`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from bridge.bots.lexrequest import PLATFORM, PLATFORM_ATTRIBUTE
from bridge.config.settings import Settings
from bridge.errors import ConfigError
from bridge.ops.check.lex_errors import interpret_lex_error, lex_where
from bridge.ops.check.lex_v1 import check_lex_v1, make_lex_models_client
from bridge.ops.check.result import CheckResult, fail
from bridge.ops.graph_advice import LOCAL_UNREACHABLE_FIX

CHECK_SESSION = "bridge-check"
CHECK_TEXT = "hello"
# Sent with the check's Lex turn so a Lambda code hook can tell it from a person's turn.
CHECK_ATTRIBUTE = "messenger-lex-bridge:check"


def check_lex(
    settings: Settings,
    make_client: Callable[[Settings], Any],
    make_v1_client: Callable[[Settings], Any] = make_lex_models_client,
) -> CheckResult:
    """One RecognizeText turn with the bridge's own client settings.

    Why a real turn and not GetSession: (1) the bridge's IAM policy needs only
    lex:RecognizeText; GetSession is another permission, so it could pass while the bridge is
    denied, or fail while the bridge works; (2) GetSession on a session that does not exist
    answers ResourceNotFoundException, the same code as a wrong bot, alias or locale, told apart
    only by the wording of the message, which is not documented. The turn costs one Lex text
    request and may run the bot's Lambda; it uses its own session and says it is a check.
    A Lex V1 bot (``BRIDGE_BOT=lexv1``) is checked by ``check_lex_v1`` instead.
    """
    if settings.lex.backend == "lexv1":
        return check_lex_v1(settings, make_v1_client)
    where = lex_where(settings)
    try:
        client = make_client(settings)
    except ConfigError as error:
        return fail("lex_bot", "Lex bot", "; ".join(error.problems), "set the variables named")
    try:
        response = client.recognize_text(
            botId=settings.lex.bot_id,
            botAliasId=settings.lex.alias_id,
            localeId=settings.lex.locale_id,
            sessionId=CHECK_SESSION,
            text=CHECK_TEXT,
            requestAttributes={PLATFORM_ATTRIBUTE: PLATFORM, CHECK_ATTRIBUTE: "true"},
        )
    except (ClientError, BotoCoreError) as exc:
        result = interpret_lex_error(exc, where)
        if settings.lex.endpoint_url and isinstance(exc, EndpointConnectionError):
            result = replace(result, fix=LOCAL_UNREACHABLE_FIX)
        return result
    return interpret_lex_answer(response, where)


def interpret_lex_answer(response: Mapping[str, Any], where: str) -> CheckResult:
    state = response.get("sessionState")
    intent = state.get("intent") if isinstance(state, dict) else None
    intent_name = intent.get("name") if isinstance(intent, dict) else None
    messages = response.get("messages")
    count = len(messages) if isinstance(messages, list) else 0
    answered = f"intent {intent_name}" if intent_name else "no intent"
    return CheckResult(
        "lex_bot",
        "Lex bot",
        True,
        f"{where} answered “{CHECK_TEXT}” ({answered}, {count} message{'' if count == 1 else 's'})."
        f" This ran one real turn on the bot, session {CHECK_SESSION}, request attribute "
        f"{CHECK_ATTRIBUTE}=true (--skip-lex leaves it out)",
    )
