"""``python -m bridge check``: is everything the bridge needs in place? Each failure in plain
words, with its fix.

The checks, in order:

1. **Page token** — ``GET /me?fields=id,name``: the token works, and which Page it belongs to
   (it must be FB_PAGE_ID's, when that is set).
2. **App secret** — the same call carries an ``appsecret_proof`` made with FB_APP_SECRET; Graph
   refuses an invalid proof with an error (code 100, "Invalid appsecret_proof"). When it does,
   the call is repeated without a proof to tell a bad secret from a bad token.
3. **Token details** — only with an app id (FB_APP_ID): ``GET /debug_token`` with the app token
   ``APP_ID|APP_SECRET`` adds what ``/me`` cannot say: the token's app, its type (Page or
   user), expiry and permissions.
4. **Webhook subscription** — ``GET /{page}/subscribed_apps``: the Page is subscribed to this
   app with the fields the bridge needs. Meta unsubscribes a Page by itself after about an hour
   of failed deliveries; this is where that shows.
5. **Lex bot** — Lex V2: one RecognizeText turn ("hello", session ``bridge-check``) with the
   configured bot, alias, locale, Region and credentials: the exact call and permission the
   bridge uses (see ``check_lex`` for why not GetSession). Lex V1 (past end of support):
   ``lex-models`` GetBot on the bot name and alias, which says whether the bot is built, with
   no turn run (see ``check_lex_v1``).
6. **Queue database** — open it, ``BEGIN IMMEDIATE``, roll back: it can be written.

With several Pages (``BRIDGE_PAGES_FILE``), checks 1–5 run for each Page with its own token
and bot (a bot shared by Pages is checked once), then check 6 (``run_page_checks``).
The ``interpret_*`` functions are pure; ``run_checks`` does the I/O.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from bridge.bots.lexclient import make_runtime_client
from bridge.bots.lexrequest import PLATFORM, PLATFORM_ATTRIBUTE
from bridge.bots.lexv2 import make_lexv2_client
from bridge.config.pages import PageConfig
from bridge.config.settings import Settings
from bridge.errors import ConfigError, GraphError
from bridge.messenger.graph import GraphClient
from bridge.ops.graph_advice import (
    BAD_PROOF_FIX,
    LOCAL_UNREACHABLE_FIX,
    explain_graph_error,
    is_bad_proof,
    needs_proof,
    scrub,
)
from bridge.ops.setup import REQUIRED_FIELDS, SUBSCRIBED_FIELDS

CHECK_SESSION = "bridge-check"
CHECK_TEXT = "hello"
# Sent with the check's Lex turn so a Lambda code hook can tell it from a person's turn.
CHECK_ATTRIBUTE = "messenger-lex-bridge:check"
TOKEN_EXPIRY_WARNING = 7 * 86400.0
NEEDED_SCOPES = ("pages_messaging",)
SETUP_SCOPES = ("pages_manage_metadata",)
SETUP = "python -m bridge setup"


@dataclass(frozen=True)
class CheckResult:
    """One check: ``ok`` it passed; ``skipped`` it was not run (``ok`` then says whether that
    is fine: an optional check, or one that needs another check to pass first)."""

    name: str
    title: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False
    page: str | None = None  # with several Pages: the Page checked

    def to_json(self) -> dict[str, Any]:
        result = {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
            "skipped": self.skipped,
        }
        return result if self.page is None else {"page": self.page, **result}


def _fail(name: str, title: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, title, False, detail, fix)


def _not_run(name: str, title: str, because: str, fix: str) -> CheckResult:
    return CheckResult(name, title, False, f"not checked: {because}", fix, skipped=True)


# --- pure interpretation ----------------------------------------------------------------------


def interpret_me(me: Mapping[str, Any], expected_page_id: str | None) -> CheckResult:
    """``GET /me`` answered: the token works; is it FB_PAGE_ID's Page?"""
    page_id, name = str(me.get("id") or ""), str(me.get("name") or "(no name)")
    if expected_page_id is not None and page_id != expected_page_id:
        return _fail(
            "page_token",
            "Page token",
            f"the token belongs to the Page {name!r} ({page_id}), but FB_PAGE_ID is "
            f"{expected_page_id}: the bridge would ignore every delivery for the token's Page",
            "set FB_PAGE_ACCESS_TOKEN to the token of the Page in FB_PAGE_ID, or FB_PAGE_ID to "
            f"{page_id}",
        )
    return CheckResult(
        "page_token", "Page token", True, f"valid, for the Page {name!r} ({page_id})"
    )


