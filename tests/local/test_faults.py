"""Fault injection in local mode (bridge/local/faults.py, routes in bridge/local/routes.py):
every fault kind on the local Lex and Graph endpoints, FIFO order, count, sticky faults, atomic
consumption across stores, validation, the Page probe route, the count of Lex calls in
progress, and the loopback and production rules."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bridge.app import create_app
from bridge.bots import make_bot
from bridge.bots.lexv2 import LexV2Bot
from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.config.settings import Settings
from bridge.errors import BotError, BotErrorKind, FaultError, GraphError
from bridge.local import context
from bridge.local.store import LocalStore, local_store_path
from bridge.messenger.graph import GraphClient
from bridge.messenger.graph_requests import action_body, message_body
from bridge.messenger.replies import Text
from bridge.messenger.signature import appsecret_proof
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import TEST_SECRET, TEST_TOKEN, ScriptedBot, wait_for
from tests.local.test_lex import event, served_settings
from tests.local.test_localmode import (
    GREETING,
    graph_error,
    inbox,
    post_send,
    recognize,
    said,
    send_request,
)
from tests.support.ids import PSID
from tests.support.servers import LiveServer

FAULTS = "/local/faults"


@pytest.fixture
def store(app: Flask) -> LocalStore:
    local: LocalStore = app.extensions["bridge_local"]
    return local


class Gate:
    """Stands in for the fault delay's sleep: records the delay, holds until opened."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.opened = threading.Event()

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if seconds:
            self.opened.wait(10)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate()
    monkeypatch.setattr(context, "_sleep", gate)
    yield gate
    gate.opened.set()  # never leave a server thread waiting


def add(client: FlaskClient, target: str, faults: object) -> int:
    response = client.post(f"{FAULTS}/{target}", json=faults)
    assert response.status_code == 200, response.get_json()
    queued: int = response.get_json()["queued"]
    return queued


def pending(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get(FAULTS)
    assert response.status_code == 200
    faults: list[dict[str, Any]] = response.get_json()["faults"]
    return faults


def send(client: FlaskClient, text: str = "hi") -> TestResponse:
    return post_send(client, send_request(message_body(PSID, {"text": text})))


def probe(
    client: FlaskClient, *, token: str = TEST_TOKEN, secret: str = TEST_SECRET
) -> TestResponse:
    """``GET /me`` as the bridge's probe calls it: bearer token and appsecret_proof."""
    now = int(time.time())
    return client.get(
        "/local/graph/v25.0/me",
        query_string={
            "appsecret_proof": appsecret_proof(secret, token, now),
            "appsecret_time": str(now),
            "fields": "id",
        },
        headers={"Authorization": f"Bearer {token}"},
    )


def lex_active(client: FlaskClient) -> int:
    response = client.get("/local/lex/active")
    assert response.status_code == 200
    active: int = response.get_json()["active"]
    return active


# --- Lex faults -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "error_type"),
    [
        ({"status": 429, "type": "ThrottlingException"}, 429, "ThrottlingException"),
        ({"status": 424}, 424, "DependencyFailedException"),
        ({"type": "BadGatewayException"}, 502, "BadGatewayException"),
        ({"status": 500, "type": "InternalServerException"}, 500, "InternalServerException"),
        ({"status": 503, "type": "ServiceUnavailable"}, 503, "ServiceUnavailable"),
    ],
    ids=["429", "status-only", "type-only", "500", "unmodeled"],
)
def test_a_lex_error_fault_answers_in_the_lex_wire_format(
    client: FlaskClient, fault: dict[str, Any], status: int, error_type: str
) -> None:
    assert add(client, "lex", fault) == 1
    response = recognize(client, "hello")
    assert response.status_code == status
    assert response.headers["x-amzn-ErrorType"] == error_type
    assert response.get_json() == {"message": f"Local fault: {error_type}"}
    assert said(recognize(client, "hello"))[0] == GREETING  # consumed: the next call works
    assert pending(client) == []


def test_a_lex_fault_may_carry_its_message(client: FlaskClient) -> None:
    add(client, "lex", {"status": 429, "message": "Rate exceeded"})
    assert recognize(client, "hello").get_json() == {"message": "Rate exceeded"}


