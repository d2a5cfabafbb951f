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
from collections.abc import Callable, Iterator, Sequence
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
from bridge.messenger.events import Event, ParseResult, bot_input, conversation_key
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Button, Card, Handover, Reply, Text
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue import NewJob, PutResult
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import GRAPH, TEST_SECRET, TEST_TOKEN, ScriptedBot, signed_headers

CORPUS = Path(__file__).parents[1] / "fixtures" / "webhooks"
EXPECTED_SUFFIX = ".expected.json"
CORPUS_PAGE = "104859375629481"
MIN_PAIRS = 30
MAX_TURNS = 500  # a guard against a delivery loop that never goes idle
UPDATE = os.environ.get("UPDATE_GOLDEN", "").strip() not in ("", "0")

PAGE_INBOX_APP_ID = 263902037430900
OWN_APP_ID = "1517776481860111"
NOT_OWNER_PSID = "2018300000000001"
LIKE_STICKER_ID = 369239263222822

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


# --- the corpus ------------------------------------------------------------------------------


def body_path(name: str) -> Path:
    return CORPUS / f"{name}.json"


def expected_path(name: str) -> Path:
    return CORPUS / f"{name}{EXPECTED_SUFFIX}"


def body_names() -> list[str]:
    """Every delivery in the corpus: ``<name>.json`` that is not an expectation file."""
    return sorted(
        path.name[: -len(".json")]
        for path in CORPUS.glob("*.json")
        if not path.name.endswith(EXPECTED_SUFFIX)
    )


def items(body: Any) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(``messaging`` or ``standby``, entry, item) for every messaging item of a body."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        return
    for entry in body["entry"]:
        if not isinstance(entry, dict):
            continue
        for where in ("messaging", "standby"):
            listed = entry.get(where)
            for item in listed if isinstance(listed, list) else []:
                if isinstance(item, dict):
                    yield where, entry, item


