"""The emulator page's server side (bridge/local/emulator.py), through Flask's test client: the page
and its static files exist only in local mode and only for loopback clients; the sign endpoint
wraps a messaging item exactly as Meta does and signs it, without ever giving out the secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bridge.app import create_app
from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_PAGE_ID
from bridge.config.settings import Settings
from bridge.local.emulator import CONTENT_SECURITY_POLICY, USERS
from bridge.local.graph import LOCAL_PAGE_NAME
from bridge.local.store import LocalStore
from bridge.messenger.deliveries import build_delivery
from bridge.messenger.graph import GraphClient
from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot

PSID = "8000000000000001"
OTHER = "8000000000000002"
STATIC = "/local/emulator/static"
STATIC_FILES = {
    "emulator.js": "text/javascript",
    "page-send.js": "text/javascript",
    "emulator.css": "text/css",
    "avatar.svg": "image/svg+xml",
}
PAGES = ["/", "/local/emulator"]
ENDPOINTS = [
    ("GET", "/"),
    ("GET", "/local/emulator"),
    ("GET", f"{STATIC}/emulator.js"),
    ("GET", f"{STATIC}/index.html"),
    ("GET", "/local/emulator/config"),
    ("GET", f"/local/emulator/events?psid={PSID}"),
    ("POST", "/local/emulator/sign"),
    ("POST", "/local/emulator/outbound"),
    ("GET", "/local/emulator/outbound/out_0123456789abcdef0123456789abcdef"),
]


def local_settings_from_env(tmp_path: Path, **env: str) -> Settings:
    """Local mode as `make demo` configures it (the local app secret unless one is set)."""
    return Settings.from_env({"BRIDGE_MODE": "local", "BRIDGE_DB": str(tmp_path / "b.db"), **env})


@pytest.fixture
def settings_local(tmp_path: Path) -> Settings:
    return local_settings_from_env(tmp_path)


@pytest.fixture
def app(settings_local: Settings, queue: SqliteQueue, graph: GraphClient) -> Flask:
    return create_app(settings_local, queue=queue, bot=ScriptedBot(), graph=graph)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def message(text: str, mid: str = "m_emu_1", psid: str = PSID) -> dict[str, Any]:
    return {"sender": {"id": psid}, "message": {"mid": mid, "text": text}}


def sign_request(client: FlaskClient, item: object) -> TestResponse:
    """POST the item as a browser's JSON.stringify would: keys in their own order."""
    return client.post(
        "/local/emulator/sign", data=json.dumps(item), content_type="application/json"
    )


def fetch(client: FlaskClient, path: str, method: str = "GET", **options: Any) -> TestResponse:
    """A response read in full and closed (static files are streamed from an open file)."""
    response = client.open(path, method=method, **options)
    response.get_data()
    response.close()
    return response


def signed(client: FlaskClient, item: object) -> dict[str, Any]:
    response = sign_request(client, item)
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.get_json()
    return data