def interpret_subscription(
    apps: Sequence[Mapping[str, Any]], page_id: str, app_id: str | None
) -> CheckResult:
    """``GET /{page}/subscribed_apps``: is this app subscribed with the fields the bridge uses?"""
    title = "Webhook subscription"
    mine = [app for app in apps if app_id is None or str(app.get("id")) == app_id]
    if not mine:
        others = ", ".join(f"{a.get('name')} ({a.get('id')})" for a in apps)
        also = f" (subscribed apps: {others})" if others else ""
        return _fail(
            "subscription",
            title,
            f"the Page {page_id} is not subscribed to this app{also}, so Meta sends the bridge "
            "no messages. Meta also removes the subscription by itself after about an hour of "
            "failed webhook deliveries (server down, wrong app secret, slow answers)",
            "find what made deliveries fail (App Dashboard › Webhooks › Show recent errors), "
            f"fix it, then run: {SETUP}",
        )
    fields = mine[0].get("subscribed_fields")
    current = [str(f) for f in fields] if isinstance(fields, list) else []
    required = [f for f in REQUIRED_FIELDS if f not in current]
    optional = [f for f in SUBSCRIBED_FIELDS if f not in current and f not in REQUIRED_FIELDS]
    app = f"{mine[0].get('name') or 'this app'} ({mine[0].get('id')})"
    if required:
        return _fail(
            "subscription",
            title,
            f"the Page is subscribed to {app} without {', '.join(required)}: "
            + (
                "the bot never hears what people type"
                if "messages" in required
                else "taps on Get Started, the menu and buttons never reach the bot"
            ),
            f"run: {SETUP}",
        )
    detail = f"{app} receives {', '.join(f for f in SUBSCRIBED_FIELDS if f in current)}"
    if optional:
        detail += f"; optional fields not subscribed: {', '.join(optional)} ({SETUP} adds them)"
    return CheckResult("subscription", title, True, detail)


