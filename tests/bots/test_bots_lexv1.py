"""Lex V1 backend (legacy): real boto3 ``lex-runtime`` PostText calls against a loopback
endpoint speaking V1's wire format; the request the V1 Facebook channel made, error mapping,
Composite messages and response cards; one run through the real server. Deleting this file
and bridge/bots/lexv1.py removes V1 support."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.bots import make_bot
from bridge.bots.lexv1 import LexV1Bot, make_lexv1_client, replies_from_post_text
from bridge.bots.notext import NoTextReply
from bridge.config.conversation import ConversationSettings
from bridge.config.graph import GraphSettings
from bridge.config.lex import LexSettings
from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.config.settings import Settings
from bridge.errors import BotError, BotErrorKind, ConfigError
from bridge.messenger.events import Attachment, Media, Postback, TextMessage
from bridge.messenger.replies import Button, Card, Custom, Ssml, Text
from tests.support.ids import CORPUS_PAGE_ID as PAGE_ID
from tests.support.ids import CORPUS_PSID as PSID
from tests.support.lexserver import Answer, LexServer, aws_environment, lex_server
from tests.support.servers import ROOT, body_of, start_bridge, stop_bridge, text

BOT_NAME = "Flu_Bot"
ALIAS = "prod"
V1_ATTRIBUTES = {
    "x-amz-lex:channel-type": "Facebook",
    "x-amz-lex:user-id": PSID,
    "x-amz-lex:facebook-page-id": PAGE_ID,
}

COMPOSITE = {
    "messages": [
        {"type": "CustomPayload", "group": 3, "value": '{"text": "raw"}'},
        {"type": "PlainText", "group": 1, "value": "Flu usually starts suddenly."},
        {"type": "SSML", "group": 2, "value": "<speak>See a doctor if it lasts.</speak>"},
    ]
}
RESPONSE_CARD = {
    "version": 1,
    "contentType": "application/vnd.amazonaws.card.generic",
    "genericAttachments": [
        {
            "title": "Influenza",
            "subTitle": "Fever, cough, aches",
            "imageUrl": "https://example.com/flu.png",
            "attachmentLinkUrl": "https://example.com/flu",
            "buttons": [
                {"text": "Symptoms", "value": "symptoms of flu"},
                {"text": "Treatment", "value": "treatment of flu"},
            ],
        },
        {"title": "Common cold", "buttons": [{"text": "More", "value": "cold"}]},
        {"subTitle": "No title: the subtitle takes its place"},
        {"attachmentLinkUrl": "https://example.com/more"},  # nothing to show: left out
    ],
}
# A recorded shape of a V1 answer that elicits a slot with a card.
RECORDED: dict[str, Any] = {
    "intentName": "CheckSymptoms",
    "slots": {"Disease": None},
    "sessionAttributes": {"visits": "2"},
    "message": json.dumps(COMPOSITE),
    "messageFormat": "Composite",
    "dialogState": "ElicitSlot",
    "slotToElicit": "Disease",
    "responseCard": RESPONSE_CARD,
    "sessionId": "2025-01-01T00:00:00.000Z-abcdefgh",
    "botVersion": "3",
}
EXPECTED_REPLIES = [
    Text("Flu usually starts suddenly."),
    Ssml("<speak>See a doctor if it lasts.</speak>"),
    Custom('{"text": "raw"}'),
    Card(
        "Influenza",
        "Fever, cough, aches",
        "https://example.com/flu.png",
        (Button("Symptoms", "symptoms of flu"), Button("Treatment", "treatment of flu")),
    ),
    Card("Common cold", buttons=(Button("More", "cold"),)),
    Card("No title: the subtitle takes its place"),
]


@pytest.fixture
def lex(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LexServer]:
    """The endpoint, with boto3 pointed at it through the standard variable."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    with lex_server() as server:
        for name, value in aws_environment(
            tmp_path, AWS_ENDPOINT_URL_LEX_RUNTIME_SERVICE=server.url
        ).items():
            monkeypatch.setenv(name, value)
        yield server


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "graph": GraphSettings(app_secret="s", verify_token="v", page_access_token="t"),
        "lex": LexSettings(backend="lexv1", bot_name=BOT_NAME, bot_alias=ALIAS, region="us-east-1"),
    }
    return Settings(**(values | overrides))


def v1_bot(**overrides: Any) -> LexV1Bot:
    bot = make_bot(settings(**overrides))
    assert isinstance(bot, LexV1Bot)
    return bot


def text_event(words: str, sender_id: str = PSID) -> TextMessage:
    return TextMessage(PAGE_ID, sender_id, 1700000000000, "m_1", words)


# --- the request -------------------------------------------------------------------------------


def test_post_text_is_what_the_v1_facebook_channel_sent(lex: LexServer) -> None:
    lex.answer(Answer(RECORDED))
    replies = v1_bot().respond(text_event("what is flu"))
    [call] = lex.calls
    assert (call.api, call.bot, call.alias, call.session) == ("v1", BOT_NAME, ALIAS, PSID)
    # No sessionAttributes: Lex keeps what the Lambda stored.
    assert call.body == {"inputText": "what is flu", "requestAttributes": V1_ATTRIBUTES}
    assert "Credential=test/" in call.headers["Authorization"]
    assert "/us-east-1/lex/aws4_request" in call.headers["Authorization"]
    assert replies == EXPECTED_REPLIES


