"""The webhook through Flask's test client: handshake, signatures, parsing, durable enqueue."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.errors import QueueError
from bridge.messenger.events import TokenUpdate
from bridge.messenger.graph import GraphClient
from bridge.messenger.signature import sign
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue import NewJob, PutResult
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import TEST_SECRET, ScriptedBot, delivery, signed_headers, text_item
from tests.support.ids import PAGE_ID


@pytest.fixture
def app(settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Flask:
    return create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post(client: FlaskClient, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/webhook", data=body, headers=signed_headers(body) if headers is None else headers
    )


# --- GET handshake -------------------------------------------------------------------------


def test_handshake_echoes_the_challenge_as_plain_text(client: FlaskClient) -> None:
    response = client.get(
        "/webhook",
        query_string={
            "hub.mode": "subscribe",
            "hub.verify_token": "test-verify-token",
            "hub.challenge": "CHALLENGE_ACCEPTED",
        },
    )
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "CHALLENGE_ACCEPTED"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token"},
        {},
    ],
)
def test_handshake_refuses_anything_else(client: FlaskClient, query: dict[str, str]) -> None:
    response = client.get("/webhook", query_string=query)
    assert response.status_code == 403
    assert "1" not in response.get_data(as_text=True)


# --- POST: signatures ------------------------------------------------------------------------


def test_a_signed_text_is_committed_before_the_200(client: FlaskClient, queue: SqliteQueue) -> None:
    response = post(client, delivery(text_item("7", "hello", "m_1")))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "EVENT_RECEIVED"
    assert queue.state_of("m_1") == "queued"
    job = queue.claim(owner="t", process="t", now=0, lease=1)
    assert job is not None and job.conversation == f"{PAGE_ID}:7"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        "sha256=nothex",
        "sha1=" + "0" * 40,
        sign("another-secret", b"x"),
    ],
)
def test_a_bad_signature_is_403_without_details(
    client: FlaskClient, queue: SqliteQueue, header: str | None
) -> None:
    body = delivery(text_item("7", "hello", "m_1"))
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    response = post(client, body, headers)
    assert response.status_code == 403
    assert response.get_data(as_text=True) == "Forbidden"
    assert queue.state_of("m_1") is None


def test_the_sha1_header_alone_is_not_enough(client: FlaskClient) -> None:
    import hashlib
    import hmac

    body = delivery(text_item("7", "hello", "m_1"))
    sha1 = "sha1=" + hmac.new(TEST_SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = post(client, body, {"X-Hub-Signature": sha1})
    assert response.status_code == 403


def test_the_signature_covers_the_raw_bytes_as_meta_escapes_them(
    client: FlaskClient, queue: SqliteQueue
) -> None:
    raw = (
        b'{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"7"},'
        b'"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m_esc",'
        b'"text":"\\uc548\\ub155 a\\u0040b.c \\/ \\ud83d\\ude00"}}]}]}'
    )
    assert post(client, raw).status_code == 200
    job = queue.claim(owner="t", process="t", now=0, lease=1)
    assert job is not None and json.loads(job.payload)["text"] == "안녕 a@b.c / 😀"
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert post(client, reserialised, signed_headers(raw)).status_code == 403


# --- POST: bodies ------------------------------------------------------------------------------


def test_invalid_json_is_400(client: FlaskClient) -> None:
    response = post(client, b'{"object": "page", ')
    assert response.status_code == 400
    assert response.get_data(as_text=True) == "Bad Request"


@pytest.mark.parametrize(
    "body",
    [
        b'{"object":"instagram","entry":[]}',
        b"[]",
        b'"page"',
        b'{"object":"page"}',
        b'{"object":"page","entry":{}}',
        b'{"object":"page","entry":[{"id":"1","messaging":"x"}]}',
    ],
)
def test_valid_json_of_the_wrong_shape_is_200_and_queues_nothing(
    client: FlaskClient, queue: SqliteQueue, body: bytes
) -> None:
    assert post(client, body).status_code == 200
    assert queue.stats(now=0)["queued"] == 0


def test_echoes_reads_deliveries_reactions_and_standby_are_never_queued(
    client: FlaskClient, queue: SqliteQueue
) -> None:
    base = {"sender": {"id": "7"}, "recipient": {"id": PAGE_ID}, "timestamp": 5}
    items = [
        {**base, "message": {"mid": "m_echo", "is_echo": True, "app_id": 1, "text": "hi"}},
        {**base, "read": {"watermark": 4}},
        {**base, "delivery": {"mids": ["m_x"], "watermark": 4}},
        {**base, "reaction": {"reaction": "love", "emoji": "❤", "action": "react", "mid": "m_x"}},
        {**base, "brand_new_event": {"x": 1}},
    ]
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {"id": PAGE_ID, "time": 5, "messaging": items},
                {
                    "id": PAGE_ID,
                    "time": 5,
                    "standby": [text_item("7", "human owns this", "m_standby")],
                },
            ],
        }
    ).encode()
    assert post(client, body).status_code == 200
    assert queue.stats(now=0)["queued"] == 0


def test_every_entry_and_item_of_a_batch_is_queued(client: FlaskClient, queue: SqliteQueue) -> None:
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "time": 1,
                    "messaging": [text_item("7", "a", "m_a", 1), text_item("8", "b", "m_b", 2)],
                },
                {"id": PAGE_ID, "time": 1, "messaging": [text_item("9", "c", "m_c", 3)]},
            ],
        }
    ).encode()
    assert post(client, body).status_code == 200
    assert [queue.state_of(m) for m in ("m_a", "m_b", "m_c")] == ["queued"] * 3


def test_a_redelivery_is_absorbed(client: FlaskClient, queue: SqliteQueue) -> None:
    body = delivery(text_item("7", "hello", "m_1"))
    for _ in range(3):
        assert post(client, body).status_code == 200
    assert queue.stats(now=0)["queued"] == 1


def test_events_for_other_pages_are_ignored_when_a_page_is_set(
    settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    client = create_app(
        replace(settings, graph=replace(settings.graph, page_id=PAGE_ID)),
        queue=queue,
        bot=ScriptedBot(),
        graph=graph,
    ).test_client()
    assert (
        post(
            client, delivery(text_item("7", "x", "m_other", page_id="999"), page_id="999")
        ).status_code
        == 200
    )
    assert post(client, delivery(text_item("7", "x", "m_ours"))).status_code == 200
    assert queue.state_of("m_other") is None and queue.state_of("m_ours") == "queued"


@pytest.mark.parametrize(
    ("page", "label"), [("999", "999"), ("x" * 5000, "invalid"), ("٣٣٣", "invalid")]
)
def test_items_for_other_pages_count_under_a_bounded_label(
    settings: Settings,
    queue: SqliteQueue,
    graph: GraphClient,
    caplog: pytest.LogCaptureFixture,
    page: str,
    label: str,
) -> None:
    client = create_app(
        replace(settings, graph=replace(settings.graph, page_id=PAGE_ID)),
        queue=queue,
        bot=ScriptedBot(),
        graph=graph,
    ).test_client()
    metric = "bridge_webhook_unknown_page_items_total"
    before = REGISTRY.get_sample_value(metric, {"page": label}) or 0
    body = delivery(text_item("7", "x", "m_elsewhere", page_id=page), page_id=page)
    assert post(client, body).status_code == 200
    assert (REGISTRY.get_sample_value(metric, {"page": label}) or 0) - before == 1
    assert REGISTRY.get_sample_value(metric, {"page": page}) is None or page == label
    [warning] = [r for r in caplog.records if "does not serve" in r.getMessage()]
    assert all(len(shown) <= 121 for shown in warning.__dict__["pages"])


def test_the_accepted_line_shows_odd_ids_cut_short(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    items = [text_item("7", "x", f"m_{i}_" + "y" * 5000) for i in range(150)]
    assert post(client, delivery(*items)).status_code == 200
    [accepted] = [r for r in caplog.records if r.getMessage() == "webhook accepted"]
    mids = accepted.__dict__["mids"]
    assert accepted.__dict__["events"] == 150 and len(mids) == 100
    assert all(len(mid) == 121 and mid.endswith("…") for mid in mids)


def test_a_body_over_the_limit_is_413(
    settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    client = create_app(
        replace(settings, web=replace(settings.web, max_body_bytes=2048)),
        queue=queue,
        bot=ScriptedBot(),
        graph=graph,
    ).test_client()
    body = delivery(text_item("7", "x" * 4000, "m_big"))
    assert post(client, body).status_code == 413
    assert queue.state_of("m_big") is None
    assert post(client, delivery(text_item("7", "small", "m_small"))).status_code == 200


class BrokenQueue(SqliteQueue):
    def put(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
    ) -> PutResult:
        raise QueueError("disk full")


def test_a_queue_failure_is_the_only_5xx_and_is_not_acknowledged(
    settings: Settings, graph: GraphClient, tmp_path: Any
) -> None:
    client = create_app(
        settings, queue=BrokenQueue(tmp_path / "q.db"), bot=ScriptedBot(), graph=graph
    ).test_client()
    response = post(client, delivery(text_item("7", "hello", "m_1")))
    assert response.status_code == 503
    assert "disk" not in response.get_data(as_text=True)


def test_errors_never_show_a_stack_trace(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.get_data(as_text=True) == "Internal Server Error"
    assert client.get("/nowhere").status_code == 404
    assert client.put("/webhook").status_code == 405


def test_logs_carry_ids_but_never_message_text_or_secrets(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    post(client, delivery(text_item("7", "my private words", "m_logged")))
    post(client, b"{}", {"X-Hub-Signature-256": "sha256=" + "0" * 64})
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "m_logged" in text
    assert "my private words" not in text
    assert TEST_SECRET not in text


def test_a_lone_surrogate_is_stored_as_a_replacement_character(
    client: FlaskClient, queue: SqliteQueue
) -> None:
    raw = (
        b'{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"7"},'
        b'"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m_sur",'
        b'"text":"a\\ud800b","quick_reply":{"payload":"\\udc00"}}}]}]}'
    )
    assert post(client, raw).status_code == 200
    job = queue.claim(owner="t", process="t", now=0, lease=1)
    assert job is not None
    stored = json.loads(job.payload)
    assert (stored["text"], stored["payload"]) == ("a\ufffdb", "\ufffd")


POLICY_REASON = (
    "The bot violated our Platform Policies (https://developers.facebook.com/policy/"
    "#messengerplatform). Common violations include sending out excessive spammy messages."
)


def policy_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("Meta took a policy")]


@pytest.mark.parametrize("key", ["policy_enforcement", "policy-enforcement"])
def test_a_policy_action_is_a_warning_with_action_reason_and_page(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, key: str
) -> None:
    caplog.set_level(logging.DEBUG)
    before = REGISTRY.get_sample_value("bridge_policy_enforcements_total", {"action": "block"})
    block = {
        "recipient": {"id": PAGE_ID},
        "timestamp": 1,
        key: {"action": "block", "reason": POLICY_REASON},
    }
    unblock = {"recipient": {"id": PAGE_ID}, "timestamp": 2, key: {"action": "unblock"}}
    body = delivery(block, text_item("7", "my private words", "m_beside"), unblock)
    assert post(client, body).status_code == 200
    records = policy_warnings(caplog)
    assert [(r.levelno, r.__dict__["action"]) for r in records] == [
        (logging.WARNING, "block"),
        (logging.WARNING, "unblock"),
    ]
    assert [(r.__dict__["page"], r.__dict__["reason"]) for r in records] == [
        (PAGE_ID, POLICY_REASON),
        (PAGE_ID, None),
    ]
    assert "my private words" not in "\n".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    after = REGISTRY.get_sample_value("bridge_policy_enforcements_total", {"action": "block"})
    assert (after or 0) - (before or 0) == 1


def test_a_policy_reason_is_cut_short_in_the_log_and_an_odd_action_counts_as_other(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    before = REGISTRY.get_sample_value("bridge_policy_enforcements_total", {"action": "other"})
    odd = {"action": "suspend", "reason": "r" * 10_000}
    assert (
        post(
            client, delivery({"recipient": {"id": PAGE_ID}, "policy-enforcement": odd})
        ).status_code
        == 200
    )
    [record] = policy_warnings(caplog)
    assert record.__dict__["action"] == "suspend" and len(record.__dict__["reason"]) == 300
    after = REGISTRY.get_sample_value("bridge_policy_enforcements_total", {"action": "other"})
    assert (after or 0) - (before or 0) == 1