# --- the page and its files -----------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_the_page_is_served_in_local_mode(client: FlaskClient, path: str) -> None:
    response = fetch(client, path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<title>" in html
    for name in ("emulator.js", "page-send.js", "emulator.css"):
        assert f'"{STATIC}/{name}"' in html
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_loads_nothing_from_elsewhere(client: FlaskClient) -> None:
    for path in ["/", *(f"{STATIC}/{name}" for name in STATIC_FILES)]:
        text = fetch(client, path).get_data(as_text=True)
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
        assert "//fonts." not in text and "@import" not in text


@pytest.mark.parametrize("name", ["emulator.js", "page-send.js"])
def test_the_scripts_never_write_markup(name: str) -> None:
    script = (
        Path(__file__).resolve().parents[2] / "bridge/local/static/emulator" / name
    ).read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script.replace("never innerHTML", "")


@pytest.mark.parametrize(("name", "mimetype"), STATIC_FILES.items())
def test_static_files_are_served(client: FlaskClient, name: str, mimetype: str) -> None:
    response = fetch(client, f"{STATIC}/{name}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_there_is_no_app_wide_static_route(client: FlaskClient) -> None:
    assert fetch(client, "/static/emulator/emulator.js").status_code == 404
    assert fetch(client, f"{STATIC}/../emulator.py").status_code == 404


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_production_has_no_emulator(
    settings: Settings, queue: SqliteQueue, graph: GraphClient, method: str, path: str
) -> None:
    app = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)
    client = app.test_client()
    assert fetch(client, path, method=method, json=message("hi")).status_code == 404
    assert fetch(client, "/static/emulator/emulator.js").status_code == 404


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("remote", ["10.1.2.3", "192.168.0.7", "2001:db8::1", "not-an-ip"])
def test_remote_clients_get_404(client: FlaskClient, method: str, path: str, remote: str) -> None:
    response = fetch(
        client, path, method=method, json=message("hi"), environ_base={"REMOTE_ADDR": remote}
    )
    assert response.status_code == 404
    assert b"<" not in response.data and LOCAL_APP_SECRET.encode() not in response.data


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "10.0.0.1:8000"])
def test_a_foreign_host_name_gets_404(
    client: FlaskClient, method: str, path: str, host: str
) -> None:
    """A loopback peer under another host name is a page elsewhere (DNS rebinding)."""
    response = fetch(client, path, method=method, json=message("hi"), headers={"Host": host})
    assert response.status_code == 404


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost"])
@pytest.mark.parametrize("remote", ["127.0.0.1", "::1"])
def test_loopback_names_and_peers_are_served(client: FlaskClient, host: str, remote: str) -> None:
    response = fetch(client, "/", headers={"Host": host}, environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == 200


# --- config ---------------------------------------------------------------------------------


def test_config_names_the_page_the_bot_and_the_users(client: FlaskClient) -> None:
    data = client.get("/local/emulator/config").get_json()
    assert data["page"] == {"id": LOCAL_PAGE_ID, "name": LOCAL_PAGE_NAME}
    assert "Sample bot" in data["bot"]
    assert data["users"] == list(USERS)
    assert len({user["psid"] for user in data["users"]}) == 3
    assert data["poll_ms"] <= 500 and data["typing_timeout_s"] == 20


def test_a_new_user_is_listed_once_they_sent_something(client: FlaskClient) -> None:
    signed(client, message("hi", psid="7912345678901234"))
    users = client.get("/local/emulator/config").get_json()["users"]
    assert users[-1] == {"psid": "7912345678901234", "name": "Guest 1234"}
    assert len(users) == len(USERS) + 1


def test_config_names_a_real_lex_bot(
    tmp_path: Path, queue: SqliteQueue, graph: GraphClient
) -> None:
    settings = local_settings_from_env(
        tmp_path,
        BRIDGE_BOT="lexv2",
        LEX_BOT_ID="ABCDE12345",
        LEX_BOT_ALIAS_ID="TSTALIASID",
        LEX_LOCALE_ID="ko_KR",
    )
    client = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph).test_client()
    assert client.get("/local/emulator/config").get_json()["bot"] == "Lex V2 bot ABCDE12345 · ko_KR"


# --- signing --------------------------------------------------------------------------------


def test_a_signed_item_verifies_with_the_local_app_secret(client: FlaskClient) -> None:
    data = signed(client, message("hello"))
    body = data["body"].encode("ascii")
    assert is_valid_signature(LOCAL_APP_SECRET, body, data["signature"])
    delivery = json.loads(body)
    assert delivery["object"] == "page"
    [entry] = delivery["entry"]
    assert entry["id"] == LOCAL_PAGE_ID
    [item] = entry["messaging"]
    assert item["sender"] == {"id": PSID}
    assert item["recipient"] == {"id": LOCAL_PAGE_ID}
    assert item["message"] == {"mid": "m_emu_1", "text": "hello"}


def test_the_bytes_are_those_of_the_terminal_chat(client: FlaskClient) -> None:
    """Same builder as the terminal chat (bridge.messenger.deliveries): Meta's ASCII escapes,
    escaped slashes, no spaces."""
    item = {
        "sender": {"id": PSID},
        "postback": {"mid": "m_emu_2", "title": "안녕 </b> \U0001f600", "payload": "a/b"},
    }
    data = signed(client, item)
    body = data["body"].encode("ascii")
    timestamp = json.loads(body)["entry"][0]["time"]
    assert body == build_delivery(LOCAL_PAGE_ID, PSID, {"postback": item["postback"]}, timestamp)
    assert "\\uc548\\ub155 \\u003C\\/b> \\ud83d\\ude00" in data["body"]
    assert '"payload":"a\\/b"' in data["body"]


def test_the_envelope_is_set_by_the_server(client: FlaskClient) -> None:
    item = {
        **message("hi"),
        "recipient": {"id": "999"},
        "timestamp": 1,
    }
    delivery = json.loads(signed(client, item)["body"])
    [messaging] = delivery["entry"][0]["messaging"]
    assert messaging["recipient"] == {"id": LOCAL_PAGE_ID}
    assert messaging["timestamp"] > 1_700_000_000_000
    assert messaging["timestamp"] == delivery["entry"][0]["time"]


def test_a_signed_body_is_accepted_by_the_webhook(client: FlaskClient) -> None:
    data = signed(client, message("hello", mid="m_emu_webhook"))
    response = client.post(
        "/webhook",
        data=data["body"].encode("ascii"),
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: data["signature"]},
    )
    assert response.status_code == 200
    state = client.get("/local/status", query_string={"key": "m_emu_webhook"}).get_json()
    assert state["state"] == "queued"


