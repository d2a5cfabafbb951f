"""The Graph client (bridge/messenger/graph.py): the Send API calls over one ``requests.Session``,
and Graph's error bodies turned into ``GraphError``. HTTP is faked with ``responses``; nothing
leaves the process."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from requests import Response
from requests.adapters import HTTPAdapter
from responses import matchers

from bridge.errors import GraphError
from bridge.messenger.graph import GraphClient
from bridge.messenger.graph_requests import SENDER_ACTIONS, message_body
from tests.conftest import GRAPH, TEST_SECRET, TEST_TOKEN
from tests.support.ids import PSID

NOW = 1_700_000_000
# HMAC-SHA256(key="test-app-secret", msg="test-page-token|1700000000"), computed once by hand.
KNOWN_PROOF = "2f944c1b83bba9bfc24cc87ad51e9de402f9d7af463ca64affe5a0405f6981cf"
URL = f"{GRAPH}/v25.0/me/messages"
MESSAGE: dict[str, Any] = {"text": "Hello, 세계 😀"}


def proof_of(secret: str, token: str, now: int) -> str:
    return hmac.new(secret.encode(), f"{token}|{now}".encode(), hashlib.sha256).hexdigest()


class RecordingAdapter(HTTPAdapter):
    """A real transport adapter (connection pool) that remembers every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        self.sent.append(request)
        return super().send(request, *args, **kwargs)


class RecordingSession(requests.Session):
    """A real Session whose HTTPS adapter remembers every request sent through it."""

    def __init__(self) -> None:
        super().__init__()
        self.adapter = RecordingAdapter()
        self.mount("https://", self.adapter)

    @property
    def sent(self) -> list[requests.PreparedRequest]:
        return self.adapter.sent


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def session() -> Iterator[RecordingSession]:
    with RecordingSession() as http:
        yield http


@pytest.fixture
def client(session: RecordingSession) -> GraphClient:
    return GraphClient(
        base_url=GRAPH + "/",
        version="v25.0",
        page_token=TEST_TOKEN,
        app_secret=TEST_SECRET,
        timeout=7,
        session=session,
        clock=lambda: NOW + 0.9,  # a fixed clock; the proof uses whole seconds
    )


