"""The lean Lex V2 client (bridge.bots.lexv2http) against a real HTTP server on 127.0.0.1: the
signed request, the decoded answer (the same dict as botocore's client), each failure as the
botocore exception the classifier reads, and the endpoint botocore would pick. No network
beyond 127.0.0.1, no sleeps."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from bridge import __version__
from bridge.bots.lexclient import call_lex
from bridge.bots.lexv2 import make_botocore_lexv2_client, make_lexv2_client
from bridge.bots.lexv2http import LexV2RuntimeClient
from bridge.config.graph import GraphSettings
from bridge.config.lex import LexSettings
from bridge.config.settings import Settings
from bridge.errors import BotError, BotErrorKind, ConfigError
from tests.support.servers import free_port, http_server

BOT_ID = "ABCDE12345"
ALIAS_ID = "TSTALIASID"
SESSION = "2900000000000001"
ANSWER: dict[str, Any] = {
    "messages": [
        {"contentType": "PlainText", "content": "Which symptom?"},
        {
            "contentType": "ImageResponseCard",
            "imageResponseCard": {
                "title": "Symptoms",
                "buttons": [{"text": "Fever", "value": "f"}],
            },
        },
    ],
    "sessionState": {
        "dialogAction": {"type": "ElicitSlot", "slotToElicit": "Symptom"},
        "intent": {"name": "CheckSymptoms", "slots": {}, "state": "InProgress"},
        "sessionAttributes": {"visits": "2"},
    },
    "interpretations": [{"intent": {"name": "CheckSymptoms"}, "nluConfidence": {"score": 0.93}}],
    "requestAttributes": {"x-amz-lex:channels:platform": "Facebook"},
    "sessionId": SESSION,
}
CALL: dict[str, Any] = {
    "botId": BOT_ID,
    "botAliasId": ALIAS_ID,
    "localeId": "en_US",
    "sessionId": SESSION,
    "text": "I have a fever",
    "requestAttributes": {"x-amz-lex:channels:platform": "Facebook"},
}


pytestmark = pytest.mark.usefixtures("clean_aws_env")


@dataclass
class FakeLex:
    """What the loopback server does (``answer``, ``hang`` or ``drop``) and what it received."""

    url: str = ""
    mode: str = "answer"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def handler_for(state: FakeLex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append((self.path, dict(self.headers), body))
            if state.mode == "hang":
                state.release.wait(10)
            if state.mode != "answer":
                self.close_connection = True
                return
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(state.body)

        def date_time_string(self, timestamp: float | None = None) -> str:
            return "Thu, 01 Jan 2026 00:00:00 GMT"  # both clients see the same headers

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_lex() -> Iterator[FakeLex]:
    state = FakeLex(headers={"x-amzn-RequestId": "req-1"}, body=json.dumps(ANSWER).encode())
    with http_server(handler_for(state)) as url:
        state.url = url
        try:
            yield state
        finally:
            state.release.set()


def settings(endpoint_url: str | None = None, **lex: Any) -> Settings:
    values: dict[str, Any] = {"bot_id": BOT_ID, "alias_id": ALIAS_ID, "locale_id": "en_US"}
    if endpoint_url:
        values |= {"backend": "local", "endpoint_url": endpoint_url}
    return Settings(
        graph=GraphSettings(app_secret="s", verify_token="v", page_access_token="t"),
        lex=LexSettings(**(values | lex)),
    )


def aws_client(
    monkeypatch: pytest.MonkeyPatch, fake: FakeLex, make: Any = make_lexv2_client
) -> Any:
    """A client as in production: Region, credentials and endpoint from the AWS variables."""
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LEX_RUNTIME_V2", fake.url + "/lex")
    return make(settings(region="eu-west-1"))


def expected_signature(fake: FakeLex, path: str, headers: dict[str, str], body: bytes) -> str:
    """The SigV4 signature botocore computes for what the server received."""
    request = AWSRequest(
        method="POST",
        url=fake.url + path,
        data=body,
        headers={
            name: headers[name]
            for name in ("Content-Type", "X-Amz-Date", "X-Amz-Security-Token")
            if name in headers
        },
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    auth = SigV4Auth(Credentials("AKIDEXAMPLE", "secret", "token"), "lex", "eu-west-1")
    return str(
        auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    )


# --- the request and the answer --------------------------------------------------------------


def test_the_request_is_botocores_and_signed_for_lex(
    monkeypatch: pytest.MonkeyPatch, fake_lex: FakeLex
) -> None:
    client = aws_client(monkeypatch, fake_lex)
    client.recognize_text(**(CALL | {"sessionId": "a/b c:é", "sessionState": {"x": {}}}))
    [(path, headers, body)] = fake_lex.requests
    assert path == (
        f"/lex/bots/{BOT_ID}/botAliases/{ALIAS_ID}/botLocales/en_US/sessions/a%2Fb%20c%3A%C3%A9/text"
    )
    assert json.loads(body) == {
        "text": "I have a fever",
        "sessionState": {"x": {}},
        "requestAttributes": {"x-amz-lex:channels:platform": "Facebook"},
    }
    assert headers["Content-Type"] == "application/json"
    assert f"messenger-lex-bridge/{__version__}" in headers["User-Agent"]
    assert headers["X-Amz-Security-Token"] == "token"
    date = headers["X-Amz-Date"]
    assert headers["Authorization"] == (
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{date[:8]}/eu-west-1/lex/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
        f"Signature={expected_signature(fake_lex, path, headers, body)}"
    )
    client.close()


def test_the_answer_is_the_dict_botocore_returns(
    monkeypatch: pytest.MonkeyPatch, fake_lex: FakeLex
) -> None:
    lean = aws_client(monkeypatch, fake_lex)
    botocore_client = aws_client(monkeypatch, fake_lex, make_botocore_lexv2_client)
    answer = lean.recognize_text(**CALL)
    assert answer == botocore_client.recognize_text(**CALL)
    assert answer["ResponseMetadata"]["RequestId"] == "req-1"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert {key: answer[key] for key in ANSWER} == ANSWER
    [(_, lean_headers, lean_body), (_, boto_headers, boto_body)] = fake_lex.requests
    assert lean_body == boto_body
    assert lean_headers["Host"] == boto_headers["Host"]
    lean.close()
    botocore_client.close()


def test_credentials_are_frozen_for_each_call(fake_lex: FakeLex) -> None:
    class Rotating:
        keys = iter(["KEY1", "KEY2"])

        def get_frozen_credentials(self) -> Credentials:
            return Credentials(next(self.keys), "secret").get_frozen_credentials()

    client = make_lexv2_client(settings(fake_lex.url))
    lean = LexV2RuntimeClient(
        endpoint_url=fake_lex.url,
        region="eu-west-1",
        credentials=Rotating(),
        user_agent="test",
        http_options=client.http_options,
    )
    lean.recognize_text(**CALL)
    lean.recognize_text(**CALL)
    assert [h["Authorization"].split("/")[0] for _, h, _ in fake_lex.requests] == [
        "AWS4-HMAC-SHA256 Credential=KEY1",
        "AWS4-HMAC-SHA256 Credential=KEY2",
    ]
    lean.close()
    client.close()


def test_calls_from_many_threads_share_one_client(fake_lex: FakeLex) -> None:
    client = make_lexv2_client(settings(fake_lex.url))
    answers: list[dict[str, Any]] = []

    def turn() -> None:
        answers.append(client.recognize_text(**CALL))

    threads = [threading.Thread(target=turn) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(answers) == 16 and all(a["sessionId"] == SESSION for a in answers)
    client.close()


def test_a_forked_process_makes_its_own_connections(fake_lex: FakeLex) -> None:
    client = make_lexv2_client(settings(fake_lex.url))
    client.recognize_text(**CALL)
    pool = client._http
    client._pid = -1  # as seen from a child process after fork
    client.recognize_text(**CALL)
    assert client._http is not pool and client._pid == os.getpid()
    client.close()
    pool.close()


# --- failures ---------------------------------------------------------------------------------


def failed_call(client: Any) -> BotError:
    with pytest.raises(BotError) as caught:
        call_lex("RecognizeText", lambda: client.recognize_text(**CALL))
    return caught.value


THROTTLED = {"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/"}
FAILED = {"x-amzn-ErrorType": "InternalServerException"}
NOT_FOUND = b'{"__type": "com.amazon#ResourceNotFoundException", "message": "no bot"}'
INVALID = b'{"code": "ValidationException", "message": "m"}'
HTML = b"<html><body>Bad Gateway</body></html>"


@pytest.mark.parametrize(
    ("status", "headers", "body", "code", "kind"),
    [
        (429, THROTTLED, b'{"message": "Rate exceeded"}', "ThrottlingException", "retry"),
        (500, FAILED, b"{}", "InternalServerException", "fallback"),
        (404, {}, NOT_FOUND, "ResourceNotFoundException", "config"),
        (400, {}, INVALID, "ValidationException", "config"),
        (502, {}, HTML, "502", "fallback"),
        (403, {}, b"not json", "403", "config"),
    ],
)
def test_http_errors_are_botocores_client_errors(
    monkeypatch: pytest.MonkeyPatch,
    fake_lex: FakeLex,
    status: int,
    headers: dict[str, str],
    body: bytes,
    code: str,
    kind: str,
) -> None:
    fake_lex.status, fake_lex.body = status, body
    fake_lex.headers |= headers
    lean = aws_client(monkeypatch, fake_lex)
    botocore_client = aws_client(monkeypatch, fake_lex, make_botocore_lexv2_client)
    with pytest.raises(ClientError) as lean_error:
        lean.recognize_text(**CALL)
    with pytest.raises(ClientError) as botocore_error:
        botocore_client.recognize_text(**CALL)
    assert lean_error.value.response == botocore_error.value.response
    assert lean_error.value.operation_name == "RecognizeText"
    assert lean_error.value.response["Error"]["Code"] == code
    error = failed_call(lean)
    assert error.kind is BotErrorKind(kind)
    # botocore reads no request id from a page that is not Lex's (a proxy's HTML).
    request_id = "" if body == HTML else ", request id req-1"
    assert f"{code} (HTTP {status}{request_id})" in error.reason
    lean.close()
    botocore_client.close()


def test_a_read_timeout_is_a_fallback_and_names_no_session(fake_lex: FakeLex) -> None:
    fake_lex.mode = "hang"
    client = make_lexv2_client(settings(fake_lex.url, read_timeout=0.3))
    with pytest.raises(ReadTimeoutError) as caught:
        client.recognize_text(**CALL)
    assert SESSION not in str(caught.value) and fake_lex.url in str(caught.value)
    assert caught.value.__suppress_context__
    assert failed_call(client).kind is BotErrorKind.FALLBACK
    client.close()


def test_a_dropped_connection_is_retried(fake_lex: FakeLex) -> None:
    fake_lex.mode = "drop"
    client = make_lexv2_client(settings(fake_lex.url))
    with pytest.raises(ConnectionClosedError) as caught:
        client.recognize_text(**CALL)
    assert SESSION not in str(caught.value)
    assert failed_call(client).kind is BotErrorKind.RETRY
    client.close()


def test_a_refused_connection_is_retried() -> None:
    client = make_lexv2_client(settings(f"http://127.0.0.1:{free_port()}/lex"))
    with pytest.raises(EndpointConnectionError) as caught:
        client.recognize_text(**CALL)
    assert SESSION not in str(caught.value)
    assert failed_call(client).kind is BotErrorKind.RETRY
    client.close()


def test_missing_credentials_raise_botocores_error_before_any_request(
    monkeypatch: pytest.MonkeyPatch, fake_lex: FakeLex
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LEX_RUNTIME_V2", fake_lex.url)
    client = make_lexv2_client(settings(region="eu-west-1"))
    with pytest.raises(NoCredentialsError):
        client.recognize_text(**CALL)
    assert failed_call(client).kind is BotErrorKind.CONFIG
    assert fake_lex.requests == []


def test_a_missing_region_is_the_same_config_error() -> None:
    with pytest.raises(ConfigError) as lean:
        make_lexv2_client(settings())
    with pytest.raises(ConfigError) as botocore_error:
        make_botocore_lexv2_client(settings())
    assert lean.value.problems == botocore_error.value.problems


def test_timeouts_pool_and_user_agent() -> None:
    client = make_lexv2_client(settings("http://127.0.0.1:9/lex/", read_timeout=45.0))
    assert client.endpoint_url == "http://127.0.0.1:9/lex"
    assert client.http_options["timeout"] == (5, 45.0)
    assert client.http_options["max_pool_connections"] == 10
    assert client.user_agent.startswith(f"messenger-lex-bridge/{__version__} ")
