"""The Lex runtime calls both backends make, and what a failed call means for the turn.

Clients: Lex V2 uses the bridge's lean RecognizeText client (``bridge.bots.lexv2http``), Lex V1
and the ops check's ``lex-models`` a botocore client from ``make_runtime_client``; both raise
botocore's exceptions, classified here. Calls: no automatic retries (botocore's
``total_max_attempts = 1``), read timeout above Lex's 30 s Lambda limit (``LEX_READ_TIMEOUT``),
connect timeout ``CONNECT_TIMEOUT``, and no parameter validation (botocore's is off: about 4 %
of a call's CPU): the bridge builds every request itself and checks what Lex would refuse
before calling (``bridge.bots.lexrequest``: text 1-1024 UTF-16 units, never blank; the session
id's pattern; ids from settings checked against their patterns at start; attributes are
strings).
A turn may already have run when Lex answers 5xx or times out, so those are never blindly
repeated: the user gets the fallback text (``BotErrorKind.FALLBACK``). Throttling and
connection failures are retried with backoff (``RETRY``); a wrong bot, alias, permission or
credential is a ``CONFIG`` error. V1 (PostText) and V2 (RecognizeText) name their errors
differently; their HTTP statuses mean the same.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from bridge import __version__
from bridge.config.settings import Settings
from bridge.errors import BotError, BotErrorKind, ConfigError
from bridge.obs import metrics

T = TypeVar("T")

LOCAL_REGION = "us-east-1"
CONNECT_TIMEOUT = 5
REGION_MISSING = "AWS_REGION is missing: set it to the Region of your Lex bot, e.g. us-east-1"

# Nothing ran on Lex's side (429), or another turn of this session was running (409).
# V1 names: LimitExceededException (429).
_RETRY_CODES = frozenset({"ThrottlingException", "ConflictException", "LimitExceededException"})
# The turn (and the Lambda code hook) may have run: never repeat it. V1 names:
# InternalFailureException (500), LoopDetectedException (508).
_FALLBACK_CODES = frozenset(
    {
        "InternalServerException",
        "InternalFailureException",
        "BadGatewayException",
        "DependencyFailedException",
        "LoopDetectedException",
    }
)
# V1 names: BadRequestException (400), NotFoundException (404).
_CONFIG_CODES = frozenset(
    {
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ValidationException",
        "BadRequestException",
        "NotFoundException",
    }
)


def make_runtime_client(settings: Settings, service: str) -> Any:
    """A botocore Lex client (``lex-runtime``, ``lex-models``; ``lexv2-runtime`` for tests with
    botocore's Stubber) configured for turns.

    With ``settings.lex.endpoint_url`` (local mode) the client talks to that endpoint with
    dummy credentials. Otherwise boto3's own chain applies, so the standard AWS variables
    (credentials, ``AWS_ENDPOINT_URL_LEX_RUNTIME_V2``, profiles) work unchanged.
    """
    session = boto3.session.Session(region_name=settings.lex.region)
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        read_timeout=settings.lex.read_timeout,
        connect_timeout=CONNECT_TIMEOUT,
        user_agent_extra=f"messenger-lex-bridge/{__version__}",
        parameter_validation=False,  # see the module docstring
    )
    if settings.lex.endpoint_url:
        return session.client(
            service,
            endpoint_url=settings.lex.endpoint_url,
            region_name=session.region_name or LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=config,
        )
    if session.region_name is None:
        raise ConfigError([REGION_MISSING])
    return session.client(service, config=config)


def call_lex(operation: str, call: Callable[[], T]) -> T:
    """Make one Lex runtime call, timed; a boto3 failure becomes a classified ``BotError``."""
    started = time.perf_counter()
    try:
        response = call()
    except (ClientError, BotoCoreError) as exc:
        error = to_bot_error(exc, operation)
        metrics.LEX_DURATION.labels("error").observe(time.perf_counter() - started)
        metrics.LEX_ERRORS.labels(error.kind.value, aws_error_code(exc)).inc()
        # `from None`: the botocore error's message may hold the URL (with the PSID) or a
        # validation message quoting the user's text; the reason keeps what ops need.
        raise error from None
    metrics.LEX_DURATION.labels("ok").observe(time.perf_counter() - started)
    return response


def aws_error_code(exc: Exception) -> str:
    """A bounded label for a failed call: the AWS error code (``ThrottlingException``...) or
    the botocore exception's name (``ReadTimeoutError``...)."""
    if isinstance(exc, ClientError):
        code = (exc.response.get("Error") or {}).get("Code")
        if isinstance(code, str) and re.fullmatch(r"[A-Za-z0-9_.]{1,64}", code):
            return code
        return "Unknown"
    return type(exc).__name__


def to_bot_error(exc: Exception, operation: str = "RecognizeText") -> BotError:
    """Classify a boto3 failure of a Lex turn (RecognizeText, or V1's PostText, whose error
    codes differ but whose HTTP statuses mean the same); the reason never holds the user's
    text."""
    if isinstance(exc, ClientError):
        return _from_client_error(exc, operation)
    name = type(exc).__name__
    failed = f"Lex {operation} failed: {name}"
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)):
        # No connection, or the connection dropped (most often a stale pooled connection
        # that Lex had closed). A drop mid-turn is possible but rare; we accept the repeat.
        return BotError(BotErrorKind.RETRY, f"{failed} (no answer)")
    if isinstance(exc, ReadTimeoutError):
        return BotError(
            BotErrorKind.FALLBACK, f"{failed} (sent, no answer in time; the turn may have run)"
        )
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, ParamValidationError)):
        return BotError(BotErrorKind.CONFIG, failed)
    return BotError(BotErrorKind.FALLBACK, failed)


def _from_client_error(exc: ClientError, operation: str) -> BotError:
    error = exc.response.get("Error") or {}
    metadata = exc.response.get("ResponseMetadata") or {}
    code = str(error.get("Code") or "Unknown")
    status = metadata.get("HTTPStatusCode")
    # Only ids and numbers: Lex's message text may quote the input.
    reason = f"Lex {operation} failed: {code} (HTTP {status}"
    if metadata.get("RequestId"):
        reason += f", request id {metadata['RequestId']}"
    reason += ")"
    return BotError(_kind_of(code, status), reason)


def _kind_of(code: str, status: object) -> BotErrorKind:
    if code in _RETRY_CODES:
        return BotErrorKind.RETRY
    if code in _FALLBACK_CODES:
        return BotErrorKind.FALLBACK
    if code in _CONFIG_CODES:
        return BotErrorKind.CONFIG
    if not isinstance(status, int):
        return BotErrorKind.FALLBACK  # unknown outcome: do not repeat the turn
    if status == 429:
        return BotErrorKind.RETRY  # throttled under a code we do not know: nothing ran
    if 400 <= status < 500:
        return BotErrorKind.CONFIG
    return BotErrorKind.FALLBACK