def graph_error(
    code: int, message: str, subcode: int | None = None, trace: str = "AzQ1b2Trace"
) -> dict[str, Any]:
    """An error body shaped like Graph's (messenger.md §6)."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": trace,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
        error["error_user_title"] = "Message Not Sent"
        error["error_user_msg"] = "This person isn't available right now."
    return {"error": error}


# --- send_message / send_action ----------------------------------------------------------------


def test_send_message_posts_the_exact_call_and_returns_the_message_id(
    rsps: responses.RequestsMock, client: GraphClient
) -> None:
    rsps.post(
        URL,
        json={"recipient_id": PSID, "message_id": "m_AbC123"},
        match=[
            matchers.query_param_matcher(
                {"appsecret_proof": KNOWN_PROOF, "appsecret_time": str(NOW)}
            ),
            matchers.header_matcher({"Authorization": f"Bearer {TEST_TOKEN}"}),
            matchers.json_params_matcher(
                {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": MESSAGE},
                strict_match=True,
            ),
        ],
    )
    assert client.send_message(PSID, MESSAGE) == "m_AbC123"
    call = rsps.calls[0]
    assert call.request.method == "POST"
    assert call.request.headers["Content-Type"] == "application/json"
    assert call.request.body is not None
    assert json.loads(call.request.body) == message_body(PSID, MESSAGE)
    assert TEST_TOKEN not in str(call.request.url)


def test_send_message_passes_the_timeout(rsps: responses.RequestsMock, client: GraphClient) -> None:
    rsps.post(
        URL,
        json={"recipient_id": PSID, "message_id": "m_1"},
        match=[matchers.request_kwargs_matcher({"timeout": 7})],
    )
    assert client.send_message(PSID, MESSAGE) == "m_1"


def test_send_message_without_message_id_returns_none(
    rsps: responses.RequestsMock, client: GraphClient
) -> None:
    rsps.post(URL, json={"recipient_id": PSID})
    assert client.send_message(PSID, MESSAGE) is None


def test_a_200_with_a_non_json_body_counts_as_sent(
    rsps: responses.RequestsMock, client: GraphClient
) -> None:
    rsps.post(URL, body="OK", status=200, content_type="text/plain")
    assert client.send_message(PSID, MESSAGE) is None
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("action", SENDER_ACTIONS)
def test_send_action_posts_only_recipient_and_action(
    rsps: responses.RequestsMock, client: GraphClient, action: str
) -> None:
    rsps.post(
        URL,
        json={"recipient_id": PSID},
        match=[
            matchers.query_param_matcher(
                {"appsecret_proof": KNOWN_PROOF, "appsecret_time": str(NOW)}
            ),
            matchers.header_matcher({"Authorization": f"Bearer {TEST_TOKEN}"}),
            matchers.json_params_matcher(
                {"recipient": {"id": PSID}, "sender_action": action}, strict_match=True
            ),
        ],
    )
    client.send_action(PSID, action)
    assert len(rsps.calls) == 1


def test_sender_actions_are_the_three_messenger_documents() -> None:
    assert set(SENDER_ACTIONS) == {"mark_seen", "typing_on", "typing_off"}


@pytest.mark.parametrize("action", ["TYPING_ON", "react", "", "typing"])
def test_send_action_refuses_an_unknown_action_without_a_call(
    rsps: responses.RequestsMock, client: GraphClient, action: str
) -> None:
    with pytest.raises(ValueError, match="unknown sender action"):
        client.send_action(PSID, action)
    assert len(rsps.calls) == 0


def test_one_session_carries_every_call(
    rsps: responses.RequestsMock, client: GraphClient, session: RecordingSession
) -> None:
    session.headers["X-Probe"] = "from-the-injected-session"
    rsps.post(
        URL,
        json={"recipient_id": PSID, "message_id": "m_1"},
        match=[matchers.header_matcher({"X-Probe": "from-the-injected-session"})],
    )
    client.send_action(PSID, "mark_seen")
    client.send_action(PSID, "typing_on")
    assert client.send_message(PSID, MESSAGE) == "m_1"
    assert len(session.sent) == 3
    assert [json.loads(r.body or b"{}").get("sender_action") for r in session.sent] == [
        "mark_seen",
        "typing_on",
        None,
    ]


def test_the_proof_follows_the_clock(
    rsps: responses.RequestsMock, session: RecordingSession
) -> None:
    ticks = iter([NOW, NOW + 60])
    client = GraphClient(
        base_url=GRAPH,
        version="v25.0",
        page_token=TEST_TOKEN,
        app_secret=TEST_SECRET,
        timeout=5,
        session=session,
        clock=lambda: next(ticks),
    )
    for now in (NOW, NOW + 60):
        rsps.post(
            URL,
            json={"message_id": f"m_{now}"},
            match=[
                matchers.query_param_matcher(
                    {
                        "appsecret_proof": proof_of(TEST_SECRET, TEST_TOKEN, now),
                        "appsecret_time": str(now),
                    }
                )
            ],
        )
    assert client.send_message(PSID, MESSAGE) == f"m_{NOW}"
    assert client.send_message(PSID, MESSAGE) == f"m_{NOW + 60}"


# --- errors -------------------------------------------------------------------------------


ERRORS = [
    pytest.param(
        400,
        graph_error(
            190,
            "Error validating access token: Session has expired on Tuesday, 18-Nov-25 "
            "10:00:00 PST. The current time is Tuesday, 18-Nov-25 10:05:00 PST.",
            subcode=463,
            trace="A1b2C3d4E5f",
        ),
        (190, 463, "A1b2C3d4E5f"),
        id="190-expired-token",
    ),
    pytest.param(
        400,
        graph_error(190, "Invalid OAuth access token - Cannot parse access token"),
        (190, None, "AzQ1b2Trace"),
        id="190-invalid-token",
    ),
    pytest.param(
        400,
        graph_error(613, "(#613) Calls to this api have exceeded the rate limit."),
        (613, None, "AzQ1b2Trace"),
        id="613-rate-limit",
    ),
    pytest.param(
        400,
        graph_error(100, "(#100) No matching user found", subcode=2018001),
        (100, 2018001, "AzQ1b2Trace"),
        id="100-2018001-no-matching-user",
    ),
    pytest.param(
        400,
        graph_error(
            10,
            "(#10) This message is sent outside of allowed window. Learn more about the new "
            "policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
            subcode=2018278,
        ),
        (10, 2018278, "AzQ1b2Trace"),
        id="10-2018278-outside-window",
    ),
    pytest.param(
        400,
        graph_error(551, "(#551) This person isn't available right now.", subcode=1545041),
        (551, 1545041, "AzQ1b2Trace"),
        id="551-1545041-person-unavailable",
    ),
    pytest.param(
        500,
        graph_error(2, "An unexpected error has occurred. Please retry your request later."),
        (2, None, "AzQ1b2Trace"),
        id="2-service-temporarily-down",
    ),
]


@pytest.mark.parametrize(("status", "body", "expected"), ERRORS)
def test_graph_error_bodies_become_graph_errors(
    rsps: responses.RequestsMock,
    client: GraphClient,
    status: int,
    body: dict[str, Any],
    expected: tuple[int, int | None, str],
) -> None:
    rsps.post(URL, json=body, status=status)
    with pytest.raises(GraphError) as caught:
        client.send_message(PSID, MESSAGE)
    error = caught.value
    assert (error.status, error.code, error.subcode, error.fbtrace_id) == (status, *expected)
    assert error.message == body["error"]["message"]
    assert f"code={expected[0]}" in str(error)
    assert TEST_TOKEN not in str(error)
    assert TEST_TOKEN not in repr(error)


def test_codes_sent_as_strings_are_read_as_numbers(
    rsps: responses.RequestsMock, client: GraphClient
) -> None:
    rsps.post(
        URL,
        json={"error": {"message": "(#100) x", "code": "100", "error_subcode": "2018001"}},
        status=400,
    )
    with pytest.raises(GraphError) as caught:
        client.send_message(PSID, MESSAGE)
    assert (caught.value.code, caught.value.subcode, caught.value.fbtrace_id) == (
        100,
        2018001,
        None,
    )


def test_a_500_with_an_html_body(rsps: responses.RequestsMock, client: GraphClient) -> None:
    rsps.post(
        URL,
        body="<html><head><title>Error</title></head><body>Sorry, something went wrong.</body>"
        "</html>",
        status=500,
        content_type="text/html; charset=utf-8",
    )
    with pytest.raises(GraphError) as caught:
        client.send_message(PSID, MESSAGE)
    error = caught.value
    assert (error.status, error.code, error.subcode, error.fbtrace_id) == (500, None, None, None)
    assert "500" in error.message


def test_a_json_error_without_an_error_object(
    rsps: responses.RequestsMock, client: GraphClient
) -> None:
    rsps.post(URL, json={"unexpected": True}, status=502)
    with pytest.raises(GraphError) as caught:
        client.send_action(PSID, "typing_on")
    assert (caught.value.status, caught.value.code) == (502, None)


@pytest.mark.parametrize(
    ("raised", "word"),
    [
        (requests.ConnectionError("Connection refused"), "connection failed"),
        (requests.ConnectTimeout("connect timed out"), "timed out"),
        (requests.ReadTimeout("read timed out"), "timed out"),
        (requests.Timeout("timed out"), "timed out"),
    ],
    ids=["connection-error", "connect-timeout", "read-timeout", "timeout"],
)
def test_no_response_becomes_a_graph_error_without_a_status(
    rsps: responses.RequestsMock, client: GraphClient, raised: Exception, word: str
) -> None:
    rsps.post(URL, body=raised)
    with pytest.raises(GraphError) as caught:
        client.send_message(PSID, MESSAGE)
    error = caught.value
    assert (error.status, error.code, error.subcode, error.fbtrace_id) == (None, None, None, None)
    assert word in error.message
    assert error.__cause__ is raised
    assert TEST_TOKEN not in str(error)


def test_the_token_never_reaches_the_logs(
    rsps: responses.RequestsMock, client: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.post(URL, json={"message_id": "m_1"})
    rsps.post(URL, json=graph_error(190, "Invalid OAuth access token"), status=401)
    rsps.post(URL, body=requests.ConnectionError("refused"))
    client.send_message(PSID, MESSAGE)
    for _ in range(2):
        with pytest.raises(GraphError):
            client.send_message(PSID, MESSAGE)
    text = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert any(record.name == "bridge.messenger.graph" for record in caplog.records)
    assert TEST_TOKEN not in text
    assert TEST_SECRET not in text


def test_pass_thread_control_posts_recipient_target_app_and_metadata(
    rsps: responses.RequestsMock, client: GraphClient
) -> None:
    rsps.post(
        f"{GRAPH}/v25.0/me/pass_thread_control",
        json={"success": True},
        match=[
            matchers.query_param_matcher(
                {"appsecret_proof": KNOWN_PROOF, "appsecret_time": str(NOW)}
            ),
            matchers.header_matcher({"Authorization": f"Bearer {TEST_TOKEN}"}),
            matchers.json_params_matcher(
                {
                    "recipient": {"id": PSID},
                    "target_app_id": 263902037430900,
                    "metadata": "asked for a nurse",
                },
                strict_match=True,
            ),
        ],
    )
    client.pass_thread_control(PSID, "263902037430900", "asked for a nurse")


def test_pass_thread_control_without_metadata_sends_none(
    rsps: responses.RequestsMock, client: GraphClient
) -> None:
    rsps.post(
        f"{GRAPH}/v25.0/me/pass_thread_control",
        status=400,
        json={"error": {"message": "(#10) x", "code": 10, "error_subcode": 2018300}},
        match=[
            matchers.json_params_matcher(
                {"recipient": {"id": PSID}, "target_app_id": 263902037430900}, strict_match=True
            )
        ],
    )
    with pytest.raises(GraphError) as caught:
        client.pass_thread_control(PSID, "263902037430900")
    assert (caught.value.code, caught.value.subcode) == (10, 2018300)