def interpret_debug_token(
    data: Mapping[str, Any], *, app_id: str, page_id: str | None, now: float
) -> CheckResult:
    """``GET /debug_token``'s ``data``: valid, this app's, a Page token, expiry, permissions."""
    name, title = "token_details", "Token details (debug_token)"
    if not data.get("is_valid"):
        error = data.get("error")
        why = error.get("message") if isinstance(error, dict) else None
        return _fail(
            name,
            title,
            "Graph says the Page token is not valid" + (f": {why}" if why else ""),
            "create a new Page access token and set FB_PAGE_ACCESS_TOKEN",
        )
    token_app = str(data.get("app_id") or "")
    if token_app != app_id:
        return _fail(
            name,
            title,
            f"the token was made for the app {data.get('application')!r} ({token_app}), not "
            f"FB_APP_ID {app_id}: webhooks, the app secret and the token must all be one app's",
            "make the Page token in the app whose id is FB_APP_ID (or fix FB_APP_ID)",
        )
    kind = str(data.get("type") or "")
    if kind != "PAGE":
        return _fail(
            name,
            title,
            f"this is a {kind or 'non-Page'} token, not a Page token",
            "use the Page's own token (GET /me/accounts lists each Page with its access_token)",
        )
    profile = str(data.get("profile_id") or "")
    if page_id is not None and profile and profile != page_id:
        return _fail(
            name,
            title,
            f"the token is for the Page {profile}, not {page_id}",
            "use the token of the bridge's Page",
        )
    scopes = [str(s) for s in data.get("scopes") or [] if isinstance(s, str)]
    missing = [s for s in NEEDED_SCOPES if s not in scopes]
    if missing:
        return _fail(
            name,
            title,
            f"the token lacks {', '.join(missing)}: the bridge cannot send messages",
            f"make a new Page token with {', '.join(missing)} granted",
        )
    expires = _number(data.get("expires_at"))
    parts = [f"a Page token of {data.get('application') or 'the app'} ({token_app})"]
    if not expires:
        parts.append("never expires")
    elif expires - now < TOKEN_EXPIRY_WARNING:
        days = max(0.0, (expires - now) / 86400)
        return _fail(
            name,
            title,
            f"the token expires in {days:.1f} days ({_date(expires)})",
            "make a long-lived Page token (from a long-lived user token, or a system user's) "
            "and set FB_PAGE_ACCESS_TOKEN",
        )
    else:
        parts.append(f"expires {_date(expires)}")
    access = _number(data.get("data_access_expires_at"))
    if access:
        parts.append(f"data access until {_date(access)}")
    parts.append(f"permissions: {', '.join(scopes) or 'none'}")
    absent = [s for s in SETUP_SCOPES if s not in scopes]
    if absent:
        parts.append(f"without {', '.join(absent)}, {SETUP} cannot subscribe the Page")
    return CheckResult(name, title, True, "; ".join(parts))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


