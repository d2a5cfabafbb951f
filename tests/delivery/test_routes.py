"""Several Pages through the real app: each Page's token and bot, Pages not served, thread
signals committed by the webhook, the 24-hour window, all through webhook and queue."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from responses import matchers

from bridge.app import create_app
from bridge.bots.lexv2 import LexV2Bot
from bridge.config.pages import PageBot, PageConfig
from bridge.config.settings import Settings
from bridge.delivery.loop import Delivery
from bridge.delivery.page_routes import build_routes
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.services import Services
from tests.conftest import GRAPH, ScriptedBot, delivery, signed_headers, text_item
from tests.delivery.harness import Clock
from tests.obs.test_metrics import moved

PAGE_A, PAGE_B, PAGE_C = "104859375629481", "231764905812337", "398877665544332"
TOKEN_A, TOKEN_B = "EAAGtokenForPageAaaaaaaa", "EAAGtokenForPageBbbbbbbb"
SEND_URL = f"{GRAPH}/v25.0/me/messages"
NOW_MS = 1_800_000_000_000
HOUR_MS = 3_600_000


@pytest.fixture
def two_pages(settings: Settings) -> Settings:
    return replace(
        settings,
        graph=replace(settings.graph, page_access_token="", app_id="1517776481860111"),
        lex=replace(settings.lex, region="us-east-1"),
        conversation=replace(settings.conversation, sender_actions=False),
        pages=(
            PageConfig(PAGE_A, TOKEN_A, name="Clinic", fallback_text="Clinic is down."),
            PageConfig(
                PAGE_B,
                TOKEN_B,
                bot=PageBot("lexv1", bot_name="FluBot", bot_alias="prod"),
                handover_intent="TalkToNurse",
            ),
        ),
    )


def run_delivery(app: Flask, now_ms: int = NOW_MS, **limits: Any) -> Services:
    services: Services = app.extensions["bridge"]
    worker = Delivery(
        services.queue,
        services.turn_handler(1),
        threads=1,
        poll_interval=0.01,
        limits=replace(services.limits(), **limits),
        clock=Clock(now_ms / 1000),
    )
    while worker.run_once("w"):
        pass
    return services


def post(app: Flask, body: bytes) -> int:
    return app.test_client().post("/webhook", data=body, headers=signed_headers(body)).status_code


def test_each_page_gets_its_own_graph_client_and_bot(two_pages: Settings) -> None:
    routes = build_routes(two_pages)
    assert routes.default is None and set(routes.pages) == {PAGE_A, PAGE_B}
    route_a, route_b = routes.pages[PAGE_A], routes.pages[PAGE_B]
    assert route_a.graph is not route_b.graph
    assert route_a.fallback_text == "Clinic is down."
    assert route_b.fallback_text == two_pages.conversation.fallback_text
    assert isinstance(route_a.bot, LexV2Bot)  # the environment's bot
    assert type(route_b.bot).__name__ == "LexV1Bot"
    assert routes.get(PAGE_C) is None
    single = build_routes(
        replace(two_pages, pages=(), graph=replace(two_pages.graph, page_access_token=TOKEN_A))
    )
    assert single.pages == {} and single.get(PAGE_C) is single.default


def test_two_pages_answer_with_their_own_tokens_and_other_pages_are_counted(
    two_pages: Settings, queue: SqliteQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    app = create_app(two_pages, queue=queue, bot=ScriptedBot())
    delta = moved("bridge_webhook_unknown_page_items")
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": page,
                    "time": NOW_MS,
                    "messaging": [text_item(psid, words, mid, NOW_MS, page)],
                }
                for page, psid, words, mid in (
                    (PAGE_A, "1001", "to the clinic", "m_a"),
                    (PAGE_B, "2002", "to the pharmacy", "m_b"),
                    (PAGE_C, "3003", "to nobody", "m_c"),
                )
            ],
        }
    ).encode()
    assert post(app, body) == 200
    assert delta("bridge_webhook_unknown_page_items_total", page=PAGE_C) == 1
    assert any(
        "does not serve" in record.getMessage() and record.__dict__.get("pages") == [PAGE_C]
        for record in caplog.records
    )
    with responses.RequestsMock() as graph_api:
        for token in (TOKEN_A, TOKEN_B):
            graph_api.post(
                SEND_URL,
                json={"message_id": "m"},
                match=[matchers.header_matcher({"Authorization": f"Bearer {token}"})],
            )
        run_delivery(app)
        sends = {
            call.request.headers["Authorization"]: json.loads(call.request.body or b"{}")
            for call in graph_api.calls
        }
    assert sends[f"Bearer {TOKEN_A}"]["message"]["text"] == "echo: to the clinic"
    assert sends[f"Bearer {TOKEN_B}"]["message"]["text"] == "echo: to the pharmacy"
    assert queue.state_of("m_c") is None  # never queued


def test_an_inbox_echo_alone_is_committed_and_silences_the_bot(
    settings: Settings, queue: SqliteQueue, tmp_path: Path
) -> None:
    app = create_app(
        replace(settings, conversation=replace(settings.conversation, sender_actions=False)),
        queue=queue,
        bot=ScriptedBot(),
    )
    echo = {
        "sender": {"id": "111111111111111"},
        "recipient": {"id": "7"},
        "timestamp": NOW_MS - 1000,
        "message": {"mid": "m_e", "is_echo": True, "app_id": 263902037430900, "text": "Hi!"},
    }
    assert post(app, delivery(echo)) == 200
    state = queue.thread("111111111111111", "7")
    assert state is not None and state.is_open and state.reason == "inbox_echo"
    assert post(app, delivery(text_item("7", "thanks", "m_1", NOW_MS))) == 200
    with responses.RequestsMock() as graph_api:
        run_delivery(app)
        assert len(graph_api.calls) == 0
    assert queue.state_of("m_1") == "dropped"


def test_a_reply_past_the_window_is_not_sent_through_the_real_webhook(
    settings: Settings, queue: SqliteQueue
) -> None:
    bot = ScriptedBot()
    app = create_app(settings, queue=queue, bot=bot)
    assert post(app, delivery(text_item("7", "hello", "m_old", NOW_MS))) == 200
    state = queue.thread("111111111111111", "7")
    assert state is not None and state.last_inbound == NOW_MS
    delta = moved("bridge_dropped")
    with responses.RequestsMock() as graph_api:
        run_delivery(app, NOW_MS + 25 * HOUR_MS, max_event_age=48 * 3600)
        assert len(graph_api.calls) == 0
    assert bot.turns == [] and queue.state_of("m_old") == "dropped"
    assert delta("bridge_dropped_total", reason="outside_window") == 1