def test_a_lex_delay_sleeps_then_answers_normally(client: FlaskClient, gate: Gate) -> None:
    gate.opened.set()
    add(client, "lex", {"delay": 2.5})
    response = recognize(client, "hello")
    assert response.status_code == 200
    assert said(response)[0] == GREETING
    assert gate.delays == [2.5]


def test_a_lex_delay_and_error_combine(client: FlaskClient, gate: Gate) -> None:
    gate.opened.set()
    add(client, "lex", {"delay": 1, "status": 429})
    response = recognize(client, "hello")
    assert gate.delays == [1]
    assert response.status_code == 429
    assert response.headers["x-amzn-ErrorType"] == "ThrottlingException"


def test_a_delay_really_waits(client: FlaskClient) -> None:
    add(client, "lex", {"delay": 0.3})
    started = time.monotonic()
    assert recognize(client, "hello").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_lex_fault_does_not_touch_the_session(client: FlaskClient) -> None:
    recognize(client, "hello")
    add(client, "lex", {"status": 429})
    assert recognize(client, "#turns").status_code == 429
    assert said(recognize(client, "#turns")) == ["This is turn 2 of our conversation."]


# --- Graph faults ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (
            {"status": 500, "code": 2},
            {
                "message": "An unexpected error has occurred. Please retry your request later.",
                "type": "OAuthException",
                "code": 2,
                "fbtrace_id": "LOCAL",
            },
        ),
        (
            {"status": 400, "code": 10, "subcode": 2018278},
            {
                "message": "(#10) This message is sent outside of allowed window.",
                "type": "OAuthException",
                "code": 10,
                "error_subcode": 2018278,
                "fbtrace_id": "LOCAL",
            },
        ),
        (
            {"status": 400, "code": 613},
            {
                "message": "(#613) Calls to this api have exceeded the rate limit.",
                "type": "OAuthException",
                "code": 613,
                "fbtrace_id": "LOCAL",
            },
        ),
        (
            {"status": 400, "code": 80006, "message": "(#80006) too many messages"},
            {
                "message": "(#80006) too many messages",
                "type": "OAuthException",
                "code": 80006,
                "fbtrace_id": "LOCAL",
            },
        ),
        (
            {"status": 400, "code": 4242},
            {
                "message": "(#4242) Local fault",
                "type": "OAuthException",
                "code": 4242,
                "fbtrace_id": "LOCAL",
            },
        ),
    ],
    ids=["2", "10-2018278", "613", "custom-message", "unknown-code"],
)
def test_a_graph_error_fault_answers_a_graph_error_body(
    client: FlaskClient, fault: dict[str, Any], error: dict[str, Any]
) -> None:
    add(client, "graph", fault)
    response = send(client)
    assert response.status_code == fault["status"]
    assert response.get_json() == {"error": error}
    assert inbox(client)["entries"] == []  # not sent
    assert send(client).status_code == 200  # consumed
    assert len(inbox(client)["entries"]) == 1


def test_a_graph_fault_applies_to_sender_actions_too(client: FlaskClient) -> None:
    add(client, "graph", {"status": 500, "code": 2})
    response = post_send(client, send_request(action_body(PSID, "typing_on")))
    assert response.status_code == 500
    assert graph_error(response)["code"] == 2


def test_fault_headers_are_added_to_the_error(client: FlaskClient) -> None:
    usage = '{"100000000000001":[{"type":"messenger","estimated_time_to_regain_access":2}]}'
    headers = {"Retry-After": "2", "X-Business-Use-Case-Usage": usage}
    add(client, "graph", {"status": 400, "code": 613, "headers": headers})
    response = send(client)
    assert response.status_code == 400
    assert response.headers["Retry-After"] == "2"
    assert response.headers["X-Business-Use-Case-Usage"] == usage
    assert response.mimetype == "application/json"


def test_headers_alone_come_with_a_normal_answer(client: FlaskClient) -> None:
    add(client, "graph", {"headers": {"X-App-Usage": '{"call_count":95}', "Retry-After": 3}})
    response = send(client)
    assert response.status_code == 200
    assert response.headers["X-App-Usage"] == '{"call_count":95}'
    assert response.headers["Retry-After"] == "3"
    assert len(inbox(client)["entries"]) == 1


