"""Local mode (bridge/local/localmode.py): the Lex V2 RecognizeText endpoint with the sample bot
(through Flask's test client and through a real boto3 client on loopback), the Graph inbox
that checks Send API calls as Graph does, the status and asset routes, and the loopback rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from bridge.app import create_app
from bridge.bots import make_bot
from bridge.bots.lexv2 import LexV2Bot
from bridge.config.settings import LOCAL_LEX_ALIAS_ID, LOCAL_LEX_BOT_ID, Settings
from bridge.errors import BotError, BotErrorKind
from bridge.local.sample_bot.front import LONG_PARAGRAPH
from bridge.messenger.events import TextMessage
from bridge.messenger.graph import GraphClient
from bridge.messenger.graph_requests import (
    GraphRequest,
    PageAuth,
    action_body,
    build_send_request,
    message_body,
)
from bridge.messenger.replies import Button, Card, Ssml, Text
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import (
    PAGE_ID,
    TEST_SECRET,
    TEST_TOKEN,
    ScriptedBot,
    delivery,
    signed_headers,
    text_item,
)

PSID = "6789012345678901"
OTHER_PSID = "1234567890123456"
LEX = f"/local/lex/bots/{LOCAL_LEX_BOT_ID}/botAliases/{LOCAL_LEX_ALIAS_ID}/botLocales/en_US"
SEND = "/local/graph/v25.0/me/messages"
GRINNING = "\U0001f600"  # 2 UTF-16 units
GREETING = (
    "Hi! I'm a symptom checker. I can list common conditions, tell you the usual symptoms of "
    "one, and show which conditions can cause a symptom."
)
NOTE = (
    "This is general information, not medical advice. If you are worried, or your symptoms "
    "are severe or getting worse, see a doctor. In an emergency, call your local emergency "
    "number."
)
MENU_CARD = {
    "title": "What would you like to do?",
    "buttons": [
        {"text": "List conditions", "value": "list"},
        {"text": "Check a symptom", "value": "check a symptom"},
        {"text": "Symptoms of flu", "value": "symptoms of flu"},
    ],
}
FRESH_SESSION = {"lang": "en", "turns": "1", "pending": "", "history": "[]", "page": "0"}


def not_understood(text: str) -> str:
    """The sample bot's fallback for English (or language-free) input: it quotes the input."""
    return (
        f'Sorry, I didn\'t understand "{text}". Try "list", "symptoms of flu" or "I have a fever".'
    )


@pytest.fixture
def app(local_settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Flask:
    return create_app(local_settings, queue=queue, bot=ScriptedBot(), graph=graph)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def recognize(
    client: FlaskClient, text: str | None, *, session: str = PSID, **body: Any
) -> TestResponse:
    payload = body if text is None else {"text": text, **body}
    return client.post(f"{LEX}/sessions/{session}/text", json=payload)


def said(answer: TestResponse | dict[str, Any]) -> list[str]:
    """The plain-text contents of a RecognizeText answer (a response or its JSON)."""
    data = answer if isinstance(answer, dict) else answer.get_json()
    return [m["content"] for m in data["messages"] if m["contentType"] == "PlainText"]


def send_request(
    body: dict[str, Any],
    *,
    now: int | None = None,
    token: str = TEST_TOKEN,
    secret: str = TEST_SECRET,
) -> GraphRequest:
    return build_send_request(
        PageAuth("/local/graph", "v25.0", token, secret),
        body,
        now=int(time.time()) if now is None else now,
    )


def post_send(
    client: FlaskClient,
    request: GraphRequest,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    remote_addr: str = "127.0.0.1",
) -> TestResponse:
    return client.post(
        request.url,
        query_string=request.params if params is None else params,
        headers=request.headers if headers is None else headers,
        json=request.json,
        environ_base={"REMOTE_ADDR": remote_addr},
    )


def inbox(client: FlaskClient, **query: str) -> dict[str, Any]:
    response = client.get("/local/graph/inbox", query_string=query)
    assert response.status_code == 200
    data: dict[str, Any] = response.get_json()
    return data


def graph_error(response: TestResponse) -> dict[str, Any]:
    error: dict[str, Any] = response.get_json()["error"]
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]
    return error


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


