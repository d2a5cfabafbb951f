"""End to end: odd but valid Lex answers never give silence. The real server (gunicorn,
webhook, queue, delivery) asks a Lex V2 endpoint reached by boto3
(tests/support/lexserver.py) that answers each text with a chosen odd answer; what the person
got is read back from the local Graph inbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.lexserver import LexCall, LexServer, aws_environment, lex_server
from tests.support.servers import Bridge, body_of, start_bridge, stop_bridge, text

pytestmark = pytest.mark.e2e

FALLBACK = "Sorry, I could not show that. Please try again."
BUTTONS = [{"text": "Today", "value": "today"}, {"text": "Tomorrow", "value": "tomorrow"}]
# What Lex answers to each text the person sends.
ANSWERS: dict[str, list[dict[str, Any]]] = {
    "card without card": [{"contentType": "ImageResponseCard", "content": "Which day suits you?"}],
    "bare card": [{"contentType": "ImageResponseCard"}],
    "untitled card": [
        {
            "contentType": "ImageResponseCard",
            "imageResponseCard": {"subtitle": "Pick a day", "buttons": BUTTONS},
        }
    ],
    "future type": [{"contentType": "Carousel", "content": json.dumps({"cards": [{"t": 1}]})}],
    "blank": [{"contentType": "PlainText", "content": " "}],
    "nothing": [],
}


def answer_for(call: LexCall) -> dict[str, Any]:
    return {"messages": ANSWERS[call.text]}


@pytest.fixture(scope="module")
def lex() -> Iterator[LexServer]:
    with lex_server() as server:
        server.respond = answer_for
        yield server


@pytest.fixture(scope="module")
def bridge(lex: LexServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    tmp = tmp_path_factory.mktemp("bridge")
    server = start_bridge(
        tmp,
        BRIDGE_BOT="lexv2",
        LEX_BOT_ID="ABCDE12345",
        LEX_BOT_ALIAS_ID="TSTALIASID",
        BRIDGE_FALLBACK_TEXT=FALLBACK,
        BRIDGE_SENDER_ACTIONS="false",
        **aws_environment(tmp, AWS_ENDPOINT_URL_LEX_RUNTIME_V2=lex.url),
    )
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


def test_odd_answers_reach_the_person_as_what_can_be_shown_or_the_fallback(
    bridge: Bridge, lex: LexServer
) -> None:
    people = {words: f"41000000000000{n:02d}" for n, words in enumerate(ANSWERS)}
    items = [text(psid, words, f"m_odd_{n}") for n, (words, psid) in enumerate(people.items())]
    assert bridge.post(body_of(*items)).status_code == 200
    bridge.wait_done(*(f"m_odd_{n}" for n in range(len(people))))
    got = {words: bridge.messages(psid) for words, psid in people.items()}
    assert got["card without card"] == [{"text": "Which day suits you?"}]
    assert got["bare card"] == [{"text": FALLBACK}]
    [untitled] = got["untitled card"]
    assert untitled["text"] == "Pick a day"
    assert [(q["title"], q["payload"]) for q in untitled["quick_replies"]] == [
        ("Today", "today"),
        ("Tomorrow", "tomorrow"),
    ]
    assert got["future type"] == [{"text": FALLBACK}]
    assert got["blank"] == [{"text": FALLBACK}]
    assert got["nothing"] == []  # Lex had nothing to say: silence, as before
    for psid in people.values():
        assert len(lex.calls_for(psid)) == 1  # Lex is asked once per message, never again
    log = bridge.log.read_text()
    assert "nothing the bot said can be shown" in log
    assert "Which day suits you" not in log and "card without card" not in log
