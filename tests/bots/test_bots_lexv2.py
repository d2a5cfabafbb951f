"""Lex V2 backend: the RecognizeText contract (Stubber and a loopback server), error mapping,
input cutting, response mapping and client construction. No network beyond 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from bridge import __version__
from bridge.bots import make_bot
from bridge.bots.lexclient import to_bot_error
from bridge.bots.lexrequest import truncate_utf16
from bridge.bots.lexv2 import (
    LexV2Bot,
    make_botocore_lexv2_client,
    make_lexv2_client,
    replies_from_recognize_text,
)
from bridge.config.conversation import ConversationSettings
from bridge.config.graph import GraphSettings
from bridge.config.lex import LexSettings
from bridge.config.settings import Settings
from bridge.errors import BotError, BotErrorKind, ConfigError
from bridge.messenger.events import (
    Attachment,
    Event,
    Media,
    Postback,
    QuickReply,
    Referral,
    ReferralData,
    ReplyTo,
    TextMessage,
)
from bridge.messenger.replies import Button, Card, Custom, Ssml, Text
from tests.support.ids import PSID
from tests.support.servers import http_server

BOT_ID = "ABCDE12345"
ALIAS_ID = "TSTALIASID"
LOCALE_ID = "en_US"
PAGE_ID = "100000000000001"
PLATFORM = {"x-amz-lex:channels:platform": "Facebook"}

# Shaped like a real RecognizeText answer (a Lambda eliciting a slot with a card).
RECORDED_RESPONSE: dict[str, Any] = {
    "messages": [
        {"contentType": "PlainText", "content": "Which symptom bothers you most?"},
        {
            "contentType": "ImageResponseCard",
            "imageResponseCard": {
                "title": "Symptoms",
                "subtitle": "Tap one",
                "imageUrl": "https://example.com/symptoms.png",
                "buttons": [
                    {"text": "Fever", "value": "fever"},
                    {"text": "Cough", "value": "cough"},
                ],
            },
        },
    ],
    "sessionState": {
        "dialogAction": {"type": "ElicitSlot", "slotToElicit": "Symptom"},
        "intent": {
            "name": "CheckSymptoms",
            "slots": {},
            "state": "InProgress",
            "confirmationState": "None",
        },
        "sessionAttributes": {"visits": "2"},
        "originatingRequestId": "0f6e2a3c-1111-2222-3333-444455556666",
    },
    "interpretations": [
        {
            "intent": {
                "name": "CheckSymptoms",
                "slots": {},
                "state": "InProgress",
                "confirmationState": "None",
            },
            "nluConfidence": {"score": 0.93},
            "interpretationSource": "Lex",
        },
        {"intent": {"name": "FallbackIntent", "slots": {}, "state": "InProgress"}},
    ],
    "sessionId": PSID,
    "requestAttributes": PLATFORM,
}


pytestmark = pytest.mark.usefixtures("clean_aws_env")


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "graph": GraphSettings(app_secret="s", verify_token="v", page_access_token="t"),
        "lex": LexSettings(bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID),
    }
    return Settings(**(values | overrides))


def text_event(text: str, sender_id: str = PSID) -> TextMessage:
    return TextMessage(PAGE_ID, sender_id, 1700000000000, "m_1", text)


def stubbed_bot() -> tuple[LexV2Bot, Stubber]:
    client = boto3.session.Session().client(
        "lexv2-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    bot = LexV2Bot(client, bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID)
    return bot, Stubber(client)


def expected_params(text: str, session_id: str = PSID) -> dict[str, Any]:
    return {
        "botId": BOT_ID,
        "botAliasId": ALIAS_ID,
        "localeId": LOCALE_ID,
        "sessionId": session_id,
        "text": text,
        "requestAttributes": PLATFORM,
    }


class RecordingClient:
    """A fake lexv2-runtime client: records calls, answers or raises as told."""

    def __init__(self, answer: dict[str, Any] | Exception | None = None) -> None:
        self.answer = answer if answer is not None else {"messages": []}
        self.calls: list[dict[str, Any]] = []

    def recognize_text(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


# --- the request ---------------------------------------------------------------------------


def test_one_recognize_text_call_with_psid_platform_and_no_session_state() -> None:
    bot, stubber = stubbed_bot()
    stubber.add_response("recognize_text", RECORDED_RESPONSE, expected_params("hi there"))
    with stubber:
        replies = bot.respond(text_event("hi there"))
    stubber.assert_no_pending_responses()
    assert replies == [
        Text("Which symptom bothers you most?"),
        Card(
            "Symptoms",
            "Tap one",
            "https://example.com/symptoms.png",
            (Button("Fever", "fever"), Button("Cough", "cough")),
        ),
    ]


@pytest.mark.parametrize(
    ("event", "sent"),
    [
        (QuickReply(PAGE_ID, PSID, 1, "m_2", "Fever", "fever"), "fever"),
        (Postback(PAGE_ID, PSID, 1, "m_3", "Get Started", "GET_STARTED"), "GET_STARTED"),
        (Postback(PAGE_ID, PSID, 1, None, "Menu title", ""), "Menu title"),
    ],
)
def test_taps_send_the_payload_like_lexs_own_channel(event: Event, sent: str) -> None:
    bot, stubber = stubbed_bot()
    stubber.add_response("recognize_text", {"messages": []}, expected_params(sent))
    with stubber:
        assert bot.respond(event) == []
    stubber.assert_no_pending_responses()


def test_long_input_is_cut_at_1024_utf16_units_without_splitting_an_emoji() -> None:
    # 1023 units of text, then a 4-unit emoji (thumbs up + skin tone): it would straddle 1024.
    bot, stubber = stubbed_bot()
    stubber.add_response("recognize_text", {}, expected_params("a" * 1023))
    with stubber:
        bot.respond(text_event("a" * 1023 + "\U0001f44d\U0001f3fd and more"))
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a" * 1024, 1024, "a" * 1024),  # exactly at the limit: untouched
        ("a" * 1022 + "😀", 1024, "a" * 1022 + "😀"),  # emoji counts 2 and fits
        ("a" * 1023 + "😀", 1024, "a" * 1023),  # emoji would need units 1024-1025
        ("ab" + "👨\u200d👩\u200d👧", 6, "ab"),  # ZWJ family (8 units) stays whole
        ("🇰🇷🇯🇵", 6, "🇰🇷"),  # flags are pairs of regional indicators
        ("e\u0301e\u0301", 3, "e\u0301"),  # combining accent stays with its letter
        ("x" + "\u0301" * 2000, 1024, "x" + "\u0301" * 1023),  # one giant grapheme
    ],
)
def test_truncate_utf16(text: str, limit: int, expected: str) -> None:
    cut = truncate_utf16(text, limit)
    assert cut == expected
    assert len(cut.encode("utf-16-le")) // 2 <= limit


@pytest.mark.parametrize(
    "event",
    [
        text_event("   \n\t"),
        Postback(PAGE_ID, PSID, 1, "m_4", "", ""),
        QuickReply(PAGE_ID, PSID, 1, "m_5", "Title", " "),
    ],
)
def test_blank_input_never_reaches_lex(event: Event) -> None:
    client = RecordingClient()
    bot = LexV2Bot(client, bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID)
    with pytest.raises(BotError) as caught:
        bot.respond(event)
    assert caught.value.kind is BotErrorKind.FALLBACK
    assert "empty input" in caught.value.reason
    assert client.calls == []


@pytest.mark.parametrize("sender_id", ["7", "12 34", "a/b", "x" * 101, "ü1234"])
def test_sender_id_that_is_not_a_valid_session_id_gets_the_fallback(sender_id: str) -> None:
    client = RecordingClient()
    bot = LexV2Bot(client, bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID)
    with pytest.raises(BotError) as caught:
        bot.respond(text_event("hello", sender_id=sender_id))
    assert caught.value.kind is BotErrorKind.FALLBACK  # odd input, not configuration
    assert client.calls == []


def test_session_id_with_every_allowed_character_is_sent() -> None:
    bot, stubber = stubbed_bot()
    session_id = "100000000000001.6789:a-b_C"
    stubber.add_response("recognize_text", {}, expected_params("hi", session_id))
    with stubber:
        bot.respond(text_event("hi", sender_id=session_id))
    stubber.assert_no_pending_responses()


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 429, BotErrorKind.RETRY),
        ("ConflictException", 409, BotErrorKind.RETRY),
        ("InternalServerException", 500, BotErrorKind.FALLBACK),
        ("BadGatewayException", 502, BotErrorKind.FALLBACK),
        ("DependencyFailedException", 424, BotErrorKind.FALLBACK),
        ("ServiceUnavailable", 503, BotErrorKind.FALLBACK),
        ("AccessDeniedException", 403, BotErrorKind.CONFIG),
        ("ResourceNotFoundException", 404, BotErrorKind.CONFIG),
        ("ValidationException", 400, BotErrorKind.CONFIG),
        ("UnrecognizedClientException", 403, BotErrorKind.CONFIG),
        ("SomeNewThrottle", 429, BotErrorKind.RETRY),
    ],
)
def test_client_errors_map_to_a_decision(code: str, status: int, kind: BotErrorKind) -> None:
    secret_text = "my card number is 4111"
    bot, stubber = stubbed_bot()
    stubber.add_client_error(
        "recognize_text",
        service_error_code=code,
        service_message=f"Value '{secret_text}' at 'text' failed",
        http_status_code=status,
        expected_params=expected_params(secret_text),
    )
    with stubber, pytest.raises(BotError) as caught:
        bot.respond(text_event(secret_text))
    error = caught.value
    assert error.kind is kind
    assert code in error.reason and str(status) in error.reason
    assert secret_text not in str(error) and PSID not in str(error)
    assert error.__cause__ is None and error.__suppress_context__


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (EndpointConnectionError(endpoint_url=f"https://lex/sessions/{PSID}/text"), "RETRY"),
        (ConnectTimeoutError(endpoint_url=f"https://lex/sessions/{PSID}/text"), "RETRY"),
        (ConnectionClosedError(endpoint_url=f"https://lex/sessions/{PSID}/text"), "RETRY"),
        (ReadTimeoutError(endpoint_url=f"https://lex/sessions/{PSID}/text"), "FALLBACK"),
        (NoCredentialsError(), "CONFIG"),
    ],
)
def test_transport_errors_map_to_a_decision(exc: Exception, kind: str) -> None:
    client = RecordingClient(exc)
    bot = LexV2Bot(client, bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID)
    with pytest.raises(BotError) as caught:
        bot.respond(text_event("secret words"))
    assert caught.value.kind is BotErrorKind[kind]
    assert type(exc).__name__ in caught.value.reason
    assert PSID not in str(caught.value) and "secret words" not in str(caught.value)
    assert len(client.calls) == 1


def test_to_bot_error_without_status_does_not_repeat_the_turn() -> None:
    error = to_bot_error(ClientError({"Error": {"Code": "Mystery"}}, "RecognizeText"))
    assert error.kind is BotErrorKind.FALLBACK
    assert "Mystery" in error.reason


def test_unexpected_exceptions_are_not_swallowed() -> None:
    bot = LexV2Bot(
        RecordingClient(KeyError("bug")), bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID
    )
    with pytest.raises(KeyError):
        bot.respond(text_event("hi"))


# --- the response --------------------------------------------------------------------------


def test_every_content_type_maps_to_a_reply() -> None:
    response = {
        "messages": [
            {"contentType": "PlainText", "content": "Hello!"},
            {"contentType": "SSML", "content": "<speak>Hi <break time='1s'/> there</speak>"},
            {"contentType": "CustomPayload", "content": '{"text": "raw", "quick_replies": []}'},
            {
                "contentType": "ImageResponseCard",
                "imageResponseCard": {
                    "title": "Book?",
                    "subtitle": "Pick a day",
                    "imageUrl": "https://example.com/c.png",
                    "buttons": [{"text": "Today", "value": "today"}],
                },
            },
        ],
        "sessionState": {"dialogAction": {"type": "ElicitIntent"}},
        "sessionId": PSID,
    }
    assert replies_from_recognize_text(response) == [
        Text("Hello!"),
        Ssml("<speak>Hi <break time='1s'/> there</speak>"),
        Custom('{"text": "raw", "quick_replies": []}'),
        Card("Book?", "Pick a day", "https://example.com/c.png", (Button("Today", "today"),)),
    ]


def test_ten_messages_are_kept_in_order() -> None:
    messages: list[dict[str, Any]] = []
    expected: list[object] = []
    for n in range(10):
        if n % 3 == 2:
            messages.append(
                {"contentType": "ImageResponseCard", "imageResponseCard": {"title": f"card {n}"}}
            )
            expected.append(Card(f"card {n}"))
        else:
            messages.append({"contentType": "PlainText", "content": f"line {n}"})
            expected.append(Text(f"line {n}"))
    assert replies_from_recognize_text({"messages": messages}) == expected


def test_card_without_optional_fields() -> None:
    response = {
        "messages": [
            {
                "contentType": "ImageResponseCard",
                "content": "ignored text some Lambdas add",
                "imageResponseCard": {"title": "Just a title"},
            },
            {
                "contentType": "ImageResponseCard",
                "imageResponseCard": {
                    "title": "Blank extras",
                    "subtitle": "",
                    "imageUrl": None,
                    "buttons": [],
                },
            },
        ]
    }
    assert replies_from_recognize_text(response) == [
        Card("Just a title", None, None, ()),
        Card("Blank extras", None, None, ()),
    ]


@pytest.mark.parametrize(
    "response",
    [
        {},
        {"messages": None},
        {"messages": []},
        {"sessionState": {"dialogAction": {"type": "Close"}}, "sessionId": PSID},
    ],
)
def test_no_messages_means_no_replies(response: dict[str, Any]) -> None:
    assert replies_from_recognize_text(response) == []


def test_messages_that_cannot_be_shown_are_left_out_beside_ones_that_can() -> None:
    # What each odd message becomes on its own: tests/bots/test_bots_odd_answers.py.
    response = {
        "messages": [
            "not a dict",
            {"content": '{"no": "content type"}'},
            {"contentType": "Markdown", "content": '["a future type"]'},
            {"contentType": "PlainText", "content": ""},
            {"contentType": "PlainText", "content": "   "},
            {"contentType": "PlainText"},
            {"contentType": "SSML", "content": None},
            {"contentType": "ImageResponseCard"},
            {"contentType": "ImageResponseCard", "imageResponseCard": {"subtitle": ""}},
            {"contentType": "ImageResponseCard", "imageResponseCard": {"title": ""}},
            {"contentType": "PlainText", "content": "kept"},
            {
                "contentType": "ImageResponseCard",
                "imageResponseCard": {
                    "title": "Partial buttons",
                    "buttons": [
                        {"text": "No value"},
                        {"value": "no-text"},
                        "junk",
                        {"text": "Ok", "value": "ok"},
                    ],
                },
            },
        ]
    }
    assert replies_from_recognize_text(response) == [
        Text("kept"),
        Card("Partial buttons", buttons=(Button("Ok", "ok"),)),
    ]


# --- the client ----------------------------------------------------------------------------


def test_botocore_client_has_retries_off_and_a_read_timeout_above_lexs_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    client = make_botocore_lexv2_client(
        settings(
            lex=LexSettings(
                bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID, read_timeout=45.0
            )
        )
    )
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.read_timeout == 45.0
    assert config.connect_timeout == 5
    assert config.user_agent_extra == f"messenger-lex-bridge/{__version__}"
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "https://runtime-v2-lex.eu-west-1.amazonaws.com"


def test_aws_region_is_honoured_although_botocore_ignores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    # Settings.from_env reads AWS_REGION into aws_region; it wins over AWS_DEFAULT_REGION.
    client = make_lexv2_client(
        settings(
            lex=LexSettings(
                bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID, region="ap-southeast-2"
            )
        )
    )
    assert client.region_name == "ap-southeast-2"
    assert client.endpoint_url == "https://runtime-v2-lex.ap-southeast-2.amazonaws.com"


def test_missing_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        make_lexv2_client(settings())
    assert caught.value.problems == [
        "AWS_REGION is missing: set it to the Region of your Lex bot, e.g. us-east-1"
    ]


def test_endpoint_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LEX_RUNTIME_V2", "http://127.0.0.1:4599")
    assert make_lexv2_client(settings()).endpoint_url == "http://127.0.0.1:4599"
    assert make_botocore_lexv2_client(settings()).meta.endpoint_url == "http://127.0.0.1:4599"


def test_local_endpoint_needs_no_aws_account() -> None:
    client = make_lexv2_client(
        settings(
            lex=LexSettings(
                bot_id=BOT_ID,
                alias_id=ALIAS_ID,
                locale_id=LOCALE_ID,
                backend="local",
                endpoint_url="http://127.0.0.1:9/lex",
            )
        )
    )
    assert client.endpoint_url == "http://127.0.0.1:9/lex"
    assert client.region_name == "us-east-1"
    assert client._credentials.get_frozen_credentials()[:2] == ("local", "local")


def test_make_bot_uses_the_given_client() -> None:
    client = RecordingClient({"messages": [{"contentType": "PlainText", "content": "hey"}]})
    bot = make_bot(settings(), lex_client=client)
    assert bot.respond(text_event("hi")) == [Text("hey")]
    assert client.calls == [expected_params("hi")]


def test_make_bot_builds_a_lex_client_for_local_mode() -> None:
    bot = make_bot(
        settings(
            lex=LexSettings(
                bot_id=BOT_ID,
                alias_id=ALIAS_ID,
                locale_id=LOCALE_ID,
                backend="local",
                endpoint_url="http://127.0.0.1:9/lex",
            )
        )
    )
    assert isinstance(bot, LexV2Bot)


def test_make_bot_rejects_an_unknown_backend() -> None:
    with pytest.raises(ConfigError):
        make_bot(
            settings(
                lex=LexSettings(
                    bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID, backend="lexv3"
                )
            ),
            lex_client=RecordingClient(),
        )


# --- events without text, attributes --------------------------------------------------------

IMAGE_URL = "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_cat=101"


def image_event(**extra: Any) -> Attachment:
    return Attachment(PAGE_ID, PSID, 1700000000000, "m_img", (Media("image", IMAGE_URL),), **extra)


def test_an_image_goes_to_lex_as_its_kind_with_the_attachment_in_attributes() -> None:
    bot, stubber = stubbed_bot()
    params = expected_params("image")
    params["requestAttributes"] = PLATFORM | {
        "x-bridge:no-text": '"image"',
        "x-bridge:attachments": json.dumps(
            [{"type": "image", "url": IMAGE_URL}], separators=(",", ":")
        ),
    }
    stubber.add_response("recognize_text", {"messages": []}, params)
    with stubber:
        bot.respond(image_event())
    stubber.assert_no_pending_responses()


def test_the_text_for_a_kind_comes_from_the_inputs_setting() -> None:
    client = RecordingClient()
    bot = make_bot(
        settings(
            conversation=ConversationSettings(
                no_text_inputs=(("image", "I sent you a photo"), ("like", "yes"))
            )
        ),
        lex_client=client,
    )
    like = Attachment(PAGE_ID, PSID, 1, "m_like", (Media("sticker", sticker_id="369239343222814"),))
    bot.respond(image_event())
    bot.respond(like)
    bot.respond(Referral(PAGE_ID, PSID, 1, ReferralData("SHORTLINK", "OPEN_THREAD", "flu")))
    assert [call["text"] for call in client.calls] == ["I sent you a photo", "yes", "referral"]
    assert json.loads(client.calls[1]["requestAttributes"]["x-bridge:attachments"]) == [
        {"type": "sticker", "sticker_id": "369239343222814", "like": True}
    ]


def test_typed_text_with_a_reply_to_keeps_the_text_and_says_what_it_answers() -> None:
    client = RecordingClient()
    bot = make_bot(settings(), lex_client=client)
    event = TextMessage(PAGE_ID, PSID, 1, "m_t", "and kids?", reply_to=ReplyTo("m_prev", False))
    bot.respond(event)
    [call] = client.calls
    assert call["text"] == "and kids?"
    assert call["requestAttributes"] == PLATFORM | {
        "x-bridge:reply-to": '{"mid":"m_prev","is_self_reply":false}'
    }


def test_v1_era_attributes_are_added_to_v2_requests_by_setting() -> None:
    client = RecordingClient()
    make_bot(
        settings(
            lex=LexSettings(
                bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID, v1_attributes=True
            )
        ),
        lex_client=client,
    ).respond(text_event("hi"))
    make_bot(settings(), lex_client=client).respond(text_event("hi"))
    assert [call["requestAttributes"] for call in client.calls] == [
        PLATFORM
        | {
            "x-amz-lex:channel-type": "Facebook",
            "x-amz-lex:user-id": PSID,
            "x-amz-lex:facebook-page-id": PAGE_ID,
        },
        PLATFORM,
    ]


@pytest.mark.parametrize(
    ("kinds", "asked"),
    [
        (frozenset({"image"}), False),
        (frozenset({"audio", "like"}), True),
        (frozenset(), True),
    ],
)
def test_kinds_in_the_reply_setting_are_answered_without_asking_lex(
    kinds: frozenset[str], asked: bool
) -> None:
    client = RecordingClient({"messages": [{"contentType": "PlainText", "content": "a photo!"}]})
    bot = make_bot(
        settings(
            conversation=ConversationSettings(
                no_text_reply_kinds=kinds, no_text_reply="I can only read text."
            )
        ),
        lex_client=client,
    )
    replies = bot.respond(image_event())
    assert replies == ([Text("a photo!")] if asked else [Text("I can only read text.")])
    assert len(client.calls) == (1 if asked else 0)
    # Text is never answered by the bridge, whatever the setting.
    assert bot.respond(text_event("hello")) == [Text("a photo!")]


# --- over HTTP, against a loopback server --------------------------------------------------


@dataclass
class FakeLex:
    """What the loopback server answers, and what it received."""

    url: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    answer: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def fake_lex() -> Iterator[FakeLex]:
    state = FakeLex()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append((self.path, dict(self.headers), json.loads(body)))
            payload = json.dumps(state.answer).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Handler) as url:
        state.url = url
        yield state


def local_bot(fake_lex: FakeLex) -> tuple[LexV2Bot, Any]:
    client = make_lexv2_client(
        settings(
            mode="local",
            lex=LexSettings(
                bot_id=BOT_ID,
                alias_id=ALIAS_ID,
                locale_id=LOCALE_ID,
                backend="local",
                endpoint_url=fake_lex.url + "/local/lex",
            ),
        )
    )
    return LexV2Bot(client, bot_id=BOT_ID, alias_id=ALIAS_ID, locale_id=LOCALE_ID), client


def test_recognize_text_over_http(fake_lex: FakeLex) -> None:
    fake_lex.answer = RECORDED_RESPONSE
    bot, client = local_bot(fake_lex)
    try:
        replies = bot.respond(text_event("I have a fever"))
    finally:
        client.close()
    [(path, headers, body)] = fake_lex.requests
    assert path == (
        f"/local/lex/bots/{BOT_ID}/botAliases/{ALIAS_ID}"
        f"/botLocales/{LOCALE_ID}/sessions/{PSID}/text"
    )
    assert body == {"text": "I have a fever", "requestAttributes": PLATFORM}
    assert "Credential=local/" in headers["Authorization"]
    assert f"messenger-lex-bridge/{__version__}" in headers["User-Agent"]
    assert replies[0] == Text("Which symptom bothers you most?")
    assert isinstance(replies[1], Card)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "ThrottlingException", BotErrorKind.RETRY),
        (500, "InternalServerException", BotErrorKind.FALLBACK),
    ],
)
def test_http_errors_are_classified_and_not_retried_by_botocore(
    fake_lex: FakeLex, status: int, code: str, kind: BotErrorKind
) -> None:
    fake_lex.status = status
    fake_lex.headers = {"x-amzn-ErrorType": code, "x-amzn-RequestId": "req-123"}
    fake_lex.answer = {"message": "Rate exceeded"}
    bot, client = local_bot(fake_lex)
    try:
        with pytest.raises(BotError) as caught:
            bot.respond(text_event("hello"))
    finally:
        client.close()
    assert caught.value.kind is kind
    assert code in caught.value.reason and "req-123" in caught.value.reason
    assert len(fake_lex.requests) == 1


def test_with_botocore_validation_off_the_bridge_still_refuses_what_lex_would(
    fake_lex: FakeLex,
) -> None:
    fake_lex.answer = {"messages": []}
    bot, client = local_bot(fake_lex)
    try:
        # botocore no longer checks (the model's sessionId minimum is 2): the call goes out.
        client.recognize_text(
            botId=BOT_ID, botAliasId=ALIAS_ID, localeId=LOCALE_ID, sessionId="1", text="hi"
        )
        assert len(fake_lex.requests) == 1
        fake_lex.requests.clear()
        for refused in (
            text_event("   "),
            text_event("hi", sender_id="1"),
            text_event("hi", "a/b"),
        ):
            with pytest.raises(BotError):
                bot.respond(refused)
        assert fake_lex.requests == []  # nothing refused reached Lex
        bot.respond(text_event("ab" * 1000))
    finally:
        client.close()
    [(_, _, body)] = fake_lex.requests
    assert body["text"] == "ab" * 512  # cut to 1024 UTF-16 units before the call
    assert all(isinstance(value, str) for value in body["requestAttributes"].values())
