"""Amazon Lex V2 backend: one RecognizeText call per turn, replies mapped by a pure function.

https://docs.aws.amazon.com/lexv2/latest/APIReference/API_runtime_RecognizeText.html
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
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
from bridge.bots.attributes import bridge_attributes
from bridge.config.settings import Settings
from bridge.delivery import handover
from bridge.errors import BotError, BotErrorKind, ConfigError
from bridge.messenger.events import Event, bot_input
from bridge.messenger.render import graphemes
from bridge.messenger.replies import Button, Card, Reply, Ssml, Text
from bridge.messenger.text import prefix, utf16_len
from bridge.obs import metrics

T = TypeVar("T")

MAX_TEXT_UNITS = 1024  # RecognizeText `text`, counted in UTF-16 code units
PLATFORM_ATTRIBUTE = "x-amz-lex:channels:platform"
PLATFORM = "Facebook"  # what Lex's own Facebook channel sends; Lambdas branch on it
# What Lex V1's Facebook channel sent, for Lambdas written for it (docs.aws.amazon.com/lex/
# latest/dg/example1.html): the channel type, the sender's PSID and the Page.
V1_CHANNEL_TYPE_ATTRIBUTE = "x-amz-lex:channel-type"
V1_USER_ID_ATTRIBUTE = "x-amz-lex:user-id"
V1_PAGE_ID_ATTRIBUTE = "x-amz-lex:facebook-page-id"
LOCAL_REGION = "us-east-1"
CONNECT_TIMEOUT = 5

_SESSION_ID = re.compile(r"[0-9a-zA-Z._:-]{2,100}")

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


def make_lexv2_client(settings: Settings) -> Any:
    """A ``lexv2-runtime`` client: botocore retries off, read timeout above Lex's 30 s limit.

    With ``settings.lex_endpoint_url`` (local mode) the client talks to that endpoint with
    dummy credentials. Otherwise boto3's own chain applies, so the standard AWS variables
    (credentials, ``AWS_ENDPOINT_URL_LEX_RUNTIME_V2``, profiles) work unchanged.
    """
    return make_runtime_client(settings, "lexv2-runtime")


def make_runtime_client(settings: Settings, service: str) -> Any:
    """A Lex runtime client (``lexv2-runtime`` or ``lex-runtime``) configured for turns."""
    session = boto3.session.Session(region_name=settings.aws_region)
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        read_timeout=settings.lex_read_timeout,
        connect_timeout=CONNECT_TIMEOUT,
        user_agent_extra=f"messenger-lex-bridge/{__version__}",
    )
    if settings.lex_endpoint_url:
        return session.client(
            service,
            endpoint_url=settings.lex_endpoint_url,
            region_name=session.region_name or LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=config,
        )
    if session.region_name is None:
        raise ConfigError(
            ["AWS_REGION is missing: set it to the Region of your Lex bot, e.g. us-east-1"]
        )
    return session.client(service, config=config)


class LexV2Bot:
    """Sends each event to a Lex V2 bot alias as one RecognizeText turn.

    ``inputs`` maps the kind of an event without text (``image``, ``like``...) to the text Lex
    gets for it (default: the kind's name); ``v1_attributes`` adds the request attributes Lex
    V1's Facebook channel sent, for Lambdas ported from V1; ``session_id`` is ``psid`` (the
    sender's PSID, as Lex's own channel) or ``page_psid`` (``<pageId>.<psid>``, for a bot
    shared by several Pages); an answer that closes ``handover_intent`` asks for a person.
    """

    def __init__(
        self,
        client: Any,
        *,
        bot_id: str,
        alias_id: str,
        locale_id: str,
        inputs: Mapping[str, str] | None = None,
        v1_attributes: bool = False,
        session_id: str = "psid",
        handover_intent: str | None = None,
    ) -> None:
        self._client = client
        self._bot_id = bot_id
        self._alias_id = alias_id
        self._locale_id = locale_id
        self._inputs = dict(inputs or {})
        self._v1_attributes = v1_attributes
        self._session_id = session_id
        self._handover_intent = handover_intent

    def respond(self, event: Event) -> list[Reply]:
        """One RecognizeText call; raises ``BotError`` whose ``kind`` says what to do next."""
        text = lex_text(event, self._inputs)
        session_id = lex_session_id(event, self._session_id)
        check_session_id(session_id, "sessionId")
        attributes = {PLATFORM_ATTRIBUTE: PLATFORM}
        if self._v1_attributes:
            attributes |= v1_channel_attributes(event)
        # No sessionState: Lex keeps what the Lambda stored, and a partial sessionAttributes
        # map would replace (wipe) it.
        response = call_lex(
            "RecognizeText",
            lambda: self._client.recognize_text(
                botId=self._bot_id,
                botAliasId=self._alias_id,
                localeId=self._locale_id,
                sessionId=session_id,
                text=text,
                requestAttributes=attributes | bridge_attributes(event),
            ),
        )
        replies = replies_from_recognize_text(response)
        asked = handover.for_intent(*handover.v2_intent(response), self._handover_intent)
        return replies + ([asked] if asked is not None else [])


def lex_session_id(event: Event, scope: str) -> str:
    """The Lex session (V2) or user (V1) id of the event's conversation: the PSID, or for
    ``page_psid`` the Page id and the PSID, ``<pageId>.<psid>``."""
    if scope == "page_psid":
        return f"{event.page_id}.{event.sender_id}"
    return event.sender_id


def lex_text(event: Event, inputs: Mapping[str, str]) -> str:
    """The text Lex gets for ``event``, cut to Lex's limit; never blank."""
    text = truncate_utf16(bot_input(event, inputs), MAX_TEXT_UNITS)
    if not text.strip():
        # The webhook never enqueues such events; Lex would answer 400 anyway.
        raise BotError(BotErrorKind.FALLBACK, "empty input: nothing to send to Lex")
    return text


