"""Amazon Lex V1 backend (legacy): one PostText call per turn, replies mapped by a pure function.

Lex V1 reached end of support on 15 September 2025. This module serves bots not yet migrated
to V2; deleting it (nothing imports it but ``make_bot``, lazily) removes V1 support.
The request looks like what V1's own Facebook channel sent: ``userId`` is the PSID and the
request attributes name the channel, the user and the Page.
https://docs.aws.amazon.com/lex/latest/dg/API_runtime_PostText.html
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from bridge.bots import handover
from bridge.bots.attributes import bridge_attributes
from bridge.bots.lexanswer import text_or_none, to_buttons
from bridge.bots.lexclient import call_lex, make_runtime_client
from bridge.bots.lexrequest import (
    check_session_id,
    lex_session_id,
    lex_text,
    v1_channel_attributes,
)
from bridge.config.settings import Settings
from bridge.messenger.events import Event
from bridge.messenger.replies import Card, Reply, Ssml, Text

_BY_TYPE: dict[str, Callable[[str], Reply | None]] = {
    "PlainText": Text,
    "SSML": Ssml,
    "CustomPayload": handover.from_custom_payload,
}


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
    card's attachments as cards."""
    replies = _from_message(response.get("message"), response.get("messageFormat"))
    card = response.get("responseCard")
    if isinstance(card, Mapping):
        attachments = card.get("genericAttachments")
        for attachment in attachments if isinstance(attachments, list) else []:
            converted = _to_card(attachment) if isinstance(attachment, Mapping) else None
            if converted is not None:
                replies.append(converted)
    return replies


def _from_message(message: object, message_format: object) -> list[Reply]:
    content = text_or_none(message)
    if content is None:
        return []
    if message_format == "Composite":
        parts = _composite(content)
        if parts is not None:
            return parts
        return [Text(content)]  # not the JSON Lex documents: show it rather than drop it
    build = _BY_TYPE.get(message_format) if isinstance(message_format, str) else None
    reply = (build or Text)(content)
    return [] if reply is None else [reply]


def _composite(content: str) -> list[Reply] | None:
    """``{"messages": [{"type", "group", "value"}, ...]}``: one message per message group,
    sent in group order; None if ``content`` is not that."""
    try:
        decoded = json.loads(content)
    except ValueError:
        return None
    messages = decoded.get("messages") if isinstance(decoded, dict) else None
    if not isinstance(messages, list):
        return None
    parts = [part for part in messages if isinstance(part, Mapping)]
    parts.sort(key=lambda part: part["group"] if isinstance(part.get("group"), int) else 0)
    replies: list[Reply] = []
    for part in parts:
        value, kind = text_or_none(part.get("value")), part.get("type")
        build = _BY_TYPE.get(kind) if isinstance(kind, str) else None
        reply = build(value) if value is not None and build is not None else None
        if reply is not None:
            replies.append(reply)
    return replies


def _to_card(attachment: Mapping[str, Any]) -> Card | None:
    """A ``genericAttachments`` item (V1's limits match Messenger's generic template)."""
    title = text_or_none(attachment.get("title"))
    if title is None:
        return None  # Messenger needs a title; V1 made it optional
    return Card(
        title=title,
        subtitle=text_or_none(attachment.get("subTitle")),
        image_url=text_or_none(attachment.get("imageUrl")),
        buttons=tuple(to_buttons(attachment.get("buttons"))),
    )
