"""Amazon Lex V1 backend (legacy): one PostText call per turn, replies mapped by a pure function.

Lex V1 reached end of support on 15 September 2025. This module serves bots not yet migrated
to V2; deleting it (nothing imports it but ``make_bot``, lazily) removes V1 support.
The request looks like what V1's own Facebook channel sent: ``userId`` is the PSID and the
request attributes name the channel, the user and the Page.
https://docs.aws.amazon.com/lex/latest/dg/API_runtime_PostText.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bridge.bots import handover
from bridge.bots.attributes import bridge_attributes
from bridge.bots.lexanswer import plain_text, shown, ssml_or_none, text_or_none, to_card
from bridge.bots.lexclient import call_lex, make_runtime_client
from bridge.bots.lexrequest import (
    check_session_id,
    lex_session_id,
    lex_text,
    v1_channel_attributes,
)
from bridge.config.settings import Settings
from bridge.messenger.events import Event
from bridge.messenger.replies import Reply, Text


def make_lexv1_client(settings: Settings) -> Any:
    """A ``lex-runtime`` client with the bridge's retry and timeout settings; boto3's chain
    applies, so ``AWS_ENDPOINT_URL_LEX_RUNTIME_SERVICE`` points it at another endpoint."""
    return make_runtime_client(settings, "lex-runtime")


class LexV1Bot:
    """Sends each event to a Lex V1 bot alias as one PostText turn.

    ``inputs`` maps the kind of an event without text to the text Lex gets for it;
    ``session_id`` and ``handover_intent`` work as for ``LexV2Bot`` (``userId`` is the session
    id)."""

    def __init__(
        self,
        client: Any,
        *,
        bot_name: str,
        bot_alias: str,
        inputs: Mapping[str, str] | None = None,
        session_id: str = "psid",
        handover_intent: str | None = None,
    ) -> None:
        self._client = client
        self._bot_name = bot_name
        self._bot_alias = bot_alias
        self._inputs = dict(inputs or {})
        self._session_id = session_id
        self._handover_intent = handover_intent

    def respond(self, event: Event) -> list[Reply]:
        """One PostText call; raises ``BotError`` whose ``kind`` says what to do next."""
        text = lex_text(event, self._inputs)
        user_id = lex_session_id(event, self._session_id)
        check_session_id(user_id, "userId")
        # No sessionAttributes: Lex keeps what the Lambda stored (the V1 channel sent none).
        response = call_lex(
            "PostText",
            lambda: self._client.post_text(
                botName=self._bot_name,
                botAlias=self._bot_alias,
                userId=user_id,
                inputText=text,
                requestAttributes=v1_channel_attributes(event) | bridge_attributes(event),
            ),
        )
        replies = replies_from_post_text(response)
        asked = handover.for_intent(*v1_intent(response), self._handover_intent)
        return replies + ([asked] if asked is not None else [])


def v1_intent(response: Mapping[str, Any]) -> tuple[str | None, bool]:
    """A PostText answer's intent name, and whether its dialog state ends the intent."""
    name = response.get("intentName")
    closed = response.get("dialogState") in handover.CLOSED_STATES
    return (name if isinstance(name, str) else None), closed


def replies_from_post_text(response: Mapping[str, Any]) -> list[Reply]:
    """The bot's message (each group of a Composite message in order), then its response
    card's attachments as cards; a ``Fallback`` first when Lex said something but none of it
    can be shown (``lexanswer.shown``)."""
    message = _from_message(response.get("message"), response.get("messageFormat"))
    return shown(message + _from_response_card(response.get("responseCard")))


def _from_message(message: object, message_format: object) -> list[Reply | None]:
    if message is None:
        return []  # no message: Lex had nothing to say (ReadyForFulfillment, say)
    content = text_or_none(message)
    if content is None:
        return [None]  # the model says 1-1024 chars
    if message_format == "Composite":
        parts = _composite(content)
        # Not the JSON Lex documents: shown if it reads as words, as for an unknown format.
        return parts if parts is not None else [plain_text(content)]
    return [_to_reply(message_format, content)]


def _to_reply(kind: object, content: str) -> Reply | None:
    """A message (or a Composite group's value) of format ``kind`` as a reply, best effort."""
    if kind == "PlainText":
        return Text(content)
    if kind == "SSML":
        return ssml_or_none(content)
    if kind == "CustomPayload":
        return handover.from_custom_payload(content)
    return plain_text(content)  # a missing or unknown format: only words are shown


def _composite(content: str) -> list[Reply | None] | None:
    """``{"messages": [{"type", "group", "value"}, ...]}``: one message per message group,
    sent in group order; None if ``content`` is not that."""
    try:
        decoded = json.loads(content)
    except (ValueError, RecursionError):
        return None
    messages = decoded.get("messages") if isinstance(decoded, dict) else None
    if not isinstance(messages, list):
        return None
    if not messages:
        return [None]  # a Composite message with no message in it
    parts = sorted(messages, key=_group)
    return [_composite_part(part) if isinstance(part, Mapping) else None for part in parts]


def _group(part: object) -> int:
    group = part.get("group") if isinstance(part, Mapping) else None
    return group if isinstance(group, int) else 0


def _composite_part(part: Mapping[str, Any]) -> Reply | None:
    value = text_or_none(part.get("value"))
    return None if value is None else _to_reply(part.get("type"), value)


def _from_response_card(card: object) -> list[Reply | None]:
    """Each ``genericAttachments`` item as a card (V1's limits match Messenger's generic
    template; a card link, ``attachmentLinkUrl``, is not shown)."""
    if card is None:
        return []
    attachments = card.get("genericAttachments") if isinstance(card, Mapping) else None
    if not isinstance(attachments, list) or not attachments:
        return [None]  # a response card with no attachment that can be read
    return [
        to_card(item, subtitle_key="subTitle") if isinstance(item, Mapping) else None
        for item in attachments
    ]