class _Dispatcher:
    """A WSGI app that forwards to the Flask app set once the server's port is known."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        assert self.app is not None, "no app mounted"
        return self.app(environ, start_response)


@dataclass
class LiveServer:
    port: int
    dispatcher: _Dispatcher

    def mount(self, app: Flask) -> None:
        self.dispatcher.app = app


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    dispatcher = _Dispatcher()
    server = make_server("127.0.0.1", 0, dispatcher, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="test-live-server",
        daemon=True,
    )
    thread.start()
    try:
        yield LiveServer(server.server_port, dispatcher)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def served_settings(settings: Settings, port: int) -> Settings:
    # conftest's local_settings keeps the production-looking Lex ids; Settings.from_env gives
    # local mode the sample bot's ids, so do the same here.
    return replace(
        settings,
        port=port,
        lex_bot_id=LOCAL_LEX_BOT_ID,
        lex_bot_alias_id=LOCAL_LEX_ALIAS_ID,
        lex_endpoint_url=f"http://127.0.0.1:{port}/local/lex",
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
    bot = make_bot(replace(settings, lex_bot_id="ABCDE12345"))
    assert isinstance(bot, LexV2Bot)
    try:
        with pytest.raises(BotError) as caught:
            bot.respond(event("hello"))
    finally:
        bot._client.close()
    assert caught.value.kind is BotErrorKind.CONFIG
    assert "ResourceNotFoundException" in caught.value.reason
    assert "HTTP 404" in caught.value.reason


# --- Graph inbox ---------------------------------------------------------------------------


def test_a_valid_send_is_answered_like_graph_and_recorded(client: FlaskClient) -> None:
    body = message_body(PSID, {"text": "Hello, 세계 " + GRINNING})
    response = post_send(client, send_request(body))
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"recipient_id", "message_id"}
    assert data["recipient_id"] == PSID
    assert data["message_id"].startswith("m_")
    [entry] = inbox(client)["entries"]
    assert entry["recipient"] == PSID
    assert entry["body"] == body


def test_the_inbox_lists_entries_in_order_after_a_cursor(client: FlaskClient) -> None:
    for n in range(3):
        post_send(client, send_request(message_body(PSID, {"text": f"to A {n}"})))
        post_send(client, send_request(message_body(OTHER_PSID, {"text": f"to B {n}"})))
    everything = inbox(client)
    assert [e["body"]["message"]["text"] for e in everything["entries"]] == [
        "to A 0",
        "to B 0",
        "to A 1",
        "to B 1",
        "to A 2",
        "to B 2",
    ]
    seqs = [e["seq"] for e in everything["entries"]]
    assert seqs == sorted(seqs)
    assert everything["last"] == seqs[-1]

    first_a = inbox(client, recipient=PSID, after="0")
    assert [e["body"]["message"]["text"] for e in first_a["entries"]] == [
        "to A 0",
        "to A 1",
        "to A 2",
    ]
    assert {e["recipient"] for e in first_a["entries"]} == {PSID}
    cursor = str(first_a["entries"][0]["seq"])
    rest = inbox(client, recipient=PSID, after=cursor)
    assert [e["body"]["message"]["text"] for e in rest["entries"]] == ["to A 1", "to A 2"]
    assert rest["last"] == first_a["last"]

    nothing_new = inbox(client, recipient=PSID, after=str(rest["last"]))
    assert nothing_new == {"entries": [], "last": rest["last"]}


def test_the_message_id_names_the_inbox_entry(client: FlaskClient) -> None:
    ids = [
        post_send(client, send_request(message_body(PSID, {"text": str(n)}))).get_json()[
            "message_id"
        ]
        for n in range(2)
    ]
    assert len(set(ids)) == 2
    seqs = [e["seq"] for e in inbox(client)["entries"]]
    assert ids == [f"m_local_{seq}" for seq in seqs]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TEST_TOKEN}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_a_bad_token_is_error_190(client: FlaskClient, headers: dict[str, str]) -> None:
    request = send_request(message_body(PSID, {"text": "hi"}))
    response = post_send(client, request, headers=headers)
    assert response.status_code == 401
    assert graph_error(response)["code"] == 190
    assert inbox(client)["entries"] == []


def test_the_token_may_come_as_access_token(client: FlaskClient) -> None:
    request = send_request(message_body(PSID, {"text": "hi"}))
    response = post_send(
        client, request, params={**request.params, "access_token": TEST_TOKEN}, headers={}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "kind", ["wrong-secret", "proof-for-another-time", "expired", "future", "no-time", "no-proof"]
)
def test_a_bad_or_expired_appsecret_proof_is_refused(client: FlaskClient, kind: str) -> None:
    now = int(time.time())
    body = message_body(PSID, {"text": "hi"})
    request = send_request(body, now=now)
    params = dict(request.params)
    if kind == "wrong-secret":
        params = send_request(body, secret="another-secret").params
    elif kind == "proof-for-another-time":
        params["appsecret_time"] = str(now - 10)
    elif kind == "expired":
        params = send_request(body, now=now - 301).params
    elif kind == "future":
        params = send_request(body, now=now + 301).params
    elif kind == "no-time":
        del params["appsecret_time"]
    else:
        del params["appsecret_proof"]
    response = post_send(client, request, params=params)
    assert response.status_code == 401
    assert graph_error(response)["code"] == 190
    assert inbox(client)["entries"] == []


def test_a_proof_inside_the_five_minute_window_is_accepted(client: FlaskClient) -> None:
    request = send_request(message_body(PSID, {"text": "hi"}), now=int(time.time()) - 280)
    assert post_send(client, request).status_code == 200


@pytest.mark.parametrize(
    "message",
    [
        {"text": "x" * 2000},
        {"text": "pick", "quick_replies": [{"content_type": "text", "title": "t" * 21}]},
        {
            "attachment": {
                "type": "template",
                "payload": {"template_type": "generic", "elements": [{"title": "only"}]},
            }
        },
        {"text": "   "},
    ],
    ids=["text-2000", "quick-reply-title-21", "element-with-only-a-title", "blank-text"],
)
def test_a_message_over_a_limit_is_error_100_and_not_recorded(
    client: FlaskClient, message: dict[str, Any]
) -> None:
    response = post_send(client, send_request(message_body(PSID, message)))
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == 100
    assert error["message"].startswith("(#100) ")
    assert inbox(client)["entries"] == []


def test_a_template_payload_that_is_not_an_object_is_error_100(client: FlaskClient) -> None:
    message = {"attachment": {"type": "template", "payload": "generic"}}
    response = post_send(client, send_request(message_body(PSID, message)))
    assert response.status_code == 400


@pytest.mark.parametrize("action", ["mark_seen", "typing_on", "typing_off"])
def test_a_sender_action_is_accepted_and_recorded(client: FlaskClient, action: str) -> None:
    response = post_send(client, send_request(action_body(PSID, action)))
    assert response.status_code == 200
    assert response.get_json()["recipient_id"] == PSID
    [entry] = inbox(client, recipient=PSID)["entries"]
    assert entry["body"] == {"recipient": {"id": PSID}, "sender_action": action}


@pytest.mark.parametrize(
    "body",
    [
        {**action_body(PSID, "typing_on"), "message": {"text": "hi"}},
        {**message_body(PSID, {"text": "hi"}), "sender_action": "typing_on"},
        action_body(PSID, "REACT"),
        action_body(PSID, "typing"),
    ],
    ids=["action-with-message", "message-with-action", "upper-case-react", "unknown"],
)
def test_an_invalid_sender_action_is_error_100(client: FlaskClient, body: dict[str, Any]) -> None:
    response = post_send(client, send_request(body))
    assert response.status_code == 400
    assert graph_error(response)["code"] == 100
    assert inbox(client)["entries"] == []


@pytest.mark.parametrize("messaging_type", ["UPDATE", "MESSAGE_TAG", "response", None])
def test_messaging_type_must_be_response(client: FlaskClient, messaging_type: str | None) -> None:
    body: dict[str, Any] = {"recipient": {"id": PSID}, "message": {"text": "hi"}}
    if messaging_type is not None:
        body["messaging_type"] = messaging_type
    response = post_send(client, send_request(body))
    assert response.status_code == 400
    assert graph_error(response)["code"] == 100
    assert "messaging_type" in graph_error(response)["message"]
    assert inbox(client)["entries"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"messaging_type": "RESPONSE", "message": {"text": "hi"}},
        {"recipient": {"id": ""}, "messaging_type": "RESPONSE", "message": {"text": "hi"}},
        {"recipient": PSID, "messaging_type": "RESPONSE", "message": {"text": "hi"}},
    ],
    ids=["no-recipient", "empty-id", "not-an-object"],
)
def test_a_recipient_is_required(client: FlaskClient, body: dict[str, Any]) -> None:
    response = post_send(client, send_request(body))
    assert response.status_code == 400
    assert graph_error(response)["code"] == 100


def test_the_graph_client_talks_to_the_inbox(
    live_server: LiveServer, local_settings: Settings, queue: SqliteQueue
) -> None:
    port = live_server.port
    with requests.Session() as http:
        graph = GraphClient(
            base_url=f"http://127.0.0.1:{port}/local/graph",
            version="v25.0",
            page_token=TEST_TOKEN,
            app_secret=TEST_SECRET,
            timeout=5,
            session=http,
        )
        app = create_app(
            replace(local_settings, port=port), queue=queue, bot=ScriptedBot(), graph=graph
        )
        live_server.mount(app)
        graph.send_action(PSID, "typing_on")
        message_id = graph.send_message(PSID, {"text": "Hello"})
    entries = inbox(app.test_client(), recipient=PSID)["entries"]
    assert message_id == f"m_local_{entries[-1]['seq']}"
    assert [e["body"] for e in entries] == [
        action_body(PSID, "typing_on"),
        message_body(PSID, {"text": "Hello"}),
    ]


# --- status, assets -----------------------------------------------------------------------


def test_status_of_an_unknown_key_is_null(client: FlaskClient) -> None:
    response = client.get("/local/status", query_string={"key": "m_unknown"})
    assert response.status_code == 200
    assert response.get_json() == {"key": "m_unknown", "state": None}


def test_status_follows_the_queue(client: FlaskClient, queue: SqliteQueue) -> None:
    body = delivery(text_item(PSID, "hello", mid="m_status_1"))
    assert client.post("/webhook", data=body, headers=signed_headers(body)).status_code == 200
    response = client.get("/local/status", query_string={"key": "m_status_1"})
    assert response.get_json() == {"key": "m_status_1", "state": "queued"}
    assert queue.state_of("m_status_1") == "queued"


@pytest.mark.parametrize("name", ["card.svg", "conditions.svg"])
def test_images(client: FlaskClient, name: str) -> None:
    response = client.get(f"/local/assets/{name}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")


# --- loopback only; absent in production ---------------------------------------------------

ROUTES = [
    ("POST", f"{LEX}/sessions/{PSID}/text"),
    ("POST", SEND),
    ("GET", "/local/graph/inbox"),
    ("GET", "/local/status?key=m_1"),
    ("GET", "/local/assets/card.svg"),
    ("GET", "/local/assets/conditions.svg"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("remote", ["10.1.2.3", "192.168.1.20", "2001:db8::1", ""])
def test_only_loopback_clients_see_local_routes(
    client: FlaskClient, method: str, path: str, remote: str
) -> None:
    response = client.open(
        path, method=method, json={"text": "hello"}, environ_base={"REMOTE_ADDR": remote}
    )
    assert response.status_code == 404


def test_a_remote_send_is_not_recorded(client: FlaskClient) -> None:
    request = send_request(message_body(PSID, {"text": "hi"}))
    assert post_send(client, request, remote_addr="10.1.2.3").status_code == 404
    assert inbox(client)["entries"] == []
    assert post_send(client, request, remote_addr="::1").status_code == 200
    assert len(inbox(client)["entries"]) == 1


@pytest.mark.parametrize("remote", ["127.0.0.1", "127.8.9.10", "::1"])
def test_every_loopback_address_is_served(client: FlaskClient, remote: str) -> None:
    response = client.get("/local/assets/card.svg", environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_production_has_no_local_routes(
    settings: Settings, queue: SqliteQueue, graph: GraphClient, method: str, path: str
) -> None:
    app = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)
    assert "local" not in app.blueprints
    response = app.test_client().open(path, method=method, json={"text": "hello"})
    assert response.status_code == 404


# --- several Pages and the handover endpoint ---------------------------------------------------

PAGE_A, PAGE_B = "104859375629481", "231764905812337"
TOKEN_A, TOKEN_B = "EAAGlocalTokenForPageA", "EAAGlocalTokenForPageB"
PASS = "/local/graph/v25.0/me/pass_thread_control"


@pytest.fixture
def pages_client(local_settings: Settings, queue: SqliteQueue, graph: GraphClient) -> FlaskClient:
    from bridge.config.pages import PageConfig

    settings = replace(
        local_settings,
        page_access_token="",
        pages=(PageConfig(PAGE_A, TOKEN_A, name="Clinic"), PageConfig(PAGE_B, TOKEN_B)),
    )
    return create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph).test_client()


def test_the_local_graph_serves_every_page_of_the_file(pages_client: FlaskClient) -> None:
    for token in (TOKEN_A, TOKEN_B):
        response = post_send(
            pages_client, send_request(message_body(PSID, {"text": token[-1]}), token=token)
        )
        assert response.status_code == 200
    refused = post_send(
        pages_client, send_request(message_body(PSID, {"text": "x"}), token=TEST_TOKEN)
    )
    assert refused.status_code == 401 and graph_error(refused)["code"] == 190
    entries = inbox(pages_client)["entries"]
    assert [(e["page"], e["body"]["message"]["text"]) for e in entries] == [
        (PAGE_A, "A"),
        (PAGE_B, "B"),
    ]
    assert [e["body"]["message"]["text"] for e in inbox(pages_client, page=PAGE_B)["entries"]] == [
        "B"
    ]
    me = pages_client.get(
        "/local/graph/v25.0/me",
        query_string=send_request({}, token=TOKEN_A).params,
        headers={"Authorization": f"Bearer {TOKEN_A}"},
    )
    assert me.get_json() == {"id": PAGE_A, "name": "Clinic"}


def test_a_graph_fault_may_apply_to_one_page(pages_client: FlaskClient) -> None:
    queued = pages_client.post(
        "/local/faults/graph", json={"status": 400, "code": 613, "page": PAGE_A, "sticky": True}
    )
    assert queued.status_code == 200
    to_a = post_send(pages_client, send_request(message_body(PSID, {"text": "a"}), token=TOKEN_A))
    to_b = post_send(pages_client, send_request(message_body(PSID, {"text": "b"}), token=TOKEN_B))
    assert (to_a.status_code, graph_error(to_a)["code"]) == (400, 613)
    assert to_b.status_code == 200
    bad = pages_client.post("/local/faults/graph", json={"status": 400, "code": 4, "page": 123})
    assert bad.status_code == 400 and "page must be a Page id" in bad.get_json()["error"]


def test_pass_thread_control_is_checked_and_recorded(client: FlaskClient) -> None:
    body = {"recipient": {"id": PSID}, "target_app_id": 263902037430900, "metadata": "nurse"}
    request = send_request(body)
    response = client.post(PASS, query_string=request.params, headers=request.headers, json=body)
    assert response.status_code == 200 and response.get_json() == {"success": True}
    [entry] = inbox(client, recipient=PSID)["entries"]
    assert entry["body"] == body
    for broken, problem in (
        ({"target_app_id": 1}, "recipient is required"),
        ({"recipient": {"id": PSID}}, "target_app_id is required"),
        ({"recipient": {"id": PSID}, "target_app_id": "1", "metadata": "x" * 1000}, "metadata"),
    ):
        refused = client.post(
            PASS, query_string=request.params, headers=request.headers, json=broken
        )
        assert refused.status_code == 400 and problem in graph_error(refused)["message"]
    unsigned = client.post(PASS, headers=request.headers, json=body)
    assert unsigned.status_code == 401