# --- Lex --------------------------------------------------------------------------------------

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
        return _fail(name, title, detail, fix)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return _fail(
            name,
            title,
            f"boto3 found no usable AWS credentials ({type(exc).__name__})",
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run on a host "
            "with an IAM role",
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return _fail(
            name,
            title,
            f"could not connect to Lex for {where} ({type(exc).__name__})",
            "check AWS_REGION and that this machine reaches runtime-v2-lex.<region>.amazonaws.com",
        )
    if isinstance(exc, ReadTimeoutError):
        return _fail(
            name,
            title,
            f"Lex did not answer within LEX_READ_TIMEOUT for {where}",
            "a slow Lambda code hook is the usual cause: look at its duration",
        )
    return _fail(name, title, f"the call to Lex failed: {type(exc).__name__}", "run it again")


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


def lex_where(settings: Settings) -> str:
    region = "local endpoint" if settings.lex_endpoint_url else (settings.aws_region or "?")
    if settings.bot == "lexv1":
        return f"Lex V1 bot {settings.lex_bot_name}, alias {settings.lex_bot_alias} ({region})"
    return (
        f"bot {settings.lex_bot_id}, alias {settings.lex_bot_alias_id}, locale "
        f"{settings.lex_locale_id} ({region})"
    )


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
        return _fail("lex_bot", "Lex bot", "; ".join(error.problems), "set the variables named")
    try:
        bot = client.get_bot(name=settings.lex_bot_name, versionOrAlias=settings.lex_bot_alias)
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
            return _fail("lex_bot", "Lex bot", detail, fix)
    return interpret_lex_error(exc, where)


def interpret_lex_v1_bot(bot: Mapping[str, Any], where: str) -> CheckResult:
    """GetBot answered: is the bot built, so PostText can answer?"""
    status = str(bot.get("status") or "unknown")
    version = bot.get("version")
    if status not in _V1_READY:
        reason = bot.get("failureReason")
        return _fail(
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
    if settings.bot == "lexv1":
        return check_lex_v1(settings, make_v1_client)
    where = lex_where(settings)
    try:
        client = make_client(settings)
    except ConfigError as error:
        return _fail("lex_bot", "Lex bot", "; ".join(error.problems), "set the variables named")
    try:
        response = client.recognize_text(
            botId=settings.lex_bot_id,
            botAliasId=settings.lex_bot_alias_id,
            localeId=settings.lex_locale_id,
            sessionId=CHECK_SESSION,
            text=CHECK_TEXT,
            requestAttributes={PLATFORM_ATTRIBUTE: PLATFORM, CHECK_ATTRIBUTE: "true"},
        )
    except (ClientError, BotoCoreError) as exc:
        result = interpret_lex_error(exc, where)
        if settings.lex_endpoint_url and isinstance(exc, EndpointConnectionError):
            result = replace(result, fix=LOCAL_UNREACHABLE_FIX)
        return result
    return interpret_lex_answer(response, where)


# --- queue ------------------------------------------------------------------------------------


def check_queue(path: Path, *, timeout: float = 5.0) -> CheckResult:
    """The queue database can be written: open, ``BEGIN IMMEDIATE``, roll back."""
    name, title = "queue_db", "Queue database"
    fix = (
        f"make {path} and its directory writable by the user the bridge runs as (SQLite also "
        "writes -wal and -shm files beside it), on a local disk, or set BRIDGE_DB"
    )
    if not path.exists():
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if os.access(parent, os.W_OK | os.X_OK):
            return CheckResult(
                name, title, True, f"{path} does not exist yet; the bridge creates it at start"
            )
        return _fail(name, title, f"{path} does not exist and {parent} is not writable", fix)
    try:
        db = sqlite3.connect(
            path.resolve().as_uri() + "?mode=rw", uri=True, timeout=timeout, isolation_level=None
        )
    except sqlite3.Error as exc:
        return _fail(name, title, f"cannot open {path}: {exc}", fix)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        message = str(exc)
        if "locked" in message or "busy" in message:
            return _fail(
                name,
                title,
                f"{path} stayed locked for {timeout:g} s: {message}",
                "another process holds a long write; if none should, look for a stuck process "
                "using the file",
            )
        return _fail(name, title, f"cannot write {path}: {message}", fix)
    finally:
        db.close()
    return CheckResult(name, title, True, f"{path} is writable")


def check_configured_queue(settings: Settings) -> CheckResult:
    """The queue ``BRIDGE_QUEUE`` names: the SQLite database, or (``sqs``) the SQS queue, its
    dead-letter queue and the DynamoDB table answer and take writes."""
    if settings.aws_queue is None:
        return check_queue(settings.db_path)
    from bridge.errors import QueueError
    from bridge.queue.sqs.aws import queue_name
    from bridge.queue.sqs.queue import SqsQueue

    name, title = "queue_aws", "Queue (SQS, DynamoDB)"
    aws = settings.aws_queue
    try:
        queue = SqsQueue(aws)
        queue.check_writable(timeout=5.0)
        dead = queue.dead.url
    except (QueueError, ConfigError) as exc:
        return _fail(
            name,
            title,
            str(exc),
            "run `python -m bridge init-aws` with these settings (it creates or corrects the"
            " queues and the table); the credentials need the actions `init-aws --policy` lists",
        )
    detail = (
        f"queue {queue_name(aws.queue_url)}, dead-letter queue {queue_name(dead)} and table"
        f" {aws.table} answer"
    )
    return CheckResult(name, title, True, detail)


# --- running them -----------------------------------------------------------------------------


def run_checks(
    settings: Settings,
    graph: GraphClient,
    *,
    app_id: str | None = None,
    skip_lex: bool = False,
    make_lex_client: Callable[[Settings], Any] | None = None,
    make_v1_client: Callable[[Settings], Any] | None = None,
    clock: Callable[[], float] = time.time,
    queue: bool = True,
) -> list[CheckResult]:
    """Every check, in order; later Graph checks are marked not run when the token fails.
    The Lex clients default to the bridge's own (``make_lexv2_client``,
    ``make_lex_models_client``); ``queue`` False leaves out the queue database (checked once
    for several Pages)."""
    secrets = (settings.page_access_token, settings.app_secret)
    local_fix = LOCAL_UNREACHABLE_FIX if settings.is_local else None
    results: list[CheckResult] = []
    token, secret, page_id, proof = _token_and_secret(graph, settings, secrets, local_fix)
    results += [token, secret]
    if app_id:
        results.append(_debug_token(graph, app_id, page_id or settings.page_id, clock(), secrets))
    else:
        results.append(
            CheckResult(
                "token_details",
                "Token details (debug_token)",
                True,
                "skipped: set FB_APP_ID (or --app-id) to also check the token's app, type, "
                "expiry and permissions",
                skipped=True,
            )
        )
    if page_id is None:
        results.append(
            _not_run(
                "subscription",
                "Webhook subscription",
                "needs a working Page token",
                "fix the Page token first",
            )
        )
    else:
        try:
            apps = graph.subscribed_apps(page_id, proof=proof)
        except GraphError as error:
            explained = explain_graph_error(
                error,
                doing="read the Page's webhook subscription",
                permission="pages_manage_metadata",
                secrets=secrets,
                unreachable_fix=local_fix,
            )
            results.append(
                _fail("subscription", "Webhook subscription", explained.detail, explained.fix)
            )
        else:
            results.append(interpret_subscription(apps, page_id, app_id))
    if skip_lex:
        results.append(
            CheckResult("lex_bot", "Lex bot", True, "skipped (--skip-lex)", skipped=True)
        )
    else:
        results.append(
            check_lex(
                settings,
                make_lex_client or make_lexv2_client,
                make_v1_client or make_lex_models_client,
            )
        )
    if queue:
        results.append(check_configured_queue(settings))
    return results


def _bot_identity(settings: Settings) -> tuple[object, ...]:
    return (
        settings.bot,
        settings.lex_bot_id,
        settings.lex_bot_alias_id,
        settings.lex_locale_id,
        settings.lex_bot_name,
        settings.lex_bot_alias,
        settings.lex_endpoint_url,
    )


def run_page_checks(
    settings: Settings,
    pages: Sequence[PageConfig],
    make_graph: Callable[[Settings], GraphClient],
    *,
    app_id: str | None = None,
    skip_lex: bool = False,
    make_lex_client: Callable[[Settings], Any] | None = None,
    make_v1_client: Callable[[Settings], Any] | None = None,
    clock: Callable[[], float] = time.time,
) -> list[CheckResult]:
    """Checks 1–5 for each of ``pages`` (of the pages file) with its own token and bot, a bot
    shared by Pages checked once; then the queue database."""
    results: list[CheckResult] = []
    checked: dict[tuple[object, ...], tuple[str, CheckResult]] = {}
    for page in pages:
        view = settings.for_page(page)
        identity = _bot_identity(view)
        earlier = checked.get(identity)
        page_results = run_checks(
            view,
            make_graph(view),
            app_id=app_id,
            skip_lex=skip_lex or earlier is not None,
            make_lex_client=make_lex_client,
            make_v1_client=make_v1_client,
            clock=clock,
            queue=False,
        )
        for result in page_results:
            if result.name == "lex_bot" and earlier is not None and not skip_lex:
                first, found = earlier
                result = replace(
                    found, detail=f"the same bot as Page {first}: {found.detail}", skipped=True
                )
            elif result.name == "lex_bot" and not skip_lex:
                checked[identity] = (page.page_id, result)
            results.append(replace(result, page=page.label))
    results.append(check_configured_queue(settings))
    return results


def _token_and_secret(
    graph: GraphClient, settings: Settings, secrets: Sequence[str], local_fix: str | None
) -> tuple[CheckResult, CheckResult, str | None, bool]:
    """The Page token and app secret checks, the token's Page id (None if the token fails) and
    whether later calls may carry a proof."""
    secret_title = "App secret"
    try:
        me = graph.me()
    except GraphError as error:
        if not is_bad_proof(error):
            explained = explain_graph_error(
                error,
                doing="read the Page behind the token",
                secrets=secrets,
                unreachable_fix=local_fix,
            )
            return (
                _fail("page_token", "Page token", explained.detail, explained.fix),
                _not_run(
                    "app_secret",
                    secret_title,
                    "needs a working Page token",
                    "fix the Page token first",
                ),
                None,
                True,
            )
        bad_secret = _fail(
            "app_secret",
            secret_title,
            "Graph refused the appsecret_proof made with FB_APP_SECRET (“"
            f"{scrub(error.message, secrets)}”): the secret is not the one of the app the "
            "token was made for, "
            "or this machine's clock is off by more than 5 minutes. Every Send API call would "
            "fail the same way, and webhook signatures would not verify either",
            BAD_PROOF_FIX,
        )
        try:
            me = graph.me(proof=False)
        except GraphError as second:
            if needs_proof(second):
                return (
                    _not_run(
                        "page_token",
                        "Page token",
                        "the app requires an appsecret_proof (Require App Secret) and the proof "
                        "was refused",
                        "fix the app secret first",
                    ),
                    bad_secret,
                    None,
                    False,
                )
            explained = explain_graph_error(
                second, doing="read the Page behind the token", secrets=secrets
            )
            return (
                _fail("page_token", "Page token", explained.detail, explained.fix),
                bad_secret,
                None,
                False,
            )
        token = interpret_me(me, settings.page_id)
        return token, bad_secret, str(me.get("id")) if token.ok else None, False
    token = interpret_me(me, settings.page_id)
    secret = CheckResult(
        "app_secret",
        secret_title,
        True,
        "Graph accepted the appsecret_proof made with FB_APP_SECRET",
    )
    return token, secret, str(me.get("id")) if token.ok else None, True


def _debug_token(
    graph: GraphClient, app_id: str, page_id: str | None, now: float, secrets: Sequence[str]
) -> CheckResult:
    try:
        data = graph.debug_token(app_id)
    except GraphError as error:
        explained = explain_graph_error(
            error,
            doing="inspect the token with the app token FB_APP_ID|FB_APP_SECRET",
            secrets=secrets,
        )
        return _fail(
            "token_details",
            "Token details (debug_token)",
            explained.detail,
            "check FB_APP_ID is the App ID and FB_APP_SECRET its App Secret (App settings › "
            f"Basic); {explained.fix}",
        )
    return interpret_debug_token(data, app_id=app_id, page_id=page_id, now=now)


# --- output -----------------------------------------------------------------------------------


def render_text(results: Sequence[CheckResult]) -> str:
    """A ✓/✗ line per check (– when not run), the fix under each failure, then a summary;
    with several Pages, each Page's checks under its name."""
    lines = []
    page: str | None = None
    for result in results:
        if result.page != page:
            page = result.page
            lines.append(f"Page {page}:" if page is not None else "")
        mark = "–" if result.skipped else "✓" if result.ok else "✗"
        lines.append(f"{mark} {result.title}: {result.detail}")
        if not result.ok and result.fix:
            lines.append(f"    fix: {result.fix}")
    failed = [r for r in results if not r.ok and not r.skipped]
    not_run = [r for r in results if not r.ok and r.skipped]
    if not failed and not not_run:
        lines.append(f"\nAll {len(results)} checks passed.")
    else:
        summary = f"{len(failed)} of {len(results)} checks failed"
        if not_run:
            summary += f", {len(not_run)} could not run"
        lines.append(f"\n{summary}.")
    return "\n".join(lines)


def render_json(results: Sequence[CheckResult]) -> str:
    return json.dumps([result.to_json() for result in results], indent=2, ensure_ascii=False)


def config_failure(error: ConfigError) -> CheckResult:
    return _fail(
        "config",
        "Configuration",
        "; ".join(error.problems),
        "set the variables named (config.example.env lists every one)",
    )
