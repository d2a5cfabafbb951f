"""Replay corpus: every recorded webhook body runs through the real app and must do what its
expectation file says.

``tests/fixtures/webhooks/<name>.json`` is a delivery exactly as Meta sends it: compact,
pure ASCII, with Meta's escaping (``\\uXXXX``, ``\\/``, ``\\u0040``, ``\\u0025``, ``\\u003C``),
no trailing newline. Never reformat these files; ``.gitattributes`` keeps git's hands off them.
``<name>.expected.json`` is machine-written by the golden update below:

    {"bot_inputs": [{"conversation": "<page>:<psid>", "kind": "...", "text": "..."}, ...],
     "sends": [<Send API bodies as posted>, ...],
     "skipped": {"<reason>": <count>, ...}}

``bot_inputs`` is what the bot (Lex) was asked, ``sends`` every Graph Send API body (sender
actions included; a pass of thread control is its body with ``"_call": "pass_thread_control"``),
both grouped by conversation / recipient in a stable order while keeping the order within
each; ``skipped`` counts what was not answered and why: the reasons of
``bridge.messenger.events.parse_webhook`` as the webhook got them, ``duplicate`` for events the
queue already held, and ``<state>: <reason>`` for jobs that ended dropped or dead. Keys are sorted.

Each body is signed with the test secret, POSTed to ``/webhook`` of ``create_app`` (with the
Page id set to the corpus Page, so entries for other Pages are skipped as ``other_page``, and
the bridge's own app id set to ``OWN_APP_ID``, so handovers to it give the conversation back),
and delivery is driven synchronously with ``Delivery.run_once`` until the queue is idle, with
the Graph API recorded by ``responses`` and a scripted bot. The delivery clock is pinned to
just after the latest timestamp in the body (10-digit values read as seconds), so the
production 24-hour age limit applies to the fixtures' fixed timestamps as if they had just
arrived. Graph answers every call, except sends to ``NOT_OWNER_PSID``: those get error
10/2018300 (another app controls the conversation). The scripted bot asks for a person
(a ``Handover`` reply) when the input is ``human``.

Adding ``<name>.json`` adds a test; create or refresh expectations after an intended change
with ``make golden`` (``UPDATE_GOLDEN=1 .venv/bin/pytest -s tests/ops/test_replay_corpus.py``),
which rewrites the files from what the app did and prints the diff of each changed one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
from requests import PreparedRequest

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.delivery.loop import Delivery
from bridge.messenger import events
from bridge.messenger.events import Event, ParseResult, TokenUpdate, bot_input, conversation_key
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Button, Card, Handover, Reply, Text
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue import DeadLetter, NewJob, PutResult
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import GRAPH, TEST_SECRET, TEST_TOKEN, ScriptedBot, signed_headers
from tests.ops.corpus import (
    CORPUS,
    EXPECTED_SUFFIX,
    NOT_OWNER_PSID,
    OWN_APP_ID,
    arrival_time,
    body_names,
    body_path,
    expected_path,
)
from tests.support.ids import CORPUS_PAGE_ID as CORPUS_PAGE

MAX_TURNS = 500  # a guard against a delivery loop that never goes idle
UPDATE = os.environ.get("UPDATE_GOLDEN", "").strip() not in ("", "0")

# --- the scripted bot ----------------------------------------------------------------------

CARD = Card(
    title="Influenza (flu)",
    subtitle="Fever, cough, sore throat, aches",
    image_url="https://example.com/img/flu.png",
    buttons=(
        Button("Symptoms", "SYMPTOMS_FLU"),
        Button("Treatment", "TREATMENT_FLU"),
        Button("See a doctor", "SEE_A_DOCTOR"),
    ),
)
MENU = Card(
    title="What would you like to do?",
    buttons=(
        Button("Check symptoms", "CHECK_SYMPTOMS"),
        Button("Find a clinic", "FIND_CLINIC"),
        Button("Talk to a nurse", "TALK_TO_NURSE"),
    ),
)


def scripted_reply(event: Event) -> list[Reply]:
    """Deterministic from the input: "card" → text and a generic template, "menu" → text with
    quick replies, "human" → a text, then a pass to the Page Inbox; anything else →
    "echo: <input>"."""
    said = bot_input(event)
    command = said.strip().casefold()
    if command == "card":
        return [Text("Here is what I know:"), CARD]
    if command == "menu":
        return [MENU]
    if command == "human":
        return [Text("A nurse will answer you here."), Handover(metadata="asked for a nurse")]
    return [Text(f"echo: {said}")]


# --- one replay ------------------------------------------------------------------------------


class RecordingQueue(SqliteQueue):
    """The real queue, remembering what each ``put`` said (added, duplicates)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.puts: list[PutResult] = []

    def put(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
    ) -> PutResult:
        result = super().put(jobs, now=now, signals=signals, tokens=tokens)
        self.puts.append(result)
        return result