def test_latest_alias_and_taps(lex: LexServer) -> None:
    bot = v1_bot(
        lex=LexSettings(backend="lexv1", bot_name=BOT_NAME, bot_alias="$LATEST", region="us-east-1")
    )
    bot.respond(Postback(PAGE_ID, PSID, 1, "m_p", "Get Started", "GET_STARTED"))
    [call] = lex.calls
    assert (call.alias, call.text) == ("$LATEST", "GET_STARTED")


def test_an_image_goes_as_its_kind_with_the_bridge_attributes(lex: LexServer) -> None:
    url = "https://scontent.xx.fbcdn.net/v/t1.15752-9/rash.jpg?_nc_cat=1"
    image = Attachment(PAGE_ID, PSID, 1, "m_i", (Media("image", url),))
    v1_bot(conversation=ConversationSettings(no_text_inputs=(("image", "photo"),))).respond(image)
    [call] = lex.calls
    assert call.text == "photo"
    assert call.attributes == V1_ATTRIBUTES | {
        "x-bridge:no-text": '"image"',
        "x-bridge:attachments": json.dumps([{"type": "image", "url": url}], separators=(",", ":")),
    }


def test_reply_kinds_are_answered_without_a_call(lex: LexServer) -> None:
    bot = make_bot(
        settings(
            conversation=ConversationSettings(
                no_text_reply_kinds=frozenset({"like"}), no_text_reply="Thanks!"
            )
        )
    )
    assert isinstance(bot, NoTextReply)
    like = Attachment(PAGE_ID, PSID, 1, "m_l", (Media("sticker", sticker_id="369239263222822"),))
    assert bot.respond(like) == [Text("Thanks!")]
    assert lex.calls == []


@pytest.mark.parametrize("sender_id", ["7", "12 34", "x" * 101])
def test_a_sender_id_lex_would_refuse_never_leaves(lex: LexServer, sender_id: str) -> None:
    with pytest.raises(BotError) as caught:
        v1_bot().respond(text_event("hi", sender_id))
    assert caught.value.kind is BotErrorKind.FALLBACK and "userId" in caught.value.reason
    assert lex.calls == []


def test_long_input_is_cut_to_lexs_limit(lex: LexServer) -> None:
    v1_bot().respond(text_event("a" * 1100))
    assert lex.calls[0].text == "a" * 1024


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "LimitExceededException", BotErrorKind.RETRY),
        (409, "ConflictException", BotErrorKind.RETRY),
        (500, "InternalFailureException", BotErrorKind.FALLBACK),
        (502, "BadGatewayException", BotErrorKind.FALLBACK),
        (424, "DependencyFailedException", BotErrorKind.FALLBACK),
        (508, "LoopDetectedException", BotErrorKind.FALLBACK),
        (503, "ServiceUnavailable", BotErrorKind.FALLBACK),
        (404, "NotFoundException", BotErrorKind.CONFIG),
        (400, "BadRequestException", BotErrorKind.CONFIG),
    ],
)
def test_errors_map_to_the_same_decisions_as_v2_and_are_not_retried_by_botocore(
    lex: LexServer, status: int, code: str, kind: BotErrorKind
) -> None:
    secret = "my card number is 4111"
    lex.answer(Answer({"message": f"Invalid input: {secret}"}, status, code))
    with pytest.raises(BotError) as caught:
        v1_bot().respond(text_event(secret))
    error = caught.value
    assert error.kind is kind
    assert f"Lex PostText failed: {code} (HTTP {status}, request id req-test-1)" == error.reason
    assert secret not in str(error) and PSID not in str(error)
    assert len(lex.calls) == 1


def test_a_read_timeout_is_a_fallback_never_repeated(lex: LexServer) -> None:
    lex.answer(Answer(RECORDED, delay=1.0))
    with pytest.raises(BotError) as caught:
        v1_bot(
            lex=LexSettings(
                backend="lexv1",
                bot_name=BOT_NAME,
                bot_alias=ALIAS,
                region="us-east-1",
                read_timeout=0.2,
            )
        ).respond(text_event("slow"))
    assert caught.value.kind is BotErrorKind.FALLBACK
    assert "ReadTimeoutError" in caught.value.reason
    assert len(lex.calls) == 1


