"""The terminal chat (bridge/ops/chat.py): ``describe``, then one whole conversation against
a local-mode bridge served on loopback with delivery running."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask

from bridge.app import create_app
from bridge.config.localmode import LOCAL_LEX_ALIAS_ID, LOCAL_LEX_BOT_ID
from bridge.config.settings import Settings
from bridge.messenger.deliveries import Choice
from bridge.ops.chat import ChatSession, describe
from tests.conftest import TEST_SECRET
from tests.local.test_localmode import GREETING, NOTE
from tests.support.ids import PAGE_ID, PSID
from tests.support.servers import wsgi_server

# --- describe -----------------------------------------------------------------------------


def send(message: dict[str, Any]) -> dict[str, Any]:
    return {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": message}


def test_describe_text_over_several_lines() -> None:
    lines, choices = describe(send({"text": "First line\nsecond line\n\nfourth"}))
    assert lines == ["bot> First line", "     second line", "     ", "     fourth"]
    assert choices == []


def test_describe_typing_on() -> None:
    assert describe({"recipient": {"id": PSID}, "sender_action": "typing_on"}) == (
        ["  (typing…)"],
        [],
    )


@pytest.mark.parametrize("action", ["mark_seen", "typing_off"])
def test_describe_other_sender_actions_show_nothing(action: str) -> None:
    assert describe({"recipient": {"id": PSID}, "sender_action": action}) == ([], [])


def test_describe_quick_replies_are_numbered_from_first() -> None:
    message = {
        "text": "What would you like to do?",
        "quick_replies": [
            {"content_type": "text", "title": "List conditions", "payload": "list"},
            {"content_type": "text", "title": "Check a symptom", "payload": "check a symptom"},
        ],
    }
    lines, choices = describe(send(message), first=4)
    assert lines == [
        "bot> What would you like to do?",
        "     (4) List conditions",
        "     (5) Check a symptom",
    ]
    assert choices == [
        Choice("List conditions", "list", "quick_reply"),
        Choice("Check a symptom", "check a symptom", "quick_reply"),
    ]


def test_describe_a_generic_template_with_image_and_buttons() -> None:
    element = {
        "title": "Messenger Lex Bridge",
        "subtitle": "A card",
        "image_url": "http://127.0.0.1:8000/local/assets/card.svg",
        "buttons": [
            {"type": "postback", "title": "Say hello", "payload": "hello"},
            {"type": "postback", "title": "Count my turns", "payload": "#turns"},
        ],
    }
    second = {"title": "Second", "buttons": [{"type": "postback", "title": "Go", "payload": "go"}]}
    message = {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "generic", "elements": [element, second]},
        },
        "quick_replies": [{"content_type": "text", "title": "More", "payload": "more"}],
    }
    lines, choices = describe(send(message))
    assert lines == [
        "bot> ┌ Messenger Lex Bridge",
        "     │ A card",
        "     │ [image] http://127.0.0.1:8000/local/assets/card.svg",
        "     │ [1] Say hello",
        "     │ [2] Count my turns",
        "     └",
        "bot> ┌ Second",
        "     │ [3] Go",
        "     └",
        "     (4) More",
    ]
    assert choices == [
        Choice("Say hello", "hello", "postback"),
        Choice("Count my turns", "#turns", "postback"),
        Choice("Go", "go", "postback"),
        Choice("More", "more", "quick_reply"),
    ]


def test_describe_a_button_template() -> None:
    payload = {
        "template_type": "button",
        "text": "Pick one",
        "buttons": [
            {"type": "postback", "title": "Yes", "payload": "YES"},
            {"type": "postback", "title": "No", "payload": "NO"},
        ],
    }
    lines, choices = describe(send({"attachment": {"type": "template", "payload": payload}}), 2)
    assert lines == ["bot> Pick one", "     [2] Yes", "     [3] No"]
    assert choices == [Choice("Yes", "YES", "postback"), Choice("No", "NO", "postback")]


# --- a whole conversation against the local-mode bridge ---------------------------------------


@pytest.fixture
def bridge(local_settings: Settings) -> Iterator[tuple[Flask, int]]:
    """The real local-mode bridge (sample bot over boto3, Graph inbox) on a loopback port."""
    with wsgi_server() as server:
        settings = replace(
            local_settings,
            graph=replace(local_settings.graph, api_url=f"{server.url}/local/graph"),
            lex=replace(
                local_settings.lex,
                bot_id=LOCAL_LEX_BOT_ID,
                alias_id=LOCAL_LEX_ALIAS_ID,
                endpoint_url=f"{server.url}/local/lex",
            ),
            web=replace(local_settings.web, port=server.port),
        )
        app = create_app(settings)
        server.mount(app)
        services = app.extensions["bridge"]
        services.start_delivery(2)
        try:
            yield app, server.port
        finally:
            assert services.stop_delivery(5)


def test_a_conversation_through_the_whole_bridge(bridge: tuple[Flask, int]) -> None:
    app, port = bridge
    out = io.StringIO()
    chat = ChatSession(
        url=f"http://127.0.0.1:{port}",
        psid=PSID,
        page_id=PAGE_ID,
        secret=TEST_SECRET,
        timeout=10,
        out=out,
    )
    with chat.http:
        chat.say("hello")
        greeting = out.getvalue().splitlines()
        chat.say("1")  # the first choice of the menu: "List conditions"
    card = out.getvalue().splitlines()[len(greeting) :]
    assert greeting == [  # fast turns: no typing indicator in front of the answer
        "bot> " + GREETING,
        "bot> " + NOTE,
        "bot> What would you like to do?",
        "     (1) List conditions",
        "     (2) Check a symptom",
        "     (3) Symptoms of flu",
    ]
    assert card == [
        "bot> ┌ Common conditions (1/3)",
        "     │ Tap one to see its symptoms",
        f"     │ [image] http://127.0.0.1:{port}/local/assets/conditions.svg",
        "     │ [1] Common cold",
        "     │ [2] Influenza",
        "     │ [3] COVID-19",
        "     └",
        "     (4) Strep throat",
        "     (5) More…",
    ]
    # The tap went back as a quick reply, and both turns finished.
    entries = app.test_client().get("/local/graph/inbox", query_string={"recipient": PSID})
    bodies = [entry["body"] for entry in entries.get_json()["entries"]]
    assert [b.get("sender_action") for b in bodies] == [None, None, None, None]
    assert bodies[-1]["message"]["attachment"]["payload"]["template_type"] == "generic"