def _graph_answer(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
    body = json.loads(request.body or b"{}")
    recipient = str(body.get("recipient", {}).get("id", ""))
    if recipient == NOT_OWNER_PSID:
        error = {
            "message": "(#10) another app controls this thread",
            "type": "OAuthException",
            "code": 10,
            "error_subcode": 2018300,
            "fbtrace_id": "REPLAY",
        }
        return 400, {"Content-Type": "application/json"}, json.dumps({"error": error})
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:40]
    answer = {"recipient_id": recipient, "message_id": f"m_replay_{digest}"}
    return 200, {"Content-Type": "application/json"}, json.dumps(answer)


_REASON_DETAIL = re.compile(r"\s*\([^)]*\)")


def replay(
    raw: bytes, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Run one body through webhook, queue, worker, scripted bot and recorded Graph."""
    settings = replace(
        settings,
        graph=replace(settings.graph, page_id=CORPUS_PAGE, app_id=OWN_APP_ID),
        conversation=replace(settings.conversation, sender_actions=True),
    )
    parsed = spy_on_parsing(monkeypatch)
    queue = RecordingQueue(tmp_path / "replay.db")
    bot = ScriptedBot(scripted_reply)
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    arrived = arrival_time(decoded)
    now = arrived if arrived is not None else 1_800_000_000.0  # no timestamps: any fixed time
    calls, stats, ended = deliver(raw, settings, queue, bot, now=now)
    if not parsed and decoded is not None:  # the webhook no longer parses through events
        parsed.append(REAL_PARSE(decoded, pages=settings.served_pages))
    inputs = [
        {"conversation": conversation_key(event), "kind": event.kind, "text": bot_input(event)}
        for event in bot.turns
    ]
    sends = recorded_sends(calls, settings.graph.api_version)
    return {
        "bot_inputs": sorted(inputs, key=lambda turn: turn["conversation"]),
        "sends": sorted(sends, key=lambda send: str(send.get("recipient", {}).get("id", ""))),
        "skipped": dict(sorted(skip_counts(parsed, queue, ended, stats).items())),
    }


REAL_PARSE = events.parse_webhook


def spy_on_parsing(monkeypatch: pytest.MonkeyPatch) -> list[ParseResult]:
    """What ``parse_webhook`` returns from now on, as the webhook gets it."""
    parsed: list[ParseResult] = []

    def spy(body: object, **options: Any) -> ParseResult:
        result = REAL_PARSE(body, **options)
        parsed.append(result)
        return result

    monkeypatch.setattr(events, "parse_webhook", spy)
    return parsed


def deliver(
    raw: bytes, settings: Settings, queue: RecordingQueue, bot: ScriptedBot, *, now: float
) -> tuple[list[Any], dict[str, Any], list[DeadLetter]]:
    """POST ``raw`` to the webhook and deliver until the queue is idle, at time ``now``: the
    Graph calls, the queue's stats and the jobs that ended unanswered."""
    app = create_app(settings, queue=queue, bot=bot, graph=graph_client(settings))
    services = app.extensions["bridge"]
    handler = services.turn_handler(1)
    delivery = Delivery(
        services.queue,
        handler,
        threads=1,
        poll_interval=settings.delivery.poll_interval,
        limits=services.limits(),
        clock=lambda: now,
    )
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as graph_api:
            graph_api.add_callback(
                responses.POST, re.compile(re.escape(GRAPH) + r"/.*"), callback=_graph_answer
            )
            response = app.test_client().post("/webhook", data=raw, headers=signed_headers(raw))
            assert response.status_code == 200, (
                f"the webhook answered {response.status_code} {response.get_data(as_text=True)!r}"
            )
            run_until_idle(delivery)
            calls = list(graph_api.calls)
        return calls, queue.stats(now=now), queue.dead_letters(include_dropped=True, limit=10_000)
    finally:
        handler.close()
        queue.close()


def graph_client(settings: Settings) -> GraphClient:
    return GraphClient(
        base_url=GRAPH,
        version=settings.graph.api_version,
        page_token=TEST_TOKEN,
        app_secret=TEST_SECRET,
        timeout=5,
    )


def run_until_idle(delivery: Delivery) -> None:
    for _ in range(MAX_TURNS):
        if not delivery.run_once("replay"):
            break
    else:
        pytest.fail(f"delivery still busy after {MAX_TURNS} turns")


def recorded_sends(calls: list[Any], version: str) -> list[dict[str, Any]]:
    """The body of every Graph call, a pass of thread control marked with ``_call``."""
    sends = []
    for call in calls:
        path = urlsplit(call.request.url).path
        assert call.request.method == "POST" and path in (
            f"/{version}/me/messages",
            f"/{version}/me/pass_thread_control",
        ), (
            f"unexpected Graph call {call.request.method} {call.request.url}; "
            "extend the replay harness to record it"
        )
        body = json.loads(call.request.body or b"{}")
        if path.endswith("/pass_thread_control"):
            body["_call"] = "pass_thread_control"
        sends.append(body)
    return sends


def skip_counts(
    parsed: list[ParseResult],
    queue: RecordingQueue,
    ended: list[DeadLetter],
    stats: dict[str, Any],
) -> Counter[str]:
    """Why what was not answered was not: parse reasons, duplicates, ended jobs, unfinished."""
    skipped = Counter(skip.reason for result in parsed for skip in result.skipped)
    duplicates = sum(put.duplicates for put in queue.puts)
    if duplicates:
        skipped["duplicate"] += duplicates
    for job in ended:
        skipped[f"{job.state}: {_REASON_DETAIL.sub('', job.reason or '').strip()}"] += 1
    unfinished = stats["queued"] + stats["running"]
    if unfinished:
        skipped["unfinished"] += unfinished
    return skipped


def serialise(expectation: dict[str, Any]) -> str:
    return json.dumps(expectation, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def unified_diff(old: str, new: str, name: str, labels: tuple[str, str]) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{name}{EXPECTED_SUFFIX} ({labels[0]})",
            tofile=f"{name}{EXPECTED_SUFFIX} ({labels[1]})",
        )
    )