def test_a_graph_delay_sleeps_then_sends(client: FlaskClient, gate: Gate) -> None:
    gate.opened.set()
    add(client, "graph", {"delay": 4})
    response = send(client, "slow")
    assert response.status_code == 200
    assert gate.delays == [4]
    [entry] = inbox(client)["entries"]
    assert entry["body"]["message"] == {"text": "slow"}


def test_a_graph_delay_and_error_combine(client: FlaskClient, gate: Gate) -> None:
    gate.opened.set()
    add(client, "graph", {"delay": 0.5, "status": 500, "code": 2})
    assert send(client).status_code == 500
    assert gate.delays == [0.5]


def test_record_sends_the_message_and_still_answers_the_error(client: FlaskClient) -> None:
    add(client, "graph", {"status": 500, "code": 1, "subcode": 1357046, "record": True})
    response = send(client, "sent anyway")
    assert response.status_code == 500
    error = graph_error(response)
    assert (error["code"], error["error_subcode"]) == (1, 1357046)
    assert error["message"] == "Received Invalid JSON reply."
    [entry] = inbox(client)["entries"]
    assert entry["body"] == message_body(PSID, {"text": "sent anyway"})


def test_record_does_not_record_an_invalid_send(client: FlaskClient) -> None:
    add(client, "graph", {"status": 500, "code": 1, "subcode": 1357046, "record": True})
    response = post_send(client, send_request(message_body(PSID, {"text": "x" * 2000})))
    assert response.status_code == 500
    assert graph_error(response)["code"] == 1
    assert inbox(client)["entries"] == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}],
    ids=["missing", "wrong"],
)
def test_the_real_auth_check_comes_before_a_fault(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    add(client, "graph", {"status": 500, "code": 2})
    request = send_request(message_body(PSID, {"text": "hi"}))
    response = post_send(client, request, headers=headers)
    assert response.status_code == 401
    assert graph_error(response)["code"] == 190
    assert len(pending(client)) == 1  # only authenticated calls take a fault
    assert send(client).status_code == 500


def test_lex_and_graph_faults_are_separate(client: FlaskClient) -> None:
    add(client, "graph", {"status": 500, "code": 2})
    assert recognize(client, "hello").status_code == 200
    add(client, "lex", {"status": 429})
    assert send(client).status_code == 500
    assert send(client).status_code == 200
    assert recognize(client, "hello").status_code == 429


# --- order, count, sticky, listing and clearing -------------------------------------------------


def test_faults_are_taken_oldest_first(client: FlaskClient) -> None:
    assert add(client, "lex", [{"status": 429}, {"status": 500}]) == 2
    assert add(client, "lex", {"status": 424}) == 1
    statuses = [recognize(client, "hello").status_code for _ in range(4)]
    assert statuses == [429, 500, 424, 200]


def test_count_queues_copies(client: FlaskClient) -> None:
    assert (
        add(client, "graph", [{"status": 500, "code": 2, "count": 3}, {"status": 400, "code": 613}])
        == 4
    )
    statuses = [send(client).status_code for _ in range(5)]
    assert statuses == [500, 500, 500, 400, 200]
    assert len(inbox(client)["entries"]) == 1


def test_a_sticky_fault_applies_until_cleared(client: FlaskClient) -> None:
    add(client, "graph", [{"status": 401, "code": 190, "sticky": True}, {"status": 500, "code": 2}])
    for _ in range(3):
        response = send(client)
        assert response.status_code == 401
        assert graph_error(response)["code"] == 190
    assert [f["fault"].get("sticky") for f in pending(client)] == [True, None]
    response = client.delete(f"{FAULTS}/graph")
    assert response.get_json() == {"cleared": 2}
    assert send(client).status_code == 200


def test_a_sticky_lex_fault(client: FlaskClient) -> None:
    add(client, "lex", {"status": 403, "sticky": True})
    assert [recognize(client, "hi").status_code for _ in range(3)] == [403, 403, 403]
    client.delete(FAULTS)
    assert recognize(client, "hi").status_code == 200


def test_listing_shows_what_is_pending(client: FlaskClient) -> None:
    add(client, "lex", {"status": 429, "delay": 1.5})
    add(client, "graph", {"status": 400, "code": 10, "subcode": 2018278, "sticky": True})
    faults = pending(client)
    assert [(f["target"], f["fault"]) for f in faults] == [
        (
            "lex",
            {
                "status": 429,
                "type": "ThrottlingException",
                "message": "Local fault: ThrottlingException",
                "delay": 1.5,
            },
        ),
        (
            "graph",
            {
                "status": 400,
                "code": 10,
                "subcode": 2018278,
                "message": "(#10) This message is sent outside of allowed window.",
                "sticky": True,
            },
        ),
    ]
    assert faults[0]["id"] < faults[1]["id"]


def test_clearing_one_target_keeps_the_other(client: FlaskClient) -> None:
    add(client, "lex", {"status": 429, "count": 2})
    add(client, "graph", {"status": 500, "code": 2})
    assert client.delete(f"{FAULTS}/lex").get_json() == {"cleared": 2}
    assert [f["target"] for f in pending(client)] == ["graph"]
    assert client.delete(FAULTS).get_json() == {"cleared": 1}
    assert pending(client) == []
    assert client.delete(FAULTS).get_json() == {"cleared": 0}


def test_faults_are_shared_through_the_store_file(
    app: Flask, client: FlaskClient, local_settings: Settings
) -> None:
    other = LocalStore(local_store_path(local_settings))  # as another server process would
    assert other.add_faults("graph", [{"status": 500, "code": 2}]) == 1
    assert send(client).status_code == 500
    add(client, "lex", {"status": 429})
    assert other.take_fault("lex") == {
        "status": 429,
        "type": "ThrottlingException",
        "message": "Local fault: ThrottlingException",
    }
    assert other.take_fault("lex") is None
    assert recognize(client, "hi").status_code == 200


def test_concurrent_takes_never_share_a_fault(tmp_path: Path) -> None:
    path = tmp_path / "local.db"
    LocalStore(path).add_faults(
        "lex", [{"status": 429, "message": f"fault {n}"} for n in range(10)]
    )
    stores = [LocalStore(path) for _ in range(20)]
    start = threading.Barrier(len(stores))
    taken: list[dict[str, Any] | None] = []
    lock = threading.Lock()

    def take(store: LocalStore) -> None:
        start.wait()
        fault = store.take_fault("lex")
        with lock:
            taken.append(fault)

    threads = [threading.Thread(target=take, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    got = [fault["message"] for fault in taken if fault is not None]
    assert len(taken) == 20
    assert sorted(got) == sorted(f"fault {n}" for n in range(10))
    assert LocalStore(path).list_faults() == []


def test_concurrent_takes_of_a_sticky_fault_all_see_it(tmp_path: Path) -> None:
    path = tmp_path / "local.db"
    LocalStore(path).add_faults("graph", [{"status": 401, "code": 190, "sticky": True}])
    stores = [LocalStore(path) for _ in range(8)]
    results: list[dict[str, Any] | None] = []
    threads = [
        threading.Thread(target=lambda s=store: results.append(s.take_fault("graph")))
        for store in stores
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [fault and fault["code"] for fault in results] == [190] * 8
    assert len(LocalStore(path).list_faults()) == 1


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "fault", "words"),
    [
        ("lex", {}, "needs status or type or a delay"),
        ("lex", {"sticky": True}, "needs status or type or a delay"),
        ("lex", {"status": 200}, "status must be an HTTP error status"),
        ("lex", {"status": "429"}, "status must be an HTTP error status"),
        ("lex", {"status": True}, "status must be an HTTP error status"),
        ("lex", {"status": 418}, "give its type too"),
        ("lex", {"type": "TeapotException"}, "give its status too"),
        ("lex", {"status": 429, "type": "Bad Type\r\nX: y"}, "type must be an error name"),
        ("lex", {"delay": 121}, "delay must be a number of seconds from 0 to 120"),
        ("lex", {"delay": -1}, "delay must be"),
        ("lex", {"delay": "2"}, "delay must be"),
        ("lex", {"delay": True}, "delay must be"),
        ("lex", {"status": 429, "count": 0}, "count must be a whole number from 1 to 1000"),
        ("lex", {"status": 429, "count": 1001}, "count must be"),
        ("lex", {"status": 429, "count": 1.5}, "count must be"),
        ("lex", {"status": 429, "sticky": "yes"}, "sticky must be true or false"),
        ("lex", {"status": 429, "code": 2}, "unknown field(s) for a lex fault: code"),
        ("lex", {"message": "hi"}, "message needs a status or type"),
        ("lex", {"status": 429, "message": ""}, "message must be a non-empty string"),
        ("lex", [], "a non-empty list"),
        ("lex", "429", "a fault must be a JSON object"),
        ("graph", {}, "needs status and code, headers or a delay"),
        ("graph", {"status": 500}, "needs both status (HTTP) and code"),
        ("graph", {"code": 2}, "needs both status (HTTP) and code"),
        ("graph", {"status": 500, "code": 0}, "code must be a positive whole number"),
        ("graph", {"status": 500, "code": "2"}, "code must be a positive whole number"),
        ("graph", {"status": 400, "code": 10, "subcode": -5}, "subcode must be a positive"),
        ("graph", {"status": 600, "code": 2}, "status must be an HTTP error status"),
        ("graph", {"subcode": 2018278}, "subcode needs an error"),
        ("graph", {"record": True}, "record needs an error"),
        ("graph", {"delay": 1, "record": True}, "record needs an error"),
        ("graph", {"status": 500, "code": 1, "record": 1}, "record must be true or false"),
        ("graph", {"status": 500, "code": 2, "type": "X"}, "unknown field(s) for a graph fault"),
        ("graph", {"headers": ["Retry-After", "2"]}, "headers must be an object"),
        ("graph", {"headers": {"Bad Name": "x"}}, "is not a valid header name"),
        ("graph", {"headers": {"X-Evil": "a\r\nSet-Cookie: b"}}, "must be a one-line string"),
        ("graph", {"headers": {"X-Usage": {"a": 1}}}, "must be a one-line string"),
        ("graph", {"headers": {"Content-Type": "text/html"}}, "cannot be set by a fault"),
        ("graph", [{"status": 500, "code": 2}, {"status": 500}], "fault 1: a graph error"),
    ],
)
def test_an_invalid_fault_is_refused_with_a_clear_message(
    client: FlaskClient, target: str, fault: object, words: str
) -> None:
    response = client.post(f"{FAULTS}/{target}", json=fault)
    assert response.status_code == 400
    assert words in response.get_json()["error"]
    assert pending(client) == []  # nothing of a refused list is queued


@pytest.mark.parametrize("data", ["", "not json", "null", '{"delay": NaN}', '{"delay": Infinity}'])
def test_a_body_that_is_not_a_fault_is_refused(client: FlaskClient, data: str) -> None:
    response = client.post(f"{FAULTS}/lex", data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_a_fault_must_be_posted_as_json(client: FlaskClient, content_type: str) -> None:
    # What a cross-site form or a "simple" fetch can send without a preflight (and what
    # curl -d sends: curl --json is the way).
    response = client.post(f"{FAULTS}/lex", data='{"status": 429}', content_type=content_type)
    assert response.status_code == 415
    assert "application/json" in response.get_json()["error"]
    assert pending(client) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:8000"},
    ],
)
def test_a_cross_site_request_cannot_change_local_state(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    add(client, "lex", {"status": 429})
    posted = client.post(f"{FAULTS}/lex", json={"status": 500}, headers=headers)
    cleared = client.delete(FAULTS, headers=headers)
    lex_call = client.post(
        "/local/lex/bots/B/botAliases/A/botLocales/en_US/sessions/7/text",
        json={"text": "hi"},
        headers=headers,
    )
    assert (posted.status_code, cleared.status_code, lex_call.status_code) == (403, 403, 403)
    assert len(pending(client)) == 1


def test_the_emulator_page_s_own_requests_and_curl_are_served(client: FlaskClient) -> None:
    same = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
    assert client.post(f"{FAULTS}/lex", json={"status": 429}, headers=same).status_code == 200
    typed = {"Sec-Fetch-Site": "none"}
    assert client.delete(FAULTS, headers=typed).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "bridge.ngrok.example:443", "10.0.0.7:8000"])
