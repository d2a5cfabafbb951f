"""The local Lex V2 runtime endpoint (bridge/local/lex.py): RecognizeText with the sample bot,
through Flask's test client and through a real boto3 client on loopback, and its images."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.bots import make_bot
from bridge.bots.lexv2 import LexV2Bot
from bridge.config.localmode import LOCAL_LEX_ALIAS_ID, LOCAL_LEX_BOT_ID
from bridge.config.settings import Settings
from bridge.errors import BotError, BotErrorKind
from bridge.local.sample_bot.front import LONG_PARAGRAPH
from bridge.messenger.events import TextMessage
from bridge.messenger.graph import (
    GraphClient,
)
from bridge.messenger.replies import Button, Card, Ssml, Text
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot
from tests.local.test_localmode import (
    FRESH_SESSION,
    GREETING,
    GRINNING,
    LEX,
    MENU_CARD,
    NOTE,
    not_understood,
    recognize,
    said,
)
from tests.support.ids import OTHER_PSID, PAGE_ID, PSID
from tests.support.servers import LiveServer

# --- Lex V2 RecognizeText (test client) -----------------------------------------------------


def test_hello_answers_in_the_recognize_text_shape(client: FlaskClient) -> None:
    response = recognize(client, "hello")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["messages"] == [
        {"contentType": "PlainText", "content": GREETING},
        {"contentType": "PlainText", "content": NOTE},
        {"contentType": "ImageResponseCard", "imageResponseCard": MENU_CARD},
    ]
    state = data["sessionState"]
    assert state["dialogAction"] == {"type": "Close"}
    assert state["intent"]["name"] == "Welcome"
    assert state["intent"]["state"] == "Fulfilled"
    assert state["sessionAttributes"] == FRESH_SESSION
    assert data["sessionId"] == PSID
    assert data["interpretations"][0]["intent"]["name"] == "Welcome"


@pytest.mark.parametrize("text", ["Hi", "  HELLO  ", "get_started", "안녕하세요"])
def test_greetings_are_recognised_loosely(client: FlaskClient, text: str) -> None:
    assert recognize(client, text).get_json()["sessionState"]["intent"]["name"] == "Welcome"


def test_card_has_an_image_subtitle_and_buttons(
    client: FlaskClient, local_settings: Settings
) -> None:
    data = recognize(client, "#card").get_json()
    assert data["sessionState"]["intent"]["name"] == "Diagnostics"
    [message] = data["messages"]
    assert message["contentType"] == "ImageResponseCard"
    assert message["imageResponseCard"] == {
        "title": "Messenger Lex Bridge",
        "subtitle": "A Lex card becomes a Messenger generic template.",
        "imageUrl": f"{local_settings.local_base_url}/assets/card.svg",
        "buttons": [
            {"text": "Say hello", "value": "hello"},
            {"text": "Count my turns", "value": "#turns"},
        ],
    }
    assert message["imageResponseCard"]["imageUrl"] == (
        "http://127.0.0.1:8000/local/assets/card.svg"
    )


def test_long_is_one_message_longer_than_messenger_allows(client: FlaskClient) -> None:
    [content] = said(recognize(client, "#long"))
    assert len(content) > 2000
    assert content.startswith("Part 1. ")
    assert content.count(LONG_PARAGRAPH) == 25
    assert content.count("\n\n") == 4


def test_count_persists_per_session(client: FlaskClient) -> None:
    assert said(recognize(client, "hello"))[0] == GREETING
    assert said(recognize(client, "#turns")) == ["This is turn 2 of our conversation."]
    assert said(recognize(client, "#turns", session=OTHER_PSID)) == [
        "This is turn 1 of our conversation."
    ]
    third = recognize(client, "#turns")
    assert said(third) == ["This is turn 3 of our conversation."]
    assert third.get_json()["sessionState"]["sessionAttributes"]["turns"] == "3"


def test_ssml(client: FlaskClient) -> None:
    data = recognize(client, "#ssml").get_json()
    [message] = data["messages"]
    assert message["contentType"] == "SSML"
    assert message["content"].startswith("<speak>")
    assert message["content"].endswith("</speak>")
    assert data["sessionState"]["intent"]["name"] == "Diagnostics"


@pytest.mark.parametrize("text", ["What's the weather?", "naïve café", "cards please", GRINNING])
def test_other_text_gets_the_fallback_quoting_it(client: FlaskClient, text: str) -> None:
    response = recognize(client, text)
    assert said(response) == [not_understood(text)]
    assert response.get_json()["sessionState"]["intent"]["name"] == "FallbackIntent"


def test_other_korean_text_gets_the_korean_fallback_quoting_it(client: FlaskClient) -> None:
    text = "안녕 세상 " + GRINNING
    response = recognize(client, text)
    [answer] = said(response)
    assert answer.startswith("죄송해요")
    assert f'"{text}"' in answer
    assert response.get_json()["sessionState"]["intent"]["name"] == "FallbackIntent"


def test_request_attributes_come_back(client: FlaskClient) -> None:
    attributes = {"x-amz-lex:channels:platform": "Facebook"}
    data = recognize(client, "hi", requestAttributes=attributes).get_json()
    assert data["requestAttributes"] == attributes


def test_an_unknown_bot_is_not_found(client: FlaskClient) -> None:
    response = client.post(
        f"/local/lex/bots/ABCDE12345/botAliases/{LOCAL_LEX_ALIAS_ID}/botLocales/en_US"
        f"/sessions/{PSID}/text",
        json={"text": "hello"},
    )
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert set(response.get_json()) == {"message"}
    assert "ABCDE12345" in response.get_json()["message"]


@pytest.mark.parametrize(
    "payload",
    [
        {"text": ""},
        {"text": "a" * 1025},
        {"text": GRINNING * 512 + "a"},  # 1025 UTF-16 units in 513 characters
        {"text": 42},
        {},
        None,
    ],
    ids=["empty", "1025-ascii", "1025-units-emoji", "not-a-string", "no-text", "not-json"],
)
def test_invalid_text_is_a_validation_error(
    client: FlaskClient, payload: dict[str, Any] | None
) -> None:
    if payload is None:
        response = client.post(
            f"{LEX}/sessions/{PSID}/text", data="hello", content_type="text/plain"
        )
    else:
        response = client.post(f"{LEX}/sessions/{PSID}/text", json=payload)
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"
    assert "message" in response.get_json()


def test_a_lone_surrogate_is_a_validation_error(client: FlaskClient) -> None:
    response = client.post(
        f"{LEX}/sessions/{PSID}/text", data='{"text": "a\\ud800"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"


def test_a_non_numeric_turn_counter_does_not_break_the_endpoint(client: FlaskClient) -> None:
    response = recognize(client, "#turns", sessionState={"sessionAttributes": {"turns": "many"}})
    assert response.status_code < 500


@pytest.mark.parametrize("text", ["a" * 1024, GRINNING * 512], ids=["ascii", "emoji"])
def test_1024_units_is_accepted(client: FlaskClient, text: str) -> None:
    response = recognize(client, text)
    assert response.status_code == 200
    [answer] = said(response)  # the input, quoted back as far as Lex's 1024 units allow
    assert answer.startswith("Sorry, I didn't understand \"" + text[:10])
    assert answer.endswith('…". Try "list", "symptoms of flu" or "I have a fever".')
    assert len(answer.encode("utf-16-le")) // 2 <= 1024


def test_sent_session_attributes_replace_the_stored_map(client: FlaskClient) -> None:
    recognize(client, "hi")
    recognize(client, "hi")  # stored: turns=2
    sent = {"sessionAttributes": {"turns": "40", "topic": "weather"}}
    data = recognize(client, "#turns", sessionState=sent).get_json()
    assert said(data) == ["This is turn 41 of our conversation."]
    attributes = data["sessionState"]["sessionAttributes"]
    assert (attributes["turns"], attributes["topic"]) == ("41", "weather")
    # Without sessionState, the stored map (with the sent key) carries on.
    data = recognize(client, "#turns").get_json()
    attributes = data["sessionState"]["sessionAttributes"]
    assert (attributes["turns"], attributes["topic"]) == ("42", "weather")
    # An empty map wipes it: replace, not merge.
    data = recognize(client, "#turns", sessionState={"sessionAttributes": {}}).get_json()
    assert said(data) == ["This is turn 1 of our conversation."]
    assert data["sessionState"]["sessionAttributes"] == {**FRESH_SESSION, "turns": "1"}


def test_session_state_without_attributes_keeps_the_stored_map(client: FlaskClient) -> None:
    recognize(client, "hi")
    data = recognize(client, "#turns", sessionState={"dialogAction": {"type": "ElicitIntent"}})
    assert said(data) == ["This is turn 2 of our conversation."]


# --- Lex V2 through boto3, on a real loopback server ------------------------------------------


def served_settings(settings: Settings, port: int) -> Settings:
    # conftest's local_settings keeps the production-looking Lex ids; Settings.from_env gives
    # local mode the sample bot's ids, so do the same here.
    return replace(
        settings,
        lex=replace(
            settings.lex,
            bot_id=LOCAL_LEX_BOT_ID,
            alias_id=LOCAL_LEX_ALIAS_ID,
            endpoint_url=f"http://127.0.0.1:{port}/local/lex",
        ),
        web=replace(settings.web, port=port),
    )


def event(text: str, *, psid: str = PSID) -> TextMessage:
    return TextMessage(PAGE_ID, psid, 1700000000000, "m_local_test", text)


def test_boto3_reads_the_local_endpoint(
    live_server: LiveServer, local_settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    settings = served_settings(local_settings, live_server.port)
    live_server.mount(create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph))
    bot = make_bot(settings)
    assert isinstance(bot, LexV2Bot)
    try:
        assert bot.respond(event("hello")) == [
            Text(GREETING),
            Text(NOTE),
            Card(
                title="What would you like to do?",
                buttons=(
                    Button("List conditions", "list"),
                    Button("Check a symptom", "check a symptom"),
                    Button("Symptoms of flu", "symptoms of flu"),
                ),
            ),
        ]
        assert bot.respond(event("#card")) == [
            Card(
                title="Messenger Lex Bridge",
                subtitle="A Lex card becomes a Messenger generic template.",
                image_url=f"http://127.0.0.1:{live_server.port}/local/assets/card.svg",
                buttons=(Button("Say hello", "hello"), Button("Count my turns", "#turns")),
            )
        ]
        assert bot.respond(event("#turns")) == [Text("This is turn 3 of our conversation.")]
        assert bot.respond(event("#turns", psid=OTHER_PSID)) == [
            Text("This is turn 1 of our conversation.")
        ]
        [ssml] = bot.respond(event("#ssml"))
        assert isinstance(ssml, Ssml)
        assert ssml.ssml.startswith("<speak>")
        [long] = bot.respond(event("#long"))
        assert isinstance(long, Text)
        assert len(long.text) > 2000
        assert bot.respond(event("What's up " + GRINNING)) == [
            Text(not_understood("What's up " + GRINNING))
        ]
    finally:
        bot._client.close()


def test_boto3_reads_the_local_error_shape(
    live_server: LiveServer, local_settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    settings = served_settings(local_settings, live_server.port)
    live_server.mount(create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph))
    bot = make_bot(replace(settings, lex=replace(settings.lex, bot_id="ABCDE12345")))
    assert isinstance(bot, LexV2Bot)
    try:
        with pytest.raises(BotError) as caught:
            bot.respond(event("hello"))
    finally:
        bot._client.close()
    assert caught.value.kind is BotErrorKind.CONFIG
    assert "ResourceNotFoundException" in caught.value.reason
    assert "HTTP 404" in caught.value.reason


@pytest.mark.parametrize("name", ["card.svg", "conditions.svg"])
def test_images(client: FlaskClient, name: str) -> None:
    response = client.get(f"/local/assets/{name}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
