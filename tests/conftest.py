"""Shared fixtures: a clean environment, settings, a queue on tmp_path, a scripted bot, signing."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridge.config.delivery import DeliverySettings
from bridge.config.graph import GraphSettings
from bridge.config.lex import LexSettings
from bridge.config.localmode import LOCAL_LEX_ALIAS_ID, LOCAL_LEX_BOT_ID
from bridge.config.queue import QueueSettings
from bridge.config.settings import Settings
from bridge.messenger.events import Event, bot_input
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Reply, Text
from bridge.messenger.signature import SIGNATURE_HEADER, sign
from bridge.queue.sqlite.store import SqliteQueue
from tests.support.ids import PAGE_ID

TEST_SECRET = "test-app-secret"
TEST_TOKEN = "test-page-token"
GRAPH = "https://graph.test"
_PREFIXES = ("FB_", "LEX_", "BRIDGE_", "AWS_", "LOG_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's or CI's configuration."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in ("PORT", "WEB_CONCURRENCY"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        graph=GraphSettings(
            app_secret=TEST_SECRET,
            verify_token="test-verify-token",
            page_access_token=TEST_TOKEN,
            api_url=GRAPH,
        ),
        lex=LexSettings(bot_id="ABCDE12345", alias_id="TSTALIASID"),
        delivery=DeliverySettings(poll_interval=0.02),
        queue=QueueSettings(db_path=tmp_path / "bridge.db"),
    )


@pytest.fixture
def local_settings(settings: Settings) -> Settings:
    return replace(
        settings,
        mode="local",
        lex=replace(
            settings.lex, backend="local", bot_id=LOCAL_LEX_BOT_ID, alias_id=LOCAL_LEX_ALIAS_ID
        ),
    )


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[SqliteQueue]:
    q = SqliteQueue(tmp_path / "queue.db")
    yield q
    q.close()


@pytest.fixture
def graph() -> GraphClient:
    return GraphClient(
        base_url=GRAPH, version="v25.0", page_token=TEST_TOKEN, app_secret=TEST_SECRET, timeout=5
    )


class ScriptedBot:
    """A bot that answers from a script (default: echo) and records every turn it was asked."""

    def __init__(self, script: Callable[[Event], list[Reply]] | None = None) -> None:
        self.script = script or (lambda event: [Text(f"echo: {bot_input(event)}")])
        self.turns: list[Event] = []
        self._lock = threading.Lock()

    def respond(self, event: Event) -> list[Reply]:
        with self._lock:
            self.turns.append(event)
        return self.script(event)


@pytest.fixture
def bot() -> ScriptedBot:
    return ScriptedBot()


def signed_headers(body: bytes, secret: str = TEST_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}


def delivery(*items: dict[str, Any], page_id: str = PAGE_ID) -> bytes:
    """A webhook body with one entry holding ``items``, serialised as Meta does."""
    body = {
        "object": "page",
        "entry": [{"id": page_id, "time": 1700000000000, "messaging": list(items)}],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def text_item(
    psid: str, text: str, mid: str, ts: int = 1700000000000, page_id: str = PAGE_ID
) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": ts,
        "message": {"mid": mid, "text": text},
    }


def wait_for(
    condition: Callable[[], Any],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "condition",
) -> Any:
    """Poll ``condition`` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
