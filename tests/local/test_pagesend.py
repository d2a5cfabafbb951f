"""The emulator's "send as the Page" endpoints (bridge/local/pagesend.py) through Flask's test
client: the outbound API's body and answers without its bearer token, for this machine only."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from bridge.messenger.signature import SIGNATURE_HEADER
from bridge.queue.sqlite.store import SqliteQueue

PSID = "8000000000000001"
PATH = "/local/emulator/outbound"


def person_wrote(client: FlaskClient, psid: str = PSID) -> None:
    """The person writes to the emulator's Page, as the page sends it: signed by the server."""
    item = {"sender": {"id": psid}, "message": {"mid": f"m_{time.time_ns()}", "text": "hello"}}
    signed = client.post("/local/emulator/sign", json=item).get_json()
    response = client.post(
        "/webhook",
        data=signed["body"].encode("ascii"),
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signed["signature"]},
    )
    assert response.status_code == 200


def post(client: FlaskClient, body: Any, **options: Any) -> Any:
    return client.post(PATH, json=body, **options)


def test_a_message_is_queued_without_a_bearer_token(
    client: FlaskClient, queue: SqliteQueue
) -> None:
    person_wrote(client)
    response = post(client, {"recipient": {"id": PSID}, "text": "How are you feeling today?"})
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "queued" and answer["id"].startswith("out_")
    assert response.headers["Cache-Control"] == "no-store"
    status = client.get(f"{PATH}/{answer['id']}").get_json()
    assert status == {
        "id": answer["id"],
        "status": "queued",
        "parts_sent": 0,
        "message_ids": [],
    }
    assert queue.state_of(answer["id"]) == "queued"


def test_the_same_idempotency_key_is_queued_once(client: FlaskClient) -> None:
    person_wrote(client)
    body = {"recipient": {"id": PSID}, "text": "Reminder", "idempotency_key": "reminder-1"}
    first, again = post(client, body), post(client, body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.get_json()["id"] == again.get_json()["id"]


def test_the_api_rules_apply(client: FlaskClient) -> None:
    stranger = post(client, {"recipient": {"id": "8000000000009999"}, "text": "hi"})
    assert stranger.status_code == 422
    assert stranger.get_json()["error"]["code"] == "unknown_recipient"
    person_wrote(client)
    automated = post(
        client,
        {
            "recipient": {"id": PSID},
            "lex": {"text": "hi"},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
        },
    )
    assert automated.status_code == 400
    assert automated.get_json()["error"]["code"] == "invalid"
    retired = post(
        client,
        {
            "recipient": {"id": PSID},
            "text": "hi",
            "messaging_type": "MESSAGE_TAG",
            "tag": "ACCOUNT_UPDATE",
        },
    )
    assert retired.status_code == 400
    assert retired.get_json()["error"]["field"] == "tag"


@pytest.mark.parametrize("data", [b"{", b"null", b"[1]"], ids=["malformed", "null", "list"])
def test_a_body_that_is_not_an_object_is_400(client: FlaskClient, data: bytes) -> None:
    response = client.post(PATH, data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid"


def test_only_json_from_this_site(client: FlaskClient) -> None:
    body = {"recipient": {"id": PSID}, "text": "hi"}
    form = client.post(PATH, data="recipient=1", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    cross = post(client, body, headers={"Origin": "https://attacker.example"})
    assert cross.status_code == 403
    fetched = post(client, body, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403


def test_an_unknown_id_is_404(client: FlaskClient) -> None:
    for message_id in ("out_0123456789abcdef0123456789abcdef", "m_not_outbound"):
        response = client.get(f"{PATH}/{message_id}")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