def test_no_connection_is_retried_later(
    lex: LexServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with lex_server() as gone:
        closed = gone.url
    monkeypatch.setenv("AWS_ENDPOINT_URL_LEX_RUNTIME_SERVICE", closed)
    with pytest.raises(BotError) as caught:
        v1_bot().respond(text_event("anyone?"))
    assert caught.value.kind is BotErrorKind.RETRY
    assert "EndpointConnectionError" in caught.value.reason


# --- the client and make_bot -------------------------------------------------------------------


def test_client_has_retries_off_and_honours_the_endpoint_variable(lex: LexServer) -> None:
    client = make_lexv1_client(
        settings(
            lex=LexSettings(
                backend="lexv1",
                bot_name=BOT_NAME,
                bot_alias=ALIAS,
                region="us-east-1",
                read_timeout=45.0,
            )
        )
    )
    assert client.meta.service_model.service_name == "lex-runtime"
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert client.meta.config.read_timeout == 45.0
    assert client.meta.endpoint_url == lex.url


def test_missing_region_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    with pytest.raises(ConfigError):
        make_bot(
            settings(
                lex=LexSettings(backend="lexv1", bot_name=BOT_NAME, bot_alias=ALIAS, region=None)
            )
        )


def test_without_the_module_lexv1_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bridge.bots.lexv1", None)  # as if the file were deleted
    with pytest.raises(ConfigError) as caught:
        make_bot(settings())
    assert caught.value.problems == ["BRIDGE_BOT=lexv1: this build has no Lex V1 backend"]


def test_nothing_imports_lexv1_until_it_is_chosen() -> None:
    code = (
        "import sys, bridge.app, bridge.cli, bridge.delivery.loop\n"
        "print('bridge.bots.lexv1' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- the response ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "replies"),
    [
        ({"message": "Hi!", "messageFormat": "PlainText"}, [Text("Hi!")]),
        ({"message": "Hi!"}, [Text("Hi!")]),  # no format: plain text
        ({"message": "<speak>Hi</speak>", "messageFormat": "SSML"}, [Ssml("<speak>Hi</speak>")]),
        ({"message": '{"text":"x"}', "messageFormat": "CustomPayload"}, [Custom('{"text":"x"}')]),
        ({"message": "not json", "messageFormat": "Composite"}, [Text("not json")]),
        (
            {"message": "[not json] but words", "messageFormat": "Composite"},
            [Text("[not json] but words")],
        ),
        (
            {
                "message": json.dumps(
                    {
                        "messages": [
                            {"type": "PlainText", "group": 2, "value": "second"},
                            {"type": "PlainText", "value": "no group"},
                            {"type": "Markdown", "group": 1, "value": "future type"},
                            {"type": "PlainText", "group": 1, "value": "  "},
                            "junk",
                            {"type": "PlainText", "group": 1, "value": "first"},
                        ]
                    }
                ),
                "messageFormat": "Composite",
            },
            [Text("no group"), Text("future type"), Text("first"), Text("second")],
        ),
        ({"dialogState": "Fulfilled"}, []),
        ({"message": None, "responseCard": None}, []),
        (
            {"responseCard": {"genericAttachments": [{"title": "Only a title"}]}},
            [Card("Only a title")],
        ),
    ],
)
def test_responses_map_to_replies(response: dict[str, Any], replies: list[object]) -> None:
    assert replies_from_post_text(response) == replies


def test_a_recorded_answer_maps_message_groups_then_cards() -> None:
    assert replies_from_post_text(RECORDED) == EXPECTED_REPLIES


# --- through the real server -------------------------------------------------------------------


@pytest.mark.e2e
def test_a_v1_bot_answers_through_the_real_server(tmp_path: Path) -> None:
    with lex_server() as lex:
        lex.answer(Answer(RECORDED))
        env = aws_environment(tmp_path, AWS_ENDPOINT_URL_LEX_RUNTIME_SERVICE=lex.url)
        bridge = start_bridge(
            tmp_path, BRIDGE_BOT="lexv1", LEX_BOT_NAME=BOT_NAME, LEX_BOT_ALIAS=ALIAS, **env
        )
        try:
            psid = "3900000000000001"
            assert bridge.post(body_of(text(psid, "what is flu", "m_v1_e2e"))).ok
            bridge.wait_done("m_v1_e2e")
            messages = bridge.messages(psid)
        finally:
            assert stop_bridge(bridge) == 0, bridge.log.read_text()
    [call] = lex.calls
    assert (call.api, call.session, call.text) == ("v1", psid, "what is flu")
    assert call.attributes == {
        "x-amz-lex:channel-type": "Facebook",
        "x-amz-lex:user-id": psid,
        "x-amz-lex:facebook-page-id": LOCAL_PAGE_ID,
    }
    # Composite groups in order (SSML as its text, a custom payload that is a Messenger
    # message passed through), then each card.
    assert [m.get("text") for m in messages[:3]] == [
        "Flu usually starts suddenly.",
        "See a doctor if it lasts.",
        "raw",
    ]
    template = messages[3]["attachment"]["payload"]
    assert template["template_type"] == "generic"
    [element] = template["elements"]
    assert (element["title"], element["subtitle"]) == ("Influenza", "Fever, cough, aches")
    assert [b["payload"] for b in element["buttons"]] == ["symptoms of flu", "treatment of flu"]
    assert messages[4]["text"] == "Common cold"  # no image or subtitle: text with quick replies
    assert [q["payload"] for q in messages[4]["quick_replies"]] == ["cold"]
    assert messages[5:] == [{"text": "No title: the subtitle takes its place"}]
