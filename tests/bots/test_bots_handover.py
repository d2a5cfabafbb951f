"""The bot asks for a person: a handover intent or the bridge's CustomPayload, in both Lex
backends; Lex session ids per Page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from bridge.bots import handover
from bridge.bots.lexrequest import lex_session_id
from bridge.bots.lexv1 import LexV1Bot, replies_from_post_text, v1_intent
from bridge.bots.lexv2 import LexV2Bot, replies_from_recognize_text, v2_intent
from bridge.delivery.handover import plan
from bridge.errors import BotError, BotErrorKind
from bridge.messenger.events import TextMessage
from bridge.messenger.replies import Custom, Handover, Text
from tests.support.ids import CORPUS_PAGE_ID as PAGE
from tests.support.ids import CORPUS_PSID as PSID

EVENT = TextMessage(PAGE, PSID, 1_800_000_000_000, "m_1", "I want to talk to a nurse")
HANDOVER_PAYLOAD = json.dumps({"bridge": {"handover": "inbox", "metadata": "fever, 3 days"}})


class RecordingClient:
    """A fake Lex runtime client (V2 and V1 calls): records calls, returns ``answer``."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def recognize_text(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return self.answer

    def post_text(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return self.answer


def v2_answer(intent: str, action: str = "Close", state: str = "Fulfilled") -> dict[str, Any]:
    return {
        "messages": [{"contentType": "PlainText", "content": "A nurse will answer you here."}],
        "sessionState": {
            "dialogAction": {"type": action},
            "intent": {"name": intent, "state": state, "confirmationState": "None"},
        },
    }


def v2_bot(client: RecordingClient, **options: Any) -> LexV2Bot:
    return LexV2Bot(
        client, bot_id="ABCDE12345", alias_id="TSTALIASID", locale_id="en_US", **options
    )


# --- what asks for a person ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (HANDOVER_PAYLOAD, Handover(metadata="fever, 3 days")),
        ('{"bridge": {"handover": "inbox"}}', Handover()),
        ('{"bridge": {"handover": "inbox", "metadata": "  "}}', Handover()),
        ('{"bridge": {"handover": "crm"}}', None),  # for the bridge, not understood: not shown
        ('{"bridge": "hello"}', None),
        ('{"text": "hi"}', Custom('{"text": "hi"}')),
        ("not json", Custom("not json")),
        ("[1, 2]", Custom("[1, 2]")),
    ],
)
def test_custom_payloads(content: str, expected: object) -> None:
    assert handover.from_custom_payload(content) == expected


def test_a_handover_intent_asks_only_when_the_answer_closes_it() -> None:
    asked = Handover(metadata="The bot asked for a person (intent TalkToNurse).")
    assert handover.for_intent(*v2_intent(v2_answer("TalkToNurse")), "TalkToNurse") == asked
    eliciting = v2_answer("TalkToNurse", action="ElicitSlot", state="InProgress")
    assert handover.for_intent(*v2_intent(eliciting), "TalkToNurse") is None
    assert handover.for_intent(*v2_intent(v2_answer("Other")), "TalkToNurse") is None
    assert handover.for_intent(*v2_intent(v2_answer("TalkToNurse")), None) is None
    assert v2_intent({}) == (None, False)
    assert v1_intent({"intentName": "TalkToNurse", "dialogState": "Fulfilled"}) == (
        "TalkToNurse",
        True,
    )
    assert v1_intent({"intentName": "X", "dialogState": "ElicitSlot"}) == ("X", False)


# --- the Lex backends -------------------------------------------------------------------------


def test_lex_v2_payload_handover_keeps_the_other_messages() -> None:
    response = {
        "messages": [
            {"contentType": "PlainText", "content": "Connecting you."},
            {"contentType": "CustomPayload", "content": HANDOVER_PAYLOAD},
        ]
    }
    assert replies_from_recognize_text(response) == [
        Text("Connecting you."),
        Handover(metadata="fever, 3 days"),
    ]


def test_lex_v2_bot_adds_a_handover_when_the_intent_closes() -> None:
    client = RecordingClient(v2_answer("TalkToNurse"))
    replies = v2_bot(client, handover_intent="TalkToNurse").respond(EVENT)
    assert replies == [
        Text("A nurse will answer you here."),
        Handover(metadata="The bot asked for a person (intent TalkToNurse)."),
    ]
    assert v2_bot(RecordingClient(v2_answer("TalkToNurse"))).respond(EVENT) == [
        Text("A nurse will answer you here.")
    ]


def test_lex_v1_bot_handover_by_intent_and_by_payload() -> None:
    answer = {
        "intentName": "TalkToNurse",
        "dialogState": "Fulfilled",
        "messageFormat": "Composite",
        "message": json.dumps(
            {
                "messages": [
                    {"type": "PlainText", "group": 1, "value": "Connecting you."},
                    {"type": "CustomPayload", "group": 2, "value": HANDOVER_PAYLOAD},
                ]
            }
        ),
    }
    assert replies_from_post_text(answer) == [
        Text("Connecting you."),
        Handover(metadata="fever, 3 days"),
    ]
    client = RecordingClient(answer)
    bot = LexV1Bot(client, bot_name="FluBot", bot_alias="prod", handover_intent="TalkToNurse")
    replies = bot.respond(EVENT)
    assert replies[-1] == Handover(metadata="The bot asked for a person (intent TalkToNurse).")
    assert plan(replies)[-1]["bridge:handover"]["metadata"] == "fever, 3 days"
    single = {"messageFormat": "CustomPayload", "message": '{"bridge": {"handover": "inbox"}}'}
    assert replies_from_post_text(single) == [Handover()]


# --- session ids -------------------------------------------------------------------------------


def test_session_ids_are_the_psid_or_page_scoped() -> None:
    assert lex_session_id(EVENT, "psid") == PSID
    assert lex_session_id(EVENT, "page_psid") == f"{PAGE}.{PSID}"
    v2 = RecordingClient({"messages": []})
    v2_bot(v2, session_id="page_psid").respond(EVENT)
    assert v2.calls[0]["sessionId"] == f"{PAGE}.{PSID}"
    v1 = RecordingClient({})
    LexV1Bot(v1, bot_name="FluBot", bot_alias="prod", session_id="page_psid").respond(EVENT)
    assert v1.calls[0]["userId"] == f"{PAGE}.{PSID}"
    # The V1 channel's attributes keep the PSID itself.
    assert v1.calls[0]["requestAttributes"]["x-amz-lex:user-id"] == PSID


def test_a_session_id_lex_would_refuse_is_refused_before_the_call() -> None:
    client = RecordingClient({"messages": []})
    odd = TextMessage("1" * 60, "2" * 60, 1, "m_2", "hi")
    with pytest.raises(BotError) as caught:
        v2_bot(client, session_id="page_psid").respond(odd)
    assert caught.value.kind is BotErrorKind.FALLBACK and client.calls == []


def test_the_page_scoped_session_id_passes_botocores_validation() -> None:
    import boto3

    client = boto3.client(
        "lexv2-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    with Stubber(client) as stub:
        stub.add_response("recognize_text", {"messages": []})
        v2_bot(client, session_id="page_psid").respond(EVENT)
        stub.assert_no_pending_responses()
