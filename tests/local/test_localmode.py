"""Local mode as a whole (bridge/local/routes.py): the loopback rule, no local routes in
production, the status route; and the constants and helpers the local-mode tests share (the
Lex endpoint's tests are in test_lex.py, the Graph inbox's in test_inbox.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bridge.app import create_app
from bridge.config.localmode import LOCAL_LEX_ALIAS_ID, LOCAL_LEX_BOT_ID
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient
from bridge.messenger.graph_requests import (
    GraphRequest,
    PageAuth,
    build_send_request,
    message_body,
)
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import (
    TEST_SECRET,
    TEST_TOKEN,
    ScriptedBot,
    delivery,
    signed_headers,
    text_item,
)
from tests.support.ids import PSID

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
