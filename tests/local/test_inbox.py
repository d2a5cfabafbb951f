"""The local Graph inbox (bridge/local/inbox.py and the caller checks of bridge/local/graph.py):
Send API calls checked as Graph does, recorded and listed; several Pages; thread control."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.config.settings import Settings
from bridge.messenger.events import TokenUpdate
from bridge.messenger.graph import GraphClient
from bridge.messenger.graph_requests import action_body, message_body
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import (
    TEST_TOKEN,
    ScriptedBot,
)
from tests.local.test_localmode import (
    GRINNING,
    graph_error,
    inbox,
    post_send,
    send_request,
)
from tests.support.ids import OTHER_PSID, PSID

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


@pytest.mark.parametrize("messaging_type", ["response", "MESSAGE", None])
def test_messaging_type_must_be_one_graph_knows(
    client: FlaskClient, messaging_type: str | None
) -> None:
    body: dict[str, Any] = {"recipient": {"id": PSID}, "message": {"text": "hi"}}
    if messaging_type is not None:
        body["messaging_type"] = messaging_type
    response = post_send(client, send_request(body))
    assert response.status_code == 400
    assert graph_error(response)["code"] == 100
    assert "messaging_type" in graph_error(response)["message"]
    assert inbox(client)["entries"] == []


@pytest.mark.parametrize(
    ("how", "accepted"),
    [
        ({"messaging_type": "UPDATE"}, True),
        ({"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}, True),
        ({"messaging_type": "MESSAGE_TAG"}, False),
        ({"messaging_type": "MESSAGE_TAG", "tag": "POST_PURCHASE_UPDATE"}, False),
        ({"messaging_type": "RESPONSE", "tag": "HUMAN_AGENT"}, False),
    ],
)
def test_update_and_human_agent_are_taken_and_retired_tags_refused(
    client: FlaskClient, how: dict[str, str], accepted: bool
) -> None:
    body: dict[str, Any] = {"recipient": {"id": PSID}, "message": {"text": "hi"}, **how}
    response = post_send(client, send_request(body))
    assert response.status_code == (200 if accepted else 400)
    assert len(inbox(client)["entries"]) == (1 if accepted else 0)


def test_a_notification_message_is_recorded_under_a_digest_of_its_token(
    client: FlaskClient,
) -> None:
    body = {"recipient": {"notification_messages_token": "tok-secret"}, "message": {"text": "hi"}}
    response = post_send(client, send_request(body))
    assert response.status_code == 200 and response.get_json()["message_id"].startswith("m_local_")
    entries = inbox(client)["entries"]
    assert len(entries) == 1 and entries[0]["recipient"].startswith("token:")
    assert "tok-secret" not in entries[0]["recipient"]


def test_a_notification_message_to_a_stored_token_is_recorded_for_its_person(
    client: FlaskClient, queue: SqliteQueue, local_settings: Settings
) -> None:
    page = local_settings.graph.page_id or LOCAL_PAGE_ID
    queue.record_notification_tokens([TokenUpdate(page, OTHER_PSID, "tok-known")], now=time.time())
    body = {"recipient": {"notification_messages_token": "tok-known"}, "message": {"text": "hi"}}
    response = post_send(client, send_request(body))
    assert response.status_code == 200 and "recipient_id" not in response.get_json()
    entries = inbox(client)["entries"]
    assert [entry["recipient"] for entry in entries] == [OTHER_PSID]


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


def test_the_graph_client_talks_to_the_inbox(served_graph: tuple[Flask, GraphClient]) -> None:
    app, graph = served_graph
    graph.send_action(PSID, "typing_on")
    message_id = graph.send_message(PSID, {"text": "Hello"})
    entries = inbox(app.test_client(), recipient=PSID)["entries"]
    assert message_id == f"m_local_{entries[-1]['seq']}"
    assert [e["body"] for e in entries] == [
        action_body(PSID, "typing_on"),
        message_body(PSID, {"text": "Hello"}),
    ]


# --- several Pages and the handover endpoint ---------------------------------------------------

PAGE_A, PAGE_B = "104859375629481", "231764905812337"
TOKEN_A, TOKEN_B = "EAAGlocalTokenForPageA", "EAAGlocalTokenForPageB"
PASS = "/local/graph/v25.0/me/pass_thread_control"


@pytest.fixture
def pages_client(local_settings: Settings, queue: SqliteQueue, graph: GraphClient) -> FlaskClient:
    from bridge.config.pages import PageConfig

    settings = replace(
        local_settings,
        graph=replace(local_settings.graph, page_access_token=""),
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