@pytest.mark.parametrize(("method", "path"), [("GET", FAULTS), ("POST", f"{FAULTS}/lex")])
def test_a_loopback_peer_under_another_host_name_gets_404(
    client: FlaskClient, host: str, method: str, path: str
) -> None:
    """A tunnel to 127.0.0.1, or DNS rebinding: the peer is loopback, the name is not."""
    response = client.open(path, method=method, json={"status": 429}, headers={"Host": host})
    assert response.status_code == 404
    assert pending(client) == []


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_an_unknown_target_is_not_found(client: FlaskClient, method: str) -> None:
    response = client.open(f"{FAULTS}/sqs", method=method, json={"status": 500})
    assert response.status_code == 404
    assert "unknown fault target 'sqs'" in response.get_json()["error"]


def test_the_store_validates_too(store: LocalStore) -> None:
    with pytest.raises(FaultError, match="unknown fault target"):
        store.add_faults("sqs", [{"status": 500}])
    with pytest.raises(FaultError, match="fault 1: delay"):
        store.add_faults("lex", [{"delay": 1}, {"delay": 500}])
    assert store.list_faults() == []
    assert store.take_fault("sqs") is None


# --- the Page probe: GET /{version}/me ------------------------------------------------------


def test_the_probe_answers_the_local_page(client: FlaskClient) -> None:
    response = probe(client)
    assert response.status_code == 200
    assert response.get_json() == {"id": LOCAL_PAGE_ID, "name": "Local Test Page"}