def check_session_id(value: str, name: str) -> None:
    """Refuse a session id Lex would refuse as a session (V2) or user (V1) id."""
    if not _SESSION_ID.fullmatch(value):
        raise BotError(
            BotErrorKind.CONFIG,
            f"the conversation's id is not a valid Lex {name} (2-100 characters of"
            " [0-9a-zA-Z._:-])",
        )


def v1_channel_attributes(event: Event) -> dict[str, str]:
    """The request attributes Lex V1's Facebook channel set on every PostText."""
    return {
        V1_CHANNEL_TYPE_ATTRIBUTE: PLATFORM,
        V1_USER_ID_ATTRIBUTE: event.sender_id,
        V1_PAGE_ID_ATTRIBUTE: event.page_id,
    }


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


def truncate_utf16(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 code units of ``text``, cut only between graphemes; when the
    first grapheme alone is over the limit (a letter under hundreds of combining marks), cut
    between code points rather than send nothing."""
    if utf16_len(text) <= limit:
        return text
    return prefix(graphemes(text), limit) or prefix(text, limit)


def replies_from_recognize_text(response: Mapping[str, Any]) -> list[Reply]:
    """The bot's messages as neutral replies, in Lex's order (at most 10 per the model)."""
    messages = response.get("messages")
    if not isinstance(messages, list):
        return []  # no `messages` key: Lex had nothing to say this turn
    replies: list[Reply] = []
    for message in messages:
        reply = _to_reply(message) if isinstance(message, Mapping) else None
        if reply is not None:
            replies.append(reply)
    return replies


def _to_reply(message: Mapping[str, Any]) -> Reply | None:
    content_type = message.get("contentType")
    if content_type == "ImageResponseCard":
        # A card's `content`, if a Lambda sets one too, is not shown: the card is the message.
        card = message.get("imageResponseCard")
        return _to_card(card) if isinstance(card, Mapping) else None
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        return None  # the model says 1-1024 chars; a blank message cannot be sent to Messenger
    if content_type == "PlainText":
        return Text(content)
    if content_type == "SSML":
        return Ssml(content)
    if content_type == "CustomPayload":
        return handover.from_custom_payload(content)
    return None  # missing or future content type: skip rather than guess


def _to_card(card: Mapping[str, Any]) -> Card | None:
    title = text_or_none(card.get("title"))
    if title is None:
        return None  # title is required by the model; a card without one cannot render
    buttons = card.get("buttons")
    return Card(
        title=title,
        subtitle=text_or_none(card.get("subtitle")),
        image_url=text_or_none(card.get("imageUrl")),
        buttons=tuple(to_buttons(buttons)),
    )


def to_buttons(buttons: object) -> list[Button]:
    """Card buttons (``text``, ``value``; the same keys in V1 and V2) as neutral buttons."""
    if not isinstance(buttons, list):
        return []
    # A button without text or value cannot be shown, or could not send anything back.
    result = []
    for button in buttons:
        if not isinstance(button, Mapping):
            continue
        title, value = text_or_none(button.get("text")), text_or_none(button.get("value"))
        if title is not None and value is not None:
            result.append(Button(title, value))
    return result


def text_or_none(value: object) -> str | None:
    """A non-blank string, else None (Lambdas send "" or null for absent optional fields)."""
    return value if isinstance(value, str) and value.strip() else None
