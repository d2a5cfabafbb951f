"""Lex's refusals in plain words, with their fixes, shared by the Lex V2 and V1 checks; pure.

A botocore error is never shown as is: it may hold URLs and ids that are not needed. What Lex
said is quoted after the meaning, and ``lex_where`` names the bot the way each message does.
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from bridge.config.settings import Settings
from bridge.ops.check.result import CheckResult, fail

# Lex's error code → (what it means, the fix). {where} names the bot, alias, locale and Region.
_LEX_ERRORS: dict[str, tuple[str, str]] = {
    "ResourceNotFoundException": (
        "Lex found no such bot, alias or locale: {where}",
        "check LEX_BOT_ID (10 characters, on the bot's page), LEX_BOT_ALIAS_ID (the alias's "
        "id such as TSTALIASID, not its name), that the alias's bot version has the locale "
        "LEX_LOCALE_ID built, and that AWS_REGION is the bot's Region",
    ),
    "AccessDeniedException": (
        "the AWS credentials in use may not call lex:RecognizeText on {where}",
        "allow lex:RecognizeText on arn:aws:lex:<region>:<account>:bot-alias/<bot id>/<alias "
        "id> for the IAM user or role the bridge runs as (boto3's usual chain: "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the host's role)",
    ),
    "UnrecognizedClientException": (
        "AWS does not recognise the access key in use",
        "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile/role boto3 uses)",
    ),
    "InvalidSignatureException": (
        "AWS refused the request signature: the secret key does not match the access key",
        "check AWS_SECRET_ACCESS_KEY",
    ),
    "ExpiredTokenException": (
        "the temporary AWS credentials have expired",
        "refresh them (AWS_SESSION_TOKEN, SSO login) or use the host's role",
    ),
    "ValidationException": (
        "Lex refused the request as invalid for {where}",
        "check LEX_LOCALE_ID is one of the bot's locales (e.g. en_US) and the ids' format",
    ),
    "ThrottlingException": (
        "Lex is throttling this account or bot right now",
        "run the check again in a minute; if it persists, look at the account's Lex quotas",
    ),
    "ConflictException": (
        "another turn of the session bridge-check was running",
        "run the check again (two checks at once share a session)",
    ),
    "DependencyFailedException": (
        "the bot was reached, but its Lambda code hook failed on “hello” (or Lex may not "
        "invoke it)",
        "read the Lambda's CloudWatch logs, and check the Lambda's resource policy allows "
        "lexv2.amazonaws.com to invoke it for this alias",
    ),
    "BadGatewayException": (
        "the bot was reached, but Lex or its Lambda failed inside (502)",
        "check the bot is built for this alias and the Lambda answers; then run the check again",
    ),
    "InternalServerException": (
        "Lex failed on its side (500)",
        "run the check again in a minute",
    ),
}


def interpret_lex_error(exc: Exception, where: str) -> CheckResult:
    """A failed RecognizeText in plain words (the botocore error is not shown as is: it may
    hold URLs and ids that are not needed)."""
    name, title = "lex_bot", "Lex bot"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        code = str(error.get("Code") or "Unknown")
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        said = str(error.get("Message") or "").strip()
        meaning, fix = _LEX_ERRORS.get(
            code,
            (
                "Lex refused the call for {where}",
                "see Lex's message; check the bot, alias, locale, Region and credentials",
            ),
        )
        detail = f"{meaning.format(where=where)} — Lex said: {code} (HTTP {status})"
        if said:
            detail += f": {said}"
        return fail(name, title, detail, fix)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return fail(
            name,
            title,
            f"boto3 found no usable AWS credentials ({type(exc).__name__})",
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run on a host "
            "with an IAM role",
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return fail(
            name,
            title,
            f"could not connect to Lex for {where} ({type(exc).__name__})",
            "check AWS_REGION and that this machine reaches runtime-v2-lex.<region>.amazonaws.com",
        )
    if isinstance(exc, ReadTimeoutError):
        return fail(
            name,
            title,
            f"Lex did not answer within LEX_READ_TIMEOUT for {where}",
            "a slow Lambda code hook is the usual cause: look at its duration",
        )
    return fail(name, title, f"the call to Lex failed: {type(exc).__name__}", "run it again")


def lex_where(settings: Settings) -> str:
    region = "local endpoint" if settings.lex.endpoint_url else (settings.lex.region or "?")
    if settings.lex.backend == "lexv1":
        return f"Lex V1 bot {settings.lex.bot_name}, alias {settings.lex.bot_alias} ({region})"
    return (
        f"bot {settings.lex.bot_id}, alias {settings.lex.alias_id}, locale "
        f"{settings.lex.locale_id} ({region})"
    )
