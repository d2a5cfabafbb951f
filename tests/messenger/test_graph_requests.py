"""The Graph calls, built but not sent (bridge/messenger/graph_requests.py): exact, pure, and
the token never in a URL."""

from __future__ import annotations

from typing import Any

from bridge.messenger.graph_requests import (
    GraphRequest,
    PageAuth,
    action_body,
    build_send_request,
    message_body,
)
from tests.conftest import GRAPH, TEST_SECRET, TEST_TOKEN
from tests.messenger.test_graph import KNOWN_PROOF, MESSAGE, NOW, proof_of
from tests.support.ids import PSID

AUTH = PageAuth(GRAPH, "v25.0", TEST_TOKEN, TEST_SECRET)


# --- build_send_request, message_body, action_body (pure) ------------------------------------


def test_build_send_request_is_exact() -> None:
    body = message_body(PSID, MESSAGE)
    request = build_send_request(
        PageAuth(base_url=GRAPH, version="v25.0", page_token=TEST_TOKEN, app_secret=TEST_SECRET),
        body,
        now=NOW,
    )
    assert request == GraphRequest(
        url="https://graph.test/v25.0/me/messages",
        params={"appsecret_proof": KNOWN_PROOF, "appsecret_time": "1700000000"},
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        json=body,
    )


def test_build_send_request_proof_is_hmac_of_token_and_time() -> None:
    for now in (0, NOW, NOW + 301):
        request = build_send_request(
            PageAuth(GRAPH, "v24.0", page_token="EAAB-other-token", app_secret="another-secret"),
            {},
            now=now,
        )
        assert request.params["appsecret_time"] == str(now)
        assert request.params["appsecret_proof"] == proof_of(
            "another-secret", "EAAB-other-token", now
        )
        assert request.url == "https://graph.test/v24.0/me/messages"


def test_build_send_request_is_pure() -> None:
    args: tuple[PageAuth, dict[str, Any]] = (AUTH, message_body(PSID, MESSAGE))
    assert build_send_request(*args, now=NOW) == build_send_request(*args, now=NOW)
    assert (
        build_send_request(*args, now=NOW).params != build_send_request(*args, now=NOW + 1).params
    )


def test_build_send_request_keeps_the_token_out_of_the_url() -> None:
    request = build_send_request(AUTH, message_body(PSID, MESSAGE), now=NOW)
    assert TEST_TOKEN not in request.url
    assert all(TEST_TOKEN not in value for value in request.params.values())
    assert "access_token" not in request.params


def test_message_body_is_a_response() -> None:
    assert message_body(PSID, MESSAGE) == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": MESSAGE,
    }


def test_action_body_has_no_message_and_no_messaging_type() -> None:
    assert action_body(PSID, "typing_on") == {
        "recipient": {"id": PSID},
        "sender_action": "typing_on",
    }
