"""An outbound message request, read and checked: a pure function of the decoded JSON body.

Every problem is an ``InvalidRequest`` naming the field (``recipient.id``, ``tag``...) and what
it should be; nothing here raises anything else for any input. The content is rendered here
already (``text`` split like a bot's reply, ``message`` checked against the Send API's limits),
so what is queued is what will be sent.
https://developers.facebook.com/docs/messenger-platform/reference/send-api
https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.config.pages import MAX_INPUT_TEXT
from bridge.errors import InvalidRequest
from bridge.messenger.limits import message_problems
from bridge.messenger.render import render
from bridge.messenger.replies import Text
from bridge.messenger.text import utf16_len

MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
HUMAN_AGENT = "HUMAN_AGENT"
# Tags Graph refuses (error 100) since 27 Apr 2026; Meta points to utility templates and the
# Marketing Messages API instead (reference: messenger.md §5.2).
RETIRED_TAGS = ("ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE")
MAX_PARTS = 10  # as many messages as one Lex turn may give
MAX_IDEMPOTENCY_KEY = 200
MAX_TOKEN = 1000
_FIELDS = frozenset(
    {"recipient", "page_id", "text", "message", "lex", "messaging_type", "tag", "idempotency_key"}
)
_CONTENT = ("text", "message", "lex")
_MAX_ID = 64


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """A checked request: to a PSID (``psid``) or a notification-messages ``token``; either
    the Send API ``messages`` to send, or ``lex_text`` to ask the bot with."""

    psid: str | None
    token: str | None
    messages: tuple[dict[str, Any], ...]
    lex_text: str | None
    messaging_type: str
    tag: str | None
    page_id: str | None
    idempotency_key: str | None

    def __repr__(self) -> str:  # never the token nor the words
        return f"OutboundRequest(psid={self.psid!r}, page_id={self.page_id!r})"


def parse_request(body: object) -> OutboundRequest:
    """The request in ``body`` (a decoded JSON value), or ``InvalidRequest``."""
    if not isinstance(body, dict):
        raise InvalidRequest("", "the body must be a JSON object")
    unknown = sorted(str(key) for key in body if key not in _FIELDS)
    if unknown:
        raise InvalidRequest(unknown[0], "unknown field")
    psid, token = _recipient(body.get("recipient"))
    messages, lex_text = _content(body)
    messaging_type, tag = _messaging(body, token_recipient=token is not None)
    if tag == HUMAN_AGENT and lex_text is not None:
        raise InvalidRequest(
            "tag", "HUMAN_AGENT is for a person's reply; a bot's answer (lex) may not use it"
        )
    return OutboundRequest(
        psid=psid,
        token=token,
        messages=messages,
        lex_text=lex_text,
        messaging_type=messaging_type,
        tag=tag,
        page_id=_page_id(body.get("page_id")),
        idempotency_key=_idempotency_key(body.get("idempotency_key")),
    )


def _recipient(value: object) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        raise InvalidRequest(
            "recipient", 'required: {"id": "<PSID>"} or {"notification_messages_token": "..."}'
        )
    keys = set(value)
    if keys == {"id"}:
        psid = value["id"]
        if not _is_id(psid):
            raise InvalidRequest("recipient.id", "must be a PSID: a string of digits")
        return psid, None
    if keys == {"notification_messages_token"}:
        token = value["notification_messages_token"]
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN or not token.isprintable():
            raise InvalidRequest(
                "recipient.notification_messages_token",
                f"must be the token Messenger gave (a string of 1-{MAX_TOKEN} characters)",
            )
        return None, token
    raise InvalidRequest(
        "recipient", 'must have exactly one of "id" and "notification_messages_token"'
    )


def _is_id(value: object) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= _MAX_ID and value.isascii() and value.isdigit()
    )


def _content(body: Mapping[str, Any]) -> tuple[tuple[dict[str, Any], ...], str | None]:
    given = [name for name in _CONTENT if name in body]
    if len(given) != 1:
        raise InvalidRequest(
            given[1] if given else "text", "give exactly one of text, message, lex"
        )
    if given[0] == "text":
        return _text(body["text"]), None
    if given[0] == "message":
        return (_message(body["message"]),), None
    return (), _lex(body["lex"])


def _text(value: object) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("text", "must be a non-empty string")
    parts = render(Text(value))
    if not parts:
        raise InvalidRequest("text", "has nothing Messenger can show")
    if len(parts) > MAX_PARTS:
        raise InvalidRequest(
            "text", f"too long: it would take {len(parts)} messages, at most {MAX_PARTS}"
        )
    return tuple(parts)


def _message(value: object) -> dict[str, Any]:
    problems = message_problems(value)
    if problems:
        raise InvalidRequest("message", "; ".join(problems))
    assert isinstance(value, dict)  # message_problems says so
    return dict(value)


def _lex(value: object) -> str:
    if not isinstance(value, dict) or set(value) != {"text"}:
        raise InvalidRequest("lex", 'must be {"text": "..."}')
    text = value["text"]
    if not isinstance(text, str) or not text.strip() or utf16_len(text) > MAX_INPUT_TEXT:
        raise InvalidRequest("lex.text", f"must be a text of 1-{MAX_INPUT_TEXT} characters")
    return text


def _messaging(body: Mapping[str, Any], *, token_recipient: bool) -> tuple[str, str | None]:
    given, tag = body.get("messaging_type"), body.get("tag")
    if token_recipient:
        for name in ("messaging_type", "tag"):
            if name in body:
                raise InvalidRequest(name, "not used with a notification_messages_token recipient")
        return "", None
    messaging_type = "RESPONSE" if given is None else given
    if messaging_type not in MESSAGING_TYPES:
        raise InvalidRequest("messaging_type", f"must be one of {', '.join(MESSAGING_TYPES)}")
    if messaging_type != "MESSAGE_TAG":
        if tag is not None:
            raise InvalidRequest("tag", "only with messaging_type MESSAGE_TAG")
        return str(messaging_type), None
    _check_tag(tag)
    return "MESSAGE_TAG", HUMAN_AGENT


def _check_tag(tag: object) -> None:
    if tag == HUMAN_AGENT:
        return
    if tag is None:
        raise InvalidRequest("tag", "required with messaging_type MESSAGE_TAG: HUMAN_AGENT")
    if tag in RETIRED_TAGS:
        raise InvalidRequest(
            "tag",
            f"{tag} is retired: Graph refuses it since 27 Apr 2026 (error 100); Meta points to"
            " utility templates and the Marketing Messages API. The bridge sends HUMAN_AGENT",
        )
    raise InvalidRequest(
        "tag", "unknown or unsupported tag: the bridge sends HUMAN_AGENT (a person's reply)"
    )


def _page_id(value: object) -> str | None:
    if value is None:
        return None
    if not _is_id(value):
        raise InvalidRequest("page_id", "must be a Page id: a string of digits")
    assert isinstance(value, str)
    return value


def _idempotency_key(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest(
            "idempotency_key", f"must be a string of 1-{MAX_IDEMPOTENCY_KEY} characters"
        )
    return value


def resolve_page(requested: str | None, pages: Sequence[str]) -> str:
    """The Page to send as: ``requested``, or the only one of ``pages`` (the Pages served;
    empty: a single-Page setup without ``FB_PAGE_ID``, whose id is not known)."""
    if requested is not None:
        if pages and requested not in pages:
            raise InvalidRequest("page_id", "not a Page this bridge serves")
        return requested
    if len(pages) == 1:
        return pages[0]
    if not pages:
        raise InvalidRequest("page_id", "required: FB_PAGE_ID is not set, so name the Page")
    raise InvalidRequest("page_id", "required: this bridge serves several Pages")
