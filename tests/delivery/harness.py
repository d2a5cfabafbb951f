"""What delivery tests drive a turn with: a clock, scripted Graph answers, events on a queue,
and a handler and a delivery loop built the way the app builds them."""

from __future__ import annotations

import json
from typing import Any

import responses

from bridge.delivery.limits import Limits
from bridge.delivery.loop import Delivery
from bridge.delivery.turn import TurnHandler
from bridge.messenger.events import Event, TextMessage
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.webhook import to_new_job
from tests.conftest import GRAPH

SEND_URL = f"{GRAPH}/v25.0/me/messages"
PROBE_URL = f"{GRAPH}/v25.0/me"
FALLBACK = "Sorry, try again."
NOW_MS = 1_700_000_000_000


class Clock:
    def __init__(self, start: float = NOW_MS / 1000) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def ok(mock: responses.RequestsMock, times: int = 1) -> None:
    for _ in range(times):
        mock.post(SEND_URL, json={"recipient_id": "1", "message_id": "m_out"})


def fail(
    mock: responses.RequestsMock,
    status: int,
    code: int,
    subcode: int | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    error: dict[str, Any] = {
        "message": "x",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "T",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    mock.post(SEND_URL, status=status, json={"error": error}, headers=headers or {})


def sent(mock: responses.RequestsMock) -> list[dict[str, Any]]:
    return [
        json.loads(call.request.body or b"{}")
        for call in mock.calls
        if call.request.method == "POST"
    ]


def texts(mock: responses.RequestsMock, psid: str | None = None) -> list[str]:
    return [
        b["message"].get("text", "<template>")
        for b in sent(mock)
        if "message" in b and (psid is None or b["recipient"]["id"] == psid)
    ]


def enqueue(queue: SqliteQueue, *evs: Event) -> None:
    queue.put([to_new_job(event, 0) for event in evs], now=0)


def text(psid: str, body: str, mid: str, ts: int = NOW_MS, page: str = "42") -> TextMessage:
    return TextMessage(page_id=page, sender_id=psid, timestamp=ts, mid=mid, text=body)


def handler(
    queue: SqliteQueue, bot: Any, graph: GraphClient, actions: bool = True, **kwargs: Any
) -> TurnHandler:
    return TurnHandler(
        queue=queue, bot=bot, graph=graph, fallback_text=FALLBACK, sender_actions=actions, **kwargs
    )


def delivery(
    queue: SqliteQueue,
    turn: TurnHandler,
    *,
    threads: int = 1,
    clock: Clock | None = None,
    poll_interval: float = 0.01,
    ack_hold: float = 0.0,
    **limits: Any,
) -> Delivery:
    limits.setdefault("max_attempts", 3)
    limits.setdefault("lease", 30)
    return Delivery(
        queue,
        turn,
        threads=threads,
        poll_interval=poll_interval,
        limits=Limits(**limits),
        clock=clock or Clock(),
        ack_hold=ack_hold,
    )


def page_graph(token: str) -> GraphClient:
    return GraphClient(base_url=GRAPH, version="v25.0", page_token=token, app_secret="s", timeout=5)