def test_the_probe_answers_the_configured_page_id(
    local_settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    settings = replace(
        local_settings, graph=replace(local_settings.graph, page_id="222222222222222")
    )
    client = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph).test_client()
    assert probe(client).get_json() == {"id": "222222222222222", "name": "Local Test Page"}


def test_the_probe_checks_the_token_and_proof(client: FlaskClient) -> None:
    response = probe(client, token="wrong-token")
    assert response.status_code == 401
    assert graph_error(response)["code"] == 190
    response = probe(client, secret="another-secret")
    assert response.status_code == 401
    assert "appsecret_proof" in graph_error(response)["message"]


def test_a_sticky_190_fails_the_probe_until_cleared(client: FlaskClient) -> None:
    add(client, "graph", {"status": 401, "code": 190, "sticky": True})
    for _ in range(2):
        response = probe(client)
        assert response.status_code == 401
        error = graph_error(response)
        assert error["code"] == 190
        assert error["message"].startswith("Invalid OAuth access token")
        assert send(client).status_code == 401
    client.delete(f"{FAULTS}/graph")
    assert probe(client).status_code == 200
    assert send(client).status_code == 200


def test_the_probe_takes_a_graph_fault(client: FlaskClient, gate: Gate) -> None:
    gate.opened.set()
    add(client, "graph", [{"status": 500, "code": 2, "delay": 1}, {"headers": {"X-Seen": "1"}}])
    assert probe(client).status_code == 500
    assert gate.delays == [1]
    response = probe(client)
    assert response.status_code == 200
    assert response.headers["X-Seen"] == "1"
    assert pending(client) == []