# --- the golden update -----------------------------------------------------------------------

_GOLDEN: dict[str, str] = {}  # fixture name → created, changed or unchanged


@pytest.fixture(scope="module", autouse=True)
def golden_summary() -> Iterator[None]:
    yield
    if UPDATE and _GOLDEN:
        counts = Counter(_GOLDEN.values())
        changed = sorted(name for name, status in _GOLDEN.items() if status != "unchanged")
        print(
            f"\ngolden: {counts['created']} created, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged" + "".join(f"\n  {name}" for name in changed)
        )


def write_golden(name: str, actual: str) -> None:
    path = expected_path(name)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if old == actual:
        _GOLDEN[name] = "unchanged"
        return
    path.write_text(actual, encoding="utf-8")
    _GOLDEN[name] = "changed" if old else "created"
    print(f"\n{unified_diff(old, actual, name, ('old', 'new'))}", end="")


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", body_names())
def test_replay(
    name: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actual = serialise(replay(body_path(name).read_bytes(), settings, tmp_path, monkeypatch))
    if UPDATE:
        write_golden(name, actual)
        return
    path = expected_path(name)
    if not path.exists():
        pytest.fail(
            f"{body_path(name).name} has no expectation file {path.name}: create it with "
            "`make golden` (UPDATE_GOLDEN=1 .venv/bin/pytest -s tests/ops/test_replay_corpus.py), "
            "then review it",
            pytrace=False,
        )
    expected_text = path.read_text(encoding="utf-8")
    if json.loads(expected_text) != json.loads(actual):
        pytest.fail(
            f"replaying {body_path(name).name} did not do what {path.name} says "
            "(run `make golden` if the change is intended):\n"
            + unified_diff(
                serialise(json.loads(expected_text)), actual, name, ("expected", "actual")
            ),
            pytrace=False,
        )


def test_every_expectation_file_has_its_body() -> None:
    orphans = sorted(
        path.name
        for path in CORPUS.glob(f"*{EXPECTED_SUFFIX}")
        if not body_path(path.name[: -len(EXPECTED_SUFFIX)]).exists()
    )
    assert not orphans, f"expectation files without a body: {orphans}"
