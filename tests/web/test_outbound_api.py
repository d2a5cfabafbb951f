"""The outbound API through Flask's test client: off without a token, bearer auth, the answers
(202/200/400/401/404/413/422/503) and the status read."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.errors import QueueError
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot, delivery, signed_headers, text_item
from tests.support.ids import PAGE_ID

TOKEN = "t" * 40
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PSID = "2000000000000077"


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return replace(
        settings,
        graph=replace(settings.graph, page_id=PAGE_ID),
        web=replace(settings.web, api_token=TOKEN, max_body_bytes=4096),
    )


@pytest.fixture
def app(api_settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Flask:
    return create_app(api_settings, queue=queue, bot=ScriptedBot(), graph=graph)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def person_wrote(client: FlaskClient, ts: int | None = None) -> None:
    stamp = int(time.time() * 1000) if ts is None else ts
    body = delivery(text_item(PSID, "hello", f"m_{stamp}", ts=stamp))
    assert client.post("/webhook", data=body, headers=signed_headers(body)).status_code == 200


def post(client: FlaskClient, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.post("/v1/messages", json=body, headers=AUTH if headers is None else headers)


def count(status: str) -> float:
    value = REGISTRY.get_sample_value("bridge_outbound_messages_total", {"status": status})
    return value or 0.0


def test_without_a_token_every_v1_path_is_404(
    settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    client = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph).test_client()
    for path in ("/v1/messages", "/v1/messages/out_x", "/v1/other"):
        assert client.get(path, headers=AUTH).status_code == 404
    assert client.post("/v1/messages", json={}, headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ],
)
def test_a_wrong_or_missing_token_is_401_without_details(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = post(client, {"recipient": {"id": PSID}, "text": "hi"}, headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json() == {"error": {"code": "unauthorized", "message": "unauthorized"}}
    assert client.get("/v1/messages/out_1", headers=headers).status_code == 401


def test_a_message_is_queued_then_readable(client: FlaskClient, queue: SqliteQueue) -> None:
    person_wrote(client)
    before = count("queued")
    response = post(client, {"recipient": {"id": PSID}, "text": "How are you feeling?"})
    assert response.status_code == 202
    answer = response.get_json()
    assert answer["status"] == "queued" and answer["id"].startswith("out_")
    assert response.headers["Location"] == f"/v1/messages/{answer['id']}"
    assert count("queued") == before + 1
    status = client.get(f"/v1/messages/{answer['id']}", headers=AUTH)
    assert status.status_code == 200
    assert status.get_json() == {
        "id": answer["id"],
        "status": "queued",
        "parts_sent": 0,
        "message_ids": [],
    }
    assert client.get("/v1/messages/out_0123", headers=AUTH).status_code == 404
    assert client.get("/v1/messages/m_123", headers=AUTH).status_code == 404  # not an outbound id


def test_a_repeated_key_is_200_with_the_same_id(client: FlaskClient) -> None:
    person_wrote(client)
    body = {"recipient": {"id": PSID}, "text": "Reminder", "idempotency_key": "r-1"}
    first, again = post(client, body), post(client, body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    conflict = post(client, {**body, "text": "Another"})
    assert conflict.status_code == 422
    assert conflict.get_json()["error"]["code"] == "idempotency_conflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recipient": {"id": PSID}}, "text"),
        (
            {
                "recipient": {"id": PSID},
                "text": "x",
                "messaging_type": "MESSAGE_TAG",
                "tag": "POST_PURCHASE_UPDATE",
            },
            "tag",
        ),
        ({"recipient": {"id": "me"}, "text": "x"}, "recipient.id"),
        ([], ""),
    ],
)
def test_bad_input_is_400_naming_the_field(client: FlaskClient, body: Any, field: str) -> None:
    response = post(client, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and error["field"] == field and error["message"]


def test_malformed_json_and_other_content_types_are_400(client: FlaskClient) -> None:
    invalid = count("invalid")
    broken = client.post(
        "/v1/messages", data=b'{"recipient":', headers={**AUTH, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and "JSON" in broken.get_json()["error"]["message"]
    form = client.post("/v1/messages", data={"text": "hi"}, headers=AUTH)
    assert form.status_code == 400 and "Content-Type" in form.get_json()["error"]["message"]
    assert count("invalid") == invalid + 2
    deep = client.post(
        "/v1/messages",
        data=b"[" * 100_000 + b"]" * 100_000,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert deep.status_code in (400, 413)


def test_over_the_body_limit_is_413(client: FlaskClient) -> None:
    response = post(client, {"recipient": {"id": PSID}, "text": "x" * 5000})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_what_cannot_be_sent_is_422(client: FlaskClient) -> None:
    unknown = post(client, {"recipient": {"id": PSID}, "text": "hi"})
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["code"] == "unknown_recipient"
    person_wrote(client, ts=int(time.time() * 1000) - 30 * 3600 * 1000)
    late = post(client, {"recipient": {"id": PSID}, "text": "hi"})
    assert late.status_code == 422 and late.get_json()["error"]["code"] == "outside_window"
    tagged = {
        "recipient": {"id": PSID},
        "text": "hi",
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
    }
    assert post(client, tagged).status_code == 202
    token = post(client, {"recipient": {"notification_messages_token": "abc"}, "text": "hi"})
    assert token.status_code == 422 and token.get_json()["error"]["code"] == "unknown_recipient"


def test_a_queue_failure_is_503_and_never_a_stack_trace(
    client: FlaskClient, queue: SqliteQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_wrote(client)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise QueueError("disk full")

    monkeypatch.setattr(queue, "put", broken)
    response = post(client, {"recipient": {"id": PSID}, "text": "hi"})
    assert response.status_code == 503
    assert "disk" not in response.get_data(as_text=True)


def test_no_text_or_token_in_the_log(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    person_wrote(client)
    caplog.set_level(logging.DEBUG)
    post(client, {"recipient": {"id": PSID}, "text": "Secret words of the follow-up"})
    post(client, {"recipient": {"notification_messages_token": "TOKEN-VALUE-1"}, "text": "x"})
    logged = "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "Secret words" not in logged and "TOKEN-VALUE-1" not in logged and PSID not in logged