# --- Lex calls in progress --------------------------------------------------------------------


def test_lex_active_counts_calls_in_a_delay(app: Flask, client: FlaskClient, gate: Gate) -> None:
    assert lex_active(client) == 0
    add(client, "lex", [{"delay": 30}, {"delay": 30}, {"delay": 30, "status": 429}])
    statuses: list[int] = []

    def call() -> None:
        statuses.append(recognize(app.test_client(), "hello").status_code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    wait_for(lambda: lex_active(client) == 3, what="three Lex calls in progress")
    wait_for(lambda: len(gate.delays) == 3, what="three faults taken")
    assert recognize(client, "hello").status_code == 200  # a call without a fault goes by
    assert lex_active(client) == 3
    gate.opened.set()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == [200, 200, 429]
    assert lex_active(client) == 0


def test_lex_active_is_zero_after_errors(client: FlaskClient) -> None:
    add(client, "lex", {"status": 500})
    recognize(client, "hello")
    recognize(client, "")  # a validation error
    assert lex_active(client) == 0


def test_lex_active_ignores_calls_of_a_dead_process(client: FlaskClient, store: LocalStore) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    db = store._db()
    db.execute("INSERT INTO lex_calls (pid, started) VALUES (?, ?)", (finished.pid, time.time()))
    with store.lex_call():
        assert lex_active(client) == 1
    assert lex_active(client) == 0
    assert db.execute("SELECT COUNT(*) FROM lex_calls").fetchone() == (0,)


# --- through real clients on a loopback server ------------------------------------------------


def test_boto3_sees_lex_faults_as_bot_errors(
    live_server: LiveServer,
    local_settings: Settings,
    queue: SqliteQueue,
    graph: GraphClient,
) -> None:
    settings = served_settings(local_settings, live_server.port)
    app = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)
    live_server.mount(app)
    add(
        app.test_client(),
        "lex",
        [
            {"status": 429, "type": "ThrottlingException"},
            {"status": 424, "type": "DependencyFailedException"},
        ],
    )
    bot = make_bot(settings)
    assert isinstance(bot, LexV2Bot)
    try:
        with pytest.raises(BotError) as throttled:
            bot.respond(event("hello"))
        with pytest.raises(BotError) as failed:
            bot.respond(event("hello"))
        assert bot.respond(event("hello"))[0] == Text(GREETING)
    finally:
        bot._client.close()
    assert throttled.value.kind is BotErrorKind.RETRY
    assert "ThrottlingException (HTTP 429" in throttled.value.reason
    assert failed.value.kind is BotErrorKind.FALLBACK
    assert "DependencyFailedException (HTTP 424" in failed.value.reason


