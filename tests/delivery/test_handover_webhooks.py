"""Thread control as Meta sends it, from the webhook to the turn: a take or a pass in either
shape (the current one names both apps; the older one, in other libraries' fixtures, names
only the app that lost or got control) decides whether the bot is asked."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import responses
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot, signed_headers, text_item
from tests.conftest import delivery as webhook_body
from tests.delivery.harness import NOW_MS, delivery, handler, ok, texts
from tests.support.ids import PAGE_ID, PSID

OWN_APP = "1517776481860111"
INBOX = "263902037430900"


def control(key: str, at: int, **value: str) -> dict[str, Any]:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": at, key: value}


def post_all(client: FlaskClient, *items: dict[str, Any]) -> None:
    for item in items:
        body = webhook_body(item)
        assert client.post("/webhook", data=body, headers=signed_headers(body)).status_code == 200


def webhook(settings: Settings, queue: SqliteQueue, graph: GraphClient, own: str | None) -> Any:
    settings = replace(settings, graph=replace(settings.graph, app_id=own))
    return create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph).test_client()


def deliver_all(queue: SqliteQueue, bot: ScriptedBot, graph: GraphClient) -> None:
    worker = delivery(queue, handler(queue, bot, graph, actions=False))
    while worker.run_once("w"):
        pass


@pytest.mark.parametrize("own", [OWN_APP, None], ids=["FB_APP_ID-set", "FB_APP_ID-unset"])
@pytest.mark.parametrize(
    "take",
    [
        pytest.param({"previous_owner_app_id": OWN_APP, "new_owner_app_id": INBOX}, id="current"),
        pytest.param({"previous_owner_app_id": OWN_APP, "metadata": "Agent joined"}, id="older"),
    ],
)
def test_a_take_holds_the_conversation_and_the_bot_is_not_asked(
    settings: Settings,
    queue: SqliteQueue,
    graph: GraphClient,
    graph_api: responses.RequestsMock,
    take: dict[str, str],
    own: str | None,
) -> None:
    client = webhook(settings, queue, graph, own)
    post_all(
        client,
        control("take_thread_control", NOW_MS - 500, **take),
        text_item(PSID, "are you a person?", "m_after_take", ts=NOW_MS),
    )
    bot = ScriptedBot()
    deliver_all(queue, bot, graph)
    assert bot.turns == [] and texts(graph_api) == []
    [letter] = queue.dead_letters(include_dropped=True)
    assert letter.state == "dropped" and "holds the conversation (handover)" in str(letter.reason)


@pytest.mark.parametrize(
    "give_back",
    [
        pytest.param({"previous_owner_app_id": INBOX, "new_owner_app_id": OWN_APP}, id="current"),
        pytest.param({"new_owner_app_id": OWN_APP, "metadata": "Back to the bot"}, id="older"),
    ],
)
def test_a_pass_back_after_an_older_take_answers_what_comes_after_it(
    settings: Settings,
    queue: SqliteQueue,
    graph: GraphClient,
    graph_api: responses.RequestsMock,
    give_back: dict[str, str],
) -> None:
    ok(graph_api)
    post_all(
        webhook(settings, queue, graph, OWN_APP),
        control("take_thread_control", NOW_MS - 900, previous_owner_app_id=OWN_APP),
        text_item(PSID, "hello?", "m_during", ts=NOW_MS - 600),
        control("pass_thread_control", NOW_MS - 300, **give_back),
        text_item(PSID, "thanks, bot", "m_after", ts=NOW_MS),
    )
    bot = ScriptedBot()
    deliver_all(queue, bot, graph)
    assert [event.mid for event in bot.turns] == ["m_after"]
    assert texts(graph_api) == ["echo: thanks, bot"]
