"""Amazon Lex V2 backend: one RecognizeText call per turn, replies mapped by a pure function.

The call and its errors are shared with V1 (``bridge.bots.lexclient``), as is what a turn sends
(``bridge.bots.lexrequest``). The client is the bridge's own lean RecognizeText client
(``bridge.bots.lexv2http``), which raises botocore's exceptions; a botocore client (tests with
botocore's Stubber) works the same.
https://docs.aws.amazon.com/lexv2/latest/APIReference/API_runtime_RecognizeText.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.bots import handover
from bridge.bots.attributes import bridge_attributes
from bridge.bots.lexanswer import plain_text, shown, ssml_or_none, text_or_none, to_card
from bridge.bots.lexclient import call_lex, make_runtime_client
from bridge.bots.lexrequest import (
    PLATFORM,
    PLATFORM_ATTRIBUTE,
    check_session_id,
    lex_session_id,
    lex_text,
    v1_channel_attributes,
)
from bridge.bots.lexv2http import make_lean_lexv2_client
from bridge.config.settings import Settings
from bridge.messenger.events import Event
from bridge.messenger.replies import Reply, Text


def make_lexv2_client(settings: Settings) -> Any:
    """The bridge's Lex V2 client (``lexv2http.LexV2RuntimeClient``): no retries, read
    timeout above Lex's 30 s limit, lighter than botocore's (``lexv2http``'s docstring).

    With ``settings.lex.endpoint_url`` (local mode) the client talks to that endpoint with
    dummy credentials. Otherwise boto3's own chain applies, so the standard AWS variables
    (credentials, ``AWS_ENDPOINT_URL_LEX_RUNTIME_V2``, profiles) work unchanged.
    """
    return make_lean_lexv2_client(settings)


def make_botocore_lexv2_client(settings: Settings) -> Any:
    """A botocore ``lexv2-runtime`` client with the same settings (for botocore's Stubber)."""
    return make_runtime_client(settings, "lexv2-runtime")


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
        asked = handover.for_intent(*v2_intent(response), self._handover_intent)
        return replies + ([asked] if asked is not None else [])


def replies_from_recognize_text(response: Mapping[str, Any]) -> list[Reply]:
    """The bot's messages as neutral replies, in Lex's order (at most 10 per the model); a
    ``Fallback`` first when Lex said something but none of it can be shown
    (``lexanswer.shown``)."""
    messages = response.get("messages")
    if messages is None:
        return []  # no `messages` key: Lex had nothing to say this turn
    if not isinstance(messages, list):
        return shown([None])  # something, but not the list the model promises
    return shown([_to_reply(message) for message in messages])


def _to_reply(message: object) -> Reply | None:
    """One message as a reply, best effort; None if nothing of it can be shown."""
    if not isinstance(message, Mapping):
        return None
    content_type, content = message.get("contentType"), message.get("content")
    if content_type == "ImageResponseCard":
        # The card is the message: its `content`, if a Lambda sets one too, is shown only in
        # place of a missing title, or of a missing card.
        card = message.get("imageResponseCard")
        if isinstance(card, Mapping):
            return to_card(card, subtitle_key="subtitle", text=content)
        text = text_or_none(content)
        return Text(text) if text is not None else None
    if not isinstance(content, str) or not content.strip():
        return None  # the model says 1-1024 chars; a blank message cannot be sent to Messenger
    if content_type == "PlainText":
        return Text(content)
    if content_type == "SSML":
        return ssml_or_none(content)
    if content_type == "CustomPayload":
        return handover.from_custom_payload(content)
    return plain_text(content)  # a missing or future content type: only words are shown


def v2_intent(response: Mapping[str, Any]) -> tuple[str | None, bool]:
    """A RecognizeText answer's intent name, and whether the answer closes it."""
    state = response.get("sessionState")
    state = state if isinstance(state, Mapping) else {}
    intent = state.get("intent")
    intent = intent if isinstance(intent, Mapping) else {}
    action = state.get("dialogAction")
    action = action if isinstance(action, Mapping) else {}
    name = intent.get("name")
    closed = action.get("type") == "Close" or intent.get("state") in handover.CLOSED_STATES
    return (name if isinstance(name, str) else None), closed
