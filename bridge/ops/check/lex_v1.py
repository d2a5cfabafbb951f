"""Check 5 for a Lex V1 bot (``BRIDGE_BOT=lexv1``, past end of support): ``lex-models``
GetBot on the bot name and alias, which says whether the bot is built, with no turn run.

Self-contained like the V1 backend itself, so that dropping V1 means deleting this file and
one branch in ``check_lex``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bridge.bots.lexclient import make_runtime_client
from bridge.config.settings import Settings
from bridge.errors import ConfigError
from bridge.ops.check.lex_errors import interpret_lex_error, lex_where
from bridge.ops.check.result import CheckResult, fail


def make_lex_models_client(settings: Settings) -> Any:
    """A Lex V1 model-building (``lex-models``) client; ``AWS_ENDPOINT_URL_LEX_MODEL_BUILDING_
    SERVICE`` and the rest of boto3's chain apply."""
    return make_runtime_client(settings, "lex-models")


# Lex V1 bot statuses (lex-models GetBot) a bot can answer in.
_V1_READY = frozenset({"READY", "READY_BASIC_TESTING"})
_V1_ERRORS = {
    "NotFoundException": (
        "Lex V1 has no bot and alias (or version) like {where}: Lex V1 reached end of support "
        "on 15 September 2025, and its bots may be gone",
        "check LEX_BOT_NAME, LEX_BOT_ALIAS and AWS_REGION, or migrate the bot to Lex V2 "
        "(BRIDGE_BOT=lexv2)",
    ),
    "AccessDeniedException": (
        "the AWS credentials in use may not call lex:GetBot on {where} (this check needs it; "
        "the bridge itself needs lex:PostText, which this check does not use)",
        "allow lex:GetBot for the check, or run it with --skip-lex",
    ),
    "BadRequestException": (
        "Lex V1 refused the request as invalid for {where}",
        "check LEX_BOT_NAME and LEX_BOT_ALIAS (the alias name, or $LATEST)",
    ),
    "LimitExceededException": (
        "Lex V1 is throttling this account right now",
        "run the check again in a minute",
    ),
}


def check_lex_v1(settings: Settings, make_client: Callable[[Settings], Any]) -> CheckResult:
    """Lex V1: ``lex-models`` GetBot with the bot's name and alias (or ``$LATEST``).

    No PostText turn: V1 is past end of support, a turn may run a Lambda that no longer
    works, and GetBot also says whether the alias's version is built (status READY). It needs
    lex:GetBot, which the bridge itself does not; lex:PostText is not tested."""
    where = lex_where(settings)
    try:
        client = make_client(settings)
    except ConfigError as error:
        return fail("lex_bot", "Lex bot", "; ".join(error.problems), "set the variables named")
    try:
        bot = client.get_bot(name=settings.lex.bot_name, versionOrAlias=settings.lex.bot_alias)
    except (ClientError, BotoCoreError) as exc:
        return interpret_lex_v1_error(exc, where)
    return interpret_lex_v1_bot(bot, where)


def interpret_lex_v1_error(exc: Exception, where: str) -> CheckResult:
    """A failed GetBot in plain words (V1 codes; the rest as for V2)."""
    if isinstance(exc, ClientError):
        code = str((exc.response.get("Error") or {}).get("Code") or "Unknown")
        if code in _V1_ERRORS:
            meaning, fix = _V1_ERRORS[code]
            status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            detail = f"{meaning.format(where=where)} — Lex said: {code} (HTTP {status})"
            return fail("lex_bot", "Lex bot", detail, fix)
    return interpret_lex_error(exc, where)


def interpret_lex_v1_bot(bot: Mapping[str, Any], where: str) -> CheckResult:
    """GetBot answered: is the bot built, so PostText can answer?"""
    status = str(bot.get("status") or "unknown")
    version = bot.get("version")
    if status not in _V1_READY:
        reason = bot.get("failureReason")
        return fail(
            "lex_bot",
            "Lex bot",
            f"{where} exists but its status is {status}"
            + (f" ({reason})" if isinstance(reason, str) and reason else "")
            + ": it cannot answer",
            "build the bot (and publish the alias's version) in Lex V1, or migrate to Lex V2",
        )
    return CheckResult(
        "lex_bot",
        "Lex bot",
        True,
        f"{where} exists, version {version}, status {status} (checked with GetBot: no turn was"
        " run; the bridge needs lex:PostText, which this does not test). Lex V1 is past end of"
        " support: migrate to Lex V2",
    )