def test_boto3_times_out_on_a_hanging_bot(
    live_server: LiveServer,
    local_settings: Settings,
    queue: SqliteQueue,
    graph: GraphClient,
    gate: Gate,
) -> None:
    settings = replace(
        base := served_settings(local_settings, live_server.port),
        lex=replace(base.lex, read_timeout=0.3),
    )
    app = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)
    live_server.mount(app)
    add(app.test_client(), "lex", {"delay": 60})
    bot = make_bot(settings)
    assert isinstance(bot, LexV2Bot)
    try:
        with pytest.raises(BotError) as caught:
            bot.respond(event("hello"))
    finally:
        bot._client.close()
    assert caught.value.kind is BotErrorKind.FALLBACK
    assert "ReadTimeoutError" in caught.value.reason
    assert lex_active(app.test_client()) == 1  # the server is still in the call
    gate.opened.set()
    wait_for(lambda: lex_active(app.test_client()) == 0, what="the hanging call to end")


def test_the_graph_client_sees_graph_faults(served_graph: tuple[Flask, GraphClient]) -> None:
    app, graph = served_graph
    add(app.test_client(), "graph", {"status": 401, "code": 190, "sticky": True})
    with pytest.raises(GraphError) as refused:
        graph.send_message(PSID, {"text": "Hello"})
    with pytest.raises(GraphError) as probed:
        graph.probe()
    app.test_client().delete(FAULTS)
    graph.probe()
    assert graph.send_message(PSID, {"text": "Hello"})
    assert (refused.value.status, refused.value.code) == (401, 190)
    assert (probed.value.status, probed.value.code) == (401, 190)


# --- loopback only; absent in production ---------------------------------------------------

FAULT_ROUTES = [
    ("POST", f"{FAULTS}/lex"),
    ("POST", f"{FAULTS}/graph"),
    ("GET", FAULTS),
    ("DELETE", FAULTS),
    ("DELETE", f"{FAULTS}/graph"),
    ("GET", "/local/lex/active"),
    ("GET", "/local/graph/v25.0/me"),
]


@pytest.mark.parametrize(("method", "path"), FAULT_ROUTES)
@pytest.mark.parametrize("remote", ["10.1.2.3", "2001:db8::1", ""])
def test_fault_routes_answer_only_loopback_clients(
    client: FlaskClient, method: str, path: str, remote: str
) -> None:
    response = client.open(
        path, method=method, json={"status": 429}, environ_base={"REMOTE_ADDR": remote}
    )
    assert response.status_code == 404
    assert pending(client) == []


def test_a_remote_client_cannot_clear_faults(client: FlaskClient) -> None:
    add(client, "lex", {"status": 429})
    response = client.delete(FAULTS, environ_base={"REMOTE_ADDR": "192.168.1.20"})
    assert response.status_code == 404
    assert len(pending(client)) == 1


@pytest.mark.parametrize(("method", "path"), FAULT_ROUTES)
def test_production_has_no_fault_routes(
    settings: Settings, queue: SqliteQueue, graph: GraphClient, method: str, path: str
) -> None:
    app = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)
    response = app.test_client().open(path, method=method, json={"status": 429})
    assert response.status_code == 404
    assert not local_store_path(settings).exists()