def _millis(value: object) -> int | None:
    """A Messenger time as epoch milliseconds; 10-digit values are taken for seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int | float):
        number = int(value)
        return number * 1000 if number < 10**11 else number
    return None


def arrival_time(body: Any) -> float | None:
    """When Meta sent the body: just after its latest timestamp (None if it has none)."""
    stamps = [
        ms
        for entry in (body.get("entry") if isinstance(body, dict) else None) or []
        if isinstance(entry, dict)
        for ms in [_millis(entry.get("time"))]
        if ms is not None
    ]
    stamps += [
        ms
        for _, _, item in items(body)
        for ms in [_millis(item.get("timestamp"))]
        if ms is not None
    ]
    return max(stamps) / 1000 + 1.0 if stamps else None


# --- one replay ------------------------------------------------------------------------------


class RecordingQueue(SqliteQueue):
    """The real queue, remembering what each ``put`` said (added, duplicates)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.puts: list[PutResult] = []

    def put(
        self, jobs: list[NewJob], *, now: float, signals: Sequence[ThreadSignal] = ()
    ) -> PutResult:
        result = super().put(jobs, now=now, signals=signals)
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
    settings = replace(settings, page_id=CORPUS_PAGE, app_id=OWN_APP_ID, sender_actions=True)
    parsed: list[ParseResult] = []
    real_parse = events.parse_webhook

    def spy(body: object, **options: Any) -> ParseResult:
        result = real_parse(body, **options)
        parsed.append(result)
        return result

    monkeypatch.setattr(events, "parse_webhook", spy)
    queue = RecordingQueue(tmp_path / "replay.db")
    bot = ScriptedBot(scripted_reply)
    graph = GraphClient(
        base_url=GRAPH,
        version=settings.graph_api_version,
        page_token=TEST_TOKEN,
        app_secret=TEST_SECRET,
        timeout=5,
    )
    app = create_app(settings, queue=queue, bot=bot, graph=graph)
    services = app.extensions["bridge"]
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    arrived = arrival_time(decoded)
    now = arrived if arrived is not None else 1_800_000_000.0  # no timestamps: any fixed time
    handler = services.turn_handler(1)
    delivery = Delivery(
        services.queue,
        handler,
        threads=1,
        poll_interval=settings.poll_interval,
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
            for _ in range(MAX_TURNS):
                if not delivery.run_once("replay"):
                    break
            else:
                pytest.fail(f"delivery still busy after {MAX_TURNS} turns")
            calls = list(graph_api.calls)
        stats = queue.stats(now=now)
        ended = queue.dead_letters(include_dropped=True, limit=10_000)
    finally:
        handler.close()
        queue.close()

    version = settings.graph_api_version
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

    if not parsed and decoded is not None:  # the webhook no longer parses through events
        parsed.append(real_parse(decoded, pages=settings.served_pages))
    skipped = Counter(skip.reason for result in parsed for skip in result.skipped)
    duplicates = sum(put.duplicates for put in queue.puts)
    if duplicates:
        skipped["duplicate"] += duplicates
    for job in ended:
        skipped[f"{job.state}: {_REASON_DETAIL.sub('', job.reason or '').strip()}"] += 1
    unfinished = stats["queued"] + stats["running"]
    if unfinished:
        skipped["unfinished"] += unfinished

    inputs = [
        {"conversation": conversation_key(event), "kind": event.kind, "text": bot_input(event)}
        for event in bot.turns
    ]
    return {
        "bot_inputs": sorted(inputs, key=lambda turn: turn["conversation"]),
        "sends": sorted(sends, key=lambda send: str(send.get("recipient", {}).get("id", ""))),
        "skipped": dict(sorted(skipped.items())),
    }


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


def test_bodies_are_raw_meta_bytes() -> None:
    """Pure ASCII with Meta's escaping, one line, no trailing newline, valid JSON."""
    assert (CORPUS / ".gitattributes").read_text().split() == ["*.json", "-text"]
    problems = []
    for name in body_names():
        raw = body_path(name).read_bytes()
        if not raw.isascii():
            problems.append(f"{name}: not pure ASCII (Meta sends \\uXXXX escapes)")
        if b"\n" in raw or b"\r" in raw:
            problems.append(f"{name}: has a line break (Meta sends one compact line)")
        if re.search(rb"(?<!\\)/", raw) or b"@" in raw:
            problems.append(f"{name}: an unescaped / or @ (Meta sends \\/ and \\u0040)")
        try:
            json.loads(raw)
        except ValueError as exc:
            problems.append(f"{name}: not JSON ({exc})")
    assert not problems, "\n".join(problems)


# The event keys a messaging item is dispatched on (messenger.md §4) and the message keys we
# know; anything else in a body counts as an unknown (future) type or field.
KNOWN_EVENT_KEYS = {
    "message",
    "postback",
    "referral",
    "optin",
    "delivery",
    "read",
    "reaction",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "account_linking",
    "policy_enforcement",
    "message_edit",
}
KNOWN_ITEM_KEYS = {"sender", "recipient", "timestamp", *KNOWN_EVENT_KEYS}
KNOWN_ENTRY_KEYS = {"id", "time", "messaging", "standby"}
KNOWN_MESSAGE_KEYS = {
    "mid",
    "text",
    "quick_reply",
    "reply_to",
    "attachments",
    "referral",
    "commands",
    "sticker_id",
    "is_echo",
    "app_id",
    "metadata",
}

Check = Callable[[Any, bytes], bool]


def _messages(body: Any, *, echo: bool = False) -> Iterator[dict[str, Any]]:
    for where, _, item in items(body):
        message = item.get("message")
        if where == "messaging" and isinstance(message, dict):
            if bool(message.get("is_echo")) == echo:
                yield message


def _attachments(body: Any) -> Iterator[dict[str, Any]]:
    for message in _messages(body):
        for attachment in message.get("attachments") or []:
            if isinstance(attachment, dict):
                yield attachment


def _events(body: Any, key: str) -> Iterator[tuple[dict[str, Any], Any]]:
    for where, _, item in items(body):
        if where == "messaging" and key in item:
            yield item, item[key]


def _attachment(kind: str, payload: bool | None = None, sticker: bool = False) -> Check:
    def check(body: Any, raw: bytes) -> bool:
        return any(
            a.get("type") == kind
            and (payload is None or bool(a.get("payload")) == payload)
            and (("sticker_id" in (a.get("payload") or {})) == sticker)
            for a in _attachments(body)
        )

    return check


def _event(key: str, test: Callable[[dict[str, Any], Any], bool] = lambda i, e: True) -> Check:
    return lambda body, raw: any(test(item, event) for item, event in _events(body, key))


def _korean_and_emoji_escaped(body: Any, raw: bytes) -> bool:
    texts = [str(m.get("text", "")) for m in _messages(body)]
    return (
        any(
            re.search("[\uac00-\ud7a3]", t) and re.search("[\U00010000-\U0010ffff]", t)
            for t in texts
        )
        and b"\\/" in raw
        and b"\\u0040" in raw
    )


def _duplicate_mid(body: Any, raw: bytes) -> bool:
    mids = Counter(str(m.get("mid")) for m in _messages(body) if m.get("mid"))
    return any(count > 1 for count in mids.values())


def _out_of_order(body: Any, raw: bytes) -> bool:
    seen: dict[str, int] = {}
    for _, _, item in items(body):
        sender, ms = str((item.get("sender") or {}).get("id")), _millis(item.get("timestamp"))
        if ms is None:
            continue
        if sender in seen and ms < seen[sender]:
            return True
        seen[sender] = max(ms, seen.get(sender, 0))
    return False


def _inbox_echo_then_message(body: Any, raw: bytes) -> bool:
    """A Page Inbox echo to a person, and a later message of that person."""
    echoed: dict[str, int] = {}
    for _, _, item in items(body):
        message = item.get("message") or {}
        ms = _millis(item.get("timestamp")) or 0
        if message.get("is_echo") and message.get("app_id") == PAGE_INBOX_APP_ID:
            echoed[str((item.get("recipient") or {}).get("id"))] = ms
        elif "message" in item and not message.get("is_echo"):
            sender = str((item.get("sender") or {}).get("id"))
            if sender in echoed and ms > echoed[sender]:
                return True
    return False


def _standby_then_messaging(body: Any, raw: bytes) -> bool:
    standby = {
        str((item.get("sender") or {}).get("id"))
        for where, _, item in items(body)
        if where == "standby" and "message" in item
    }
    return any(
        str((item.get("sender") or {}).get("id")) in standby
        for where, _, item in items(body)
        if where == "messaging" and "message" in item
    )


COVERAGE: dict[str, Check] = {
    "text": lambda b, r: any(m.get("text") and "quick_reply" not in m for m in _messages(b)),
    "text: Korean + emoji, \\uXXXX \\/ \\u0040 kept": _korean_and_emoji_escaped,
    "quick_reply": lambda b, r: any("quick_reply" in m for m in _messages(b)),
    "postback": _event("postback", lambda i, e: "referral" not in e and e.get("mid")),
    "postback with referral": _event("postback", lambda i, e: "referral" in e),
    "postback: Get Started": _event("postback", lambda i, e: e.get("payload") == "GET_STARTED"),
    "postback without mid": _event("postback", lambda i, e: "mid" not in e),
    "attachment: image": _attachment("image"),
    "attachment: audio": _attachment("audio"),
    "attachment: video": _attachment("video"),
    "attachment: file": _attachment("file"),
    "attachment: fallback with payload": _attachment("fallback", payload=True),
    "attachment: fallback without payload": _attachment("fallback", payload=False),
    "sticker, old style (image with sticker_id)": lambda b, r: any(
        a.get("type") == "image" and (a.get("payload") or {}).get("sticker_id") == LIKE_STICKER_ID
        for a in _attachments(b)
    ),
    "sticker, new style": _attachment("sticker", sticker=True),
    "attachment: location": _attachment("location"),
    "reply_to": lambda b, r: any("reply_to" in m for m in _messages(b)),
    "referral (m.me)": _event("referral", lambda i, e: e.get("source") == "SHORTLINK"),
    "referral (ads)": _event("referral", lambda i, e: e.get("source") == "ADS"),
    "optin: classic, user_ref, no sender": _event(
        "optin", lambda i, e: "user_ref" in e and "sender" not in i
    ),
    "optin: notification_messages": _event(
        "optin", lambda i, e: e.get("type") == "notification_messages"
    ),
    "delivery": _event("delivery"),
    "read": _event("read"),
    "reaction": _event("reaction"),
    "echo (own app)": lambda b, r: any(
        m.get("app_id") != PAGE_INBOX_APP_ID for m in _messages(b, echo=True)
    ),
    "echo (Page Inbox app)": lambda b, r: any(
        m.get("app_id") == PAGE_INBOX_APP_ID for m in _messages(b, echo=True)
    ),
    "standby": lambda b, r: any(where == "standby" for where, _, _ in items(b)),
    "pass_thread_control": _event("pass_thread_control"),
    "take_thread_control": _event("take_thread_control"),
    "request_thread_control": _event("request_thread_control"),
    "app_roles": _event("app_roles"),
    "account_linking": _event("account_linking"),
    "policy_enforcement": _event("policy_enforcement"),
    "message_edit": _event("message_edit"),
    "message from an ad (message.referral)": lambda b, r: any(
        "referral" in m for m in _messages(b)
    ),
    "postback from a chat plugin (sender.user_ref)": _event(
        "postback", lambda i, e: "user_ref" in (i.get("sender") or {})
    ),
    "several entries": lambda b, r: len(b.get("entry") or []) > 1,
    "several items in one entry": lambda b, r: any(
        len(e.get("messaging") or []) > 1 for e in b.get("entry") or []
    ),
    "several pages": lambda b, r: len({str(e.get("id")) for e in b.get("entry") or []}) > 1,
    "unknown event type": lambda b, r: any(
        not KNOWN_EVENT_KEYS & item.keys() for where, _, item in items(b) if where == "messaging"
    ),
    "unknown fields": lambda b, r: (
        any(m.keys() - KNOWN_MESSAGE_KEYS for m in _messages(b))
        and any(
            KNOWN_EVENT_KEYS & item.keys() and item.keys() - KNOWN_ITEM_KEYS
            for _, _, item in items(b)
        )
        and any(e.keys() - KNOWN_ENTRY_KEYS for e in b.get("entry") or [])
    ),
    "duplicate mid in one delivery": _duplicate_mid,
    "timestamps as strings": lambda b, r: any(
        isinstance(item.get("timestamp"), str) for _, _, item in items(b)
    ),
    "Page Inbox echo, then the person writes": _inbox_echo_then_message,
    "standby, then the same person in messaging": _standby_then_messaging,
    "thread control passed back to the bridge's app": _event(
        "pass_thread_control", lambda i, e: str(e.get("new_owner_app_id")) == OWN_APP_ID
    ),
    "thread control taken by the Page Inbox": _event(
        "take_thread_control", lambda i, e: str(e.get("new_owner_app_id")) == str(PAGE_INBOX_APP_ID)
    ),
    "the bot asks for a person (scripted: human)": lambda b, r: any(
        m.get("text") == "human" for m in _messages(b)
    ),
    "sends refused: another app owns the thread": lambda b, r: any(
        (item.get("sender") or {}).get("id") == NOT_OWNER_PSID for _, _, item in items(b)
    ),
    "out-of-order timestamps for one user": _out_of_order,
}


def test_corpus_covers_every_shape() -> None:
    names = body_names()
    assert len(names) >= MIN_PAIRS, f"the corpus has {len(names)} deliveries, wants {MIN_PAIRS}"
    bodies = {name: body_path(name).read_bytes() for name in names}
    decoded = {name: json.loads(raw) for name, raw in bodies.items()}
    covered = {
        shape: [name for name in names if check(decoded[name], bodies[name])]
        for shape, check in COVERAGE.items()
    }
    missing = [shape for shape, where in covered.items() if not where]
    assert not missing, f"no fixture covers: {missing}"