def test_a_configured_secret_signs_instead(
    tmp_path: Path, queue: SqliteQueue, graph: GraphClient
) -> None:
    secret = "a-real-looking-app-secret-0123456789"
    settings = local_settings_from_env(tmp_path, FB_APP_SECRET=secret)
    client = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph).test_client()
    response = sign_request(client, message("hi"))
    data = response.get_json()
    assert is_valid_signature(secret, data["body"].encode(), data["signature"])
    assert secret.encode() not in response.data


@pytest.mark.parametrize(
    "item",
    [[message("hi")], "hello", 42, None, True],
    ids=["list", "string", "number", "null", "bool"],
)
def test_a_non_object_item_is_refused(client: FlaskClient, item: object) -> None:
    response = sign_request(client, item)
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [(b"{", "application/json", 400), (json.dumps(message("hi")).encode(), "text/plain", 415)],
    ids=["not-json", "not-application-json"],
)
def test_a_body_that_is_not_json_is_refused(
    client: FlaskClient, data: bytes, content_type: str, status: int
) -> None:
    response = client.post("/local/emulator/sign", data=data, content_type=content_type)
    assert response.status_code == status


@pytest.mark.parametrize(
    "item",
    [
        {"message": {"mid": "m", "text": "hi"}},
        {"sender": {"id": 8000000000000001}, "message": {"text": "hi"}},
        {"sender": {"id": "alice"}, "message": {"text": "hi"}},
        {"sender": "8000000000000001", "message": {"text": "hi"}},
        {"sender": {"id": PSID}},
        {"sender": {"id": PSID}, "recipient": {"id": "1"}, "timestamp": 5},
    ],
    ids=["no-sender", "numeric-id", "not-digits", "sender-not-object", "no-event", "only-envelope"],
)
def test_an_item_without_a_psid_or_an_event_is_refused(
    client: FlaskClient, item: dict[str, Any]
) -> None:
    assert sign_request(client, item).status_code == 400


def test_no_answer_ever_holds_the_secret(client: FlaskClient) -> None:
    responses = [
        fetch(client, "/"),
        fetch(client, "/local/emulator/config"),
        sign_request(client, message("hi")),
        sign_request(client, []),
        fetch(client, f"/local/emulator/events?psid={PSID}"),
        *(fetch(client, f"{STATIC}/{name}") for name in STATIC_FILES),
    ]
    for response in responses:
        assert LOCAL_APP_SECRET.encode() not in response.data
        assert LOCAL_APP_SECRET not in str(response.headers)


def test_json_answers_are_not_cached(client: FlaskClient) -> None:
    for response in (
        client.get("/local/emulator/config"),
        sign_request(client, message("hi")),
    ):
        assert response.headers["Cache-Control"] == "no-store"


# --- what the page sent, for its history ------------------------------------------------------


def test_signed_events_are_listed_per_person_in_order(client: FlaskClient) -> None:
    first = signed(client, message("one", mid="m_1"))
    second = signed(client, message("two", mid="m_2"))
    signed(client, message("other", mid="m_3", psid=OTHER))
    events = client.get("/local/emulator/events", query_string={"psid": PSID}).get_json()["events"]
    assert [event["body"] for event in events] == [first["body"], second["body"]]
    assert [event["id"] for event in events] == [first["id"], second["id"]]
    others = client.get("/local/emulator/events", query_string={"psid": OTHER}).get_json()
    assert [
        json.loads(e["body"])["entry"][0]["messaging"][0]["message"]["text"]
        for e in others["events"]
    ] == ["other"]


def test_an_event_follows_the_replies_sent_before_it(app: Flask, client: FlaskClient) -> None:
    store: LocalStore = app.extensions["bridge_local"]
    assert signed(client, message("first"))["after"] == 0
    store.record(OTHER, {"recipient": {"id": OTHER}, "message": {"text": "not for PSID"}})
    seq = store.record(PSID, {"recipient": {"id": PSID}, "message": {"text": "reply"}})
    store.record(OTHER, {"recipient": {"id": OTHER}, "message": {"text": "later, elsewhere"}})
    data = signed(client, message("second"))
    assert data["after"] == seq
    events = client.get("/local/emulator/events", query_string={"psid": PSID}).get_json()["events"]
    assert [event["after"] for event in events] == [0, seq]


@pytest.mark.parametrize("psid", ["", "abc", "1 OR 1=1"])
def test_events_need_a_psid(client: FlaskClient, psid: str) -> None:
    assert client.get("/local/emulator/events", query_string={"psid": psid}).status_code == 400
