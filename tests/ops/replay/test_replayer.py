"""``python -m bridge replay`` (bridge/ops/replay.py): the pure parts, then the command through
click's runner against a fake non-local server and a real local-mode bridge."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bridge.cli import main
from bridge.config.hosts import is_loopback_url
from bridge.config.settings import LOCAL_APP_SECRET, LOCAL_PAGE_ID
from bridge.errors import NotAWebhookBody
from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature, sign
from bridge.ops.replay import replayer
from bridge.ops.replay.replayer import (
    EventState,
    Outcome,
    Pacer,
    choose_secret,
    find_files,
    format_outcome,
    format_summary,
    load_body,
    local_url,
    outcome_json,
    percentile,
    request_headers,
    summarise,
    summary_json,
    wants_progress,
    webhook_url,
)
from tests.local.test_localmode import not_understood
from tests.support.server import Bridge, add_fault, clear_faults, start_bridge, stop_bridge

# --- bodies as Meta sends them ------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)  # the bridge drops events older than 24 hours


def mid() -> str:
    return f"m_{uuid.uuid4().hex}"


def psid() -> str:
    return str(5_000_000_000_000_000 + uuid.uuid4().int % 10**15)


def text(sender: str, words: str, key: str | None = None) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": LOCAL_PAGE_ID},
        "timestamp": now_ms(),
        "message": {"mid": key or mid(), "text": words},
    }


def echo(sender: str) -> dict[str, Any]:
    return {
        "sender": {"id": LOCAL_PAGE_ID},
        "recipient": {"id": sender},
        "timestamp": now_ms(),
        "message": {"mid": mid(), "is_echo": True, "app_id": 1234, "text": "from the page"},
    }


def meta(*items: dict[str, Any]) -> bytes:
    """Compact, ASCII with \\uXXXX escapes and ``\\/``: re-serialising would change the bytes."""
    body = {
        "object": "page",
        "entry": [{"id": LOCAL_PAGE_ID, "time": now_ms(), "messaging": list(items)}],
    }
    return json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode()


# --- finding files --------------------------------------------------------------------------------


def test_directories_give_their_bodies_sorted_without_expectations_or_index(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "nested").mkdir(parents=True)
    for name in ("b.json", "a.json", "a.expected.json", "index.json", "index.jsonl", "notes.txt"):
        (corpus / name).write_text("{}")
    (corpus / "nested" / "c.json").write_text("{}")
    single = tmp_path / "z.json"
    single.write_text("{}")
    assert find_files([single, corpus, single]) == [
        single,
        corpus / "a.json",
        corpus / "b.json",
        single,  # files are taken as named, in order, even twice
    ]


def test_a_directory_without_bodies_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "only.expected.json").write_text("{}")
    with pytest.raises(ValueError, match=f"no webhook bodies \\(\\*.json\\) in {tmp_path}"):
        find_files([tmp_path])


# --- checking bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n", "empty file"),
        (b"\xef\xbb\xbf{}", "starts with a byte-order mark, which Meta never sends"),
        (b'{"object":"page","entry":["\xff"]}', "not UTF-8 (byte 0xff at offset 27)"),
        (b'{"object":', "not JSON (Expecting value at line 1 column 11)"),
        (b"[1, 2]", "not a webhook body: the top level is a list"),
        (b'"page"', "not a webhook body: the top level is a string"),
        (b'{"entry": []}', 'not a webhook body: no "object" field'),
        (b'{"object": "page"}', 'not a webhook body: no "entry" list'),
        (
            b'{"object": "page", "entry": {}}',
            'not a webhook body: "entry" is an object, not a list',
        ),
        (b'{"object": "page", "entry": null}', 'not a webhook body: "entry" is null, not a list'),
    ],
)
def test_a_file_that_is_not_a_webhook_body_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(NotAWebhookBody) as error:
        load_body(data)
    assert str(error.value) == reason


def test_a_body_keeps_its_bytes_and_names_its_events_senders_and_skips() -> None:
    tap = {
        "sender": {"id": "7"},
        "recipient": {"id": LOCAL_PAGE_ID},
        "timestamp": 1700000000000,
        "postback": {"title": "Get Started", "payload": "GET_STARTED"},  # no mid: derived key
    }
    first = text("7", "héllo / 안녕", "m_1")
    data = meta(
        first, text("8", "second", "m_2"), first, tap, echo("7"), {"read": {"watermark": 1}}
    )
    body = load_body(data)
    assert body.data is data
    assert [(e.key[:8], e.sender) for e in body.events] == [
        ("m_1", "7"),
        ("m_2", "8"),  # the repeated item is one job
        ("derived:", "7"),
    ]
    assert body.senders == ["7", "8"]
    assert body.skipped == ("echo", "read")


def test_a_body_of_another_object_type_is_sent_with_nothing_to_follow() -> None:
    body = load_body(b'{"object":"instagram","entry":[]}')
    assert (body.events, body.skipped) == ((), ("not_page_object",))


# --- URLs, secrets, signatures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "webhook", "status"),
    [
        (
            "http://127.0.0.1:8000",
            "http://127.0.0.1:8000/webhook",
            "http://127.0.0.1:8000/local/status",
        ),
        (
            "http://127.0.0.1:8000/",
            "http://127.0.0.1:8000/webhook",
            "http://127.0.0.1:8000/local/status",
        ),
        (
            "https://bot.example.com/webhook",
            "https://bot.example.com/webhook",
            "https://bot.example.com/local/status",
        ),
        (
            "https://bot.example.com/webhook/",
            "https://bot.example.com/webhook",
            "https://bot.example.com/local/status",
        ),
        (
            "https://example.com/fb/",
            "https://example.com/fb/webhook",
            "https://example.com/fb/local/status",
        ),
        ("http://[::1]:9/x?t=1", "http://[::1]:9/x/webhook?t=1", "http://[::1]:9/x/local/status"),
    ],
)
def test_webhook_is_appended_unless_the_url_ends_with_it(
    url: str, webhook: str, status: str
) -> None:
    assert webhook_url(url) == webhook
    assert local_url(webhook_url(url), "status") == status


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host/", "http://", "http://h:port/"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="--url"):
        webhook_url(url)


def test_loopback_hosts_and_the_local_secret() -> None:
    for url in ("http://127.0.0.1:8000", "http://127.9.9.9", "http://localhost:1", "http://[::1]/"):
        assert is_loopback_url(url), url
        assert choose_secret(None, url) == LOCAL_APP_SECRET
        assert choose_secret("mine", url) == "mine"
    for url in ("http://10.0.0.1", "https://bot.example.com", "http://127.0.0.1.nip.io"):
        assert not is_loopback_url(url), url
        assert choose_secret("mine", url) == "mine"
        with pytest.raises(ValueError, match="pass --secret or set FB_APP_SECRET"):
            choose_secret(None, url)
    with pytest.raises(ValueError):
        choose_secret("", "https://bot.example.com")


def test_the_signature_covers_the_exact_bytes() -> None:
    data = meta(text("7", "héllo </b> 😀"))
    headers = request_headers(data, "s3cret")
    assert headers["Content-Type"] == "application/json"
    assert is_valid_signature("s3cret", data, headers[SIGNATURE_HEADER])
    reserialised = json.dumps(json.loads(data), separators=(",", ":")).encode()
    assert reserialised != data  # Meta's escapes are lost by a round trip...
    assert not is_valid_signature("s3cret", reserialised, headers[SIGNATURE_HEADER])  # ...and so
    assert headers[SIGNATURE_HEADER] == sign("s3cret", data)


# --- pacing, summaries, output ----------------------------------------------------------------


def test_the_pacer_spaces_sends_and_never_bursts_to_catch_up() -> None:
    pacer = Pacer(rate=10)
    assert pacer.delay(100.0) == 0.0  # the first goes at once, at 100.0
    assert pacer.delay(100.0) == pytest.approx(0.1)  # due at 100.1
    assert pacer.delay(100.15) == pytest.approx(0.05)  # due at 100.2
    assert pacer.delay(105.0) == 0.0  # late: goes now...
    assert pacer.delay(105.0) == pytest.approx(0.1)  # ...and the next is 1/rate after it
    assert Pacer(rate=None).delay(1.0) == 0.0


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile([], 50) is None


def outcomes() -> list[Outcome]:
    done = [EventState("m_1", "7", "done"), EventState("m_2", "8", "dropped")]
    return [
        Outcome(
            "a.json",
            1,
            200,
            4.0,
            events=done,
            followed=True,
            replies=[
                {"recipient": {"id": "7"}, "sender_action": "typing_on"},
                {"recipient": {"id": "7"}, "message": {"text": "hi\nthere"}},
            ],
        ),
        Outcome("a.json", 2, 200, 2.0, events=[EventState("m_1", "7")]),
        Outcome("b.json", 1, 403, 10.0),
        Outcome("c.json", 1, None, 30.0, error="could not send: ConnectionError"),
        Outcome("d.json", None, error="not JSON (Expecting value at line 1 column 1)"),
        Outcome(
            "e.json",
            1,
            200,
            6.0,
            events=[EventState("m_3", "9", "running")],
            followed=True,
            timed_out=True,
        ),
    ]


def test_the_summary_counts_and_latencies() -> None:
    summary = summarise(outcomes())
    assert (summary.sent, summary.accepted, summary.refused, summary.failed, summary.invalid) == (
        5,
        3,
        1,
        1,
        1,
    )
    # The failed send has no answer and so no latency: 2, 4, 6, 10.
    assert (summary.p50_ms, summary.p95_ms, summary.max_ms) == (4.0, 10.0, 10.0)
    assert summary.states == {"done": 1, "dropped": 1, "running": 1}
    assert summary.unfinished == 1
    assert not summary.ok
    good = summarise([outcomes()[0], outcomes()[1]])
    assert good.ok
    assert not summarise([]).ok
    assert not summarise([outcomes()[0]], interrupted=True).ok


def test_json_lines_have_one_shape() -> None:
    lines = [json.loads(outcome_json(o)) for o in outcomes()]
    assert {tuple(line) for line in lines} == {
        (
            "file",
            "attempt",
            "status",
            "latency_ms",
            "error",
            "events",
            "skipped",
            "replies",
            "followed",
            "timed_out",
        )
    }
    first = lines[0]
    assert first["events"] == [
        {"key": "m_1", "sender": "7", "state": "done"},
        {"key": "m_2", "sender": "8", "state": "dropped"},
    ]
    assert first["replies"][1] == {"recipient": {"id": "7"}, "message": {"text": "hi\nthere"}}
    assert lines[4]["attempt"] is None and lines[4]["error"].startswith("not JSON")
    summary = json.loads(summary_json(summarise(outcomes())))["summary"]
    assert summary["latency_ms"] == {"p50": 4.0, "p95": 10.0, "max": 10.0}
    assert (summary["sent"], summary["refused"], summary["ok"]) == (5, 1, False)


def test_lines_show_status_latency_jobs_and_replies() -> None:
    first, second, refused, failed, _, late = outcomes()
    assert format_outcome(first, width=8, repeat=2) == [
        "a.json   #1  200    4.0 ms  2 events",
        "  7  m_1 done",
        "    bot> hi",
        "         there",
        "  8  m_2 dropped",
        "    (no reply)",
    ]
    assert format_outcome(second, width=8, repeat=2) == ["a.json   #2  200    2.0 ms  1 event"]
    assert format_outcome(refused) == ["b.json  403     10 ms  refused"]
    assert format_outcome(failed) == ["c.json  ---     30 ms  could not send: ConnectionError"]
    assert format_outcome(late)[-1] == "  (not finished within the --wait time)"
    skipped = Outcome("echo.json", 1, 200, 1.25, skipped=["echo", "read", "read"])
    assert format_outcome(skipped) == ["echo.json  200    1.2 ms  skipped: echo, read ×2"]
    assert format_summary(summarise(outcomes())) == [
        "sent 5: 3 accepted, 1 refused, 1 failed to send; 1 file not a webhook body",
        "latency p50 4.0 ms, p95 10 ms, max 10 ms",
        "jobs: 1 done, 1 dropped, 1 running (1 delivery not finished in time)",
    ]


def test_a_progress_bar_only_for_long_runs() -> None:
    assert not wants_progress(20, as_json=False, stderr_tty=True)
    assert wants_progress(21, as_json=False, stderr_tty=False)
    assert wants_progress(21, as_json=True, stderr_tty=True)
    assert not wants_progress(21, as_json=True, stderr_tty=False)


# --- the command against a server that is not in local mode -----------------------------------


class FakeServer:
    """Answers POST <prefix>/webhook with ``status`` and 404 to everything else; records posts."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[tuple[str, bytes, str | None]] = []
        self.server = make_server("127.0.0.1", 0, self.app)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.method == "POST" and request.path.endswith("/webhook"):
            self.posts.append(
                (request.path, request.get_data(), request.headers.get(SIGNATURE_HEADER))
            )
            response = Response("EVENT_RECEIVED", status=self.status)
        else:
            response = Response("Not Found", status=404)
        return response(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["replay", *args], env=env)


def test_a_server_not_in_local_mode_gets_the_exact_bytes_and_statuses_only(
    fake: FakeServer, tmp_path: Path
) -> None:
    data = meta(text("7", "héllo / 안녕 😀"))
    (tmp_path / "one.json").write_bytes(data)
    result = invoke(str(tmp_path / "one.json"), "--url", f"{fake.url}/hooks/", "--secret", "s")
    assert result.exit_code == 0, result.output
    [(path, body, signature)] = fake.posts
    assert (path, body) == ("/hooks/webhook", data)
    assert is_valid_signature("s", data, signature)
    assert "statuses only: not a bridge in local mode" in result.stderr
    assert result.stdout.splitlines()[0].split()[:2] == [str(tmp_path / "one.json"), "200"]
    assert "jobs:" not in result.stdout


def test_the_secret_comes_from_the_environment_before_the_local_default(
    fake: FakeServer, tmp_path: Path
) -> None:
    data = meta(text("7", "hi"))
    (tmp_path / "one.json").write_bytes(data)
    assert (
        invoke(str(tmp_path), "--url", fake.url, env={"FB_APP_SECRET": "from-env"}).exit_code == 0
    )
    assert invoke(str(tmp_path), "--url", fake.url).exit_code == 0
    assert [signature for _, _, signature in fake.posts] == [
        sign("from-env", data),
        sign(LOCAL_APP_SECRET, data),
    ]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_bytes(meta(text("7", "hi")))
    result = invoke(str(tmp_path), "--url", "https://bot.example.com")
    assert result.exit_code == 2
    assert "no app secret to sign with: pass --secret or set FB_APP_SECRET" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(str(empty), "--url", "http://127.0.0.1:1")
    assert result.exit_code == 2 and "no webhook bodies" in result.output
    assert invoke(str(tmp_path / "missing.json")).exit_code == 2
    assert invoke(str(tmp_path), "--repeat", "0").exit_code == 2
    assert invoke(str(tmp_path), "--url", "ftp://127.0.0.1").exit_code == 2
    assert invoke().exit_code == 2


def test_an_unreachable_bridge_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_bytes(meta(text("7", "hi")))
    with make_server("127.0.0.1", 0, lambda e, s: []) as closed:
        port = closed.server_port  # bound, then closed: nothing listens there
    result = invoke(str(tmp_path), "--url", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert f"cannot reach the bridge at http://127.0.0.1:{port}/webhook" in result.stderr
    result = invoke(str(tmp_path), "--url", f"http://127.0.0.1:{port}", "--no-wait")
    assert result.exit_code == 1
    assert "could not send: ConnectionError" in result.stdout
    assert "0 accepted, 0 refused, 1 failed to send" in result.stdout


def test_the_rate_paces_the_stream(fake: FakeServer, tmp_path: Path) -> None:
    (tmp_path / "one.json").write_bytes(meta(text("7", "hi")))
    started = time.monotonic()
    result = invoke(str(tmp_path), "--url", fake.url, "--repeat", "5", "--rate", "50")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert len(fake.posts) == 5
    assert 0.08 <= elapsed < 5  # four gaps of 20 ms at least


# --- the command against a real bridge in local mode ------------------------------------------


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    # FB_PAGE_ID set: deliveries for other Pages are ignored (not queued), as in production.
    server = start_bridge(tmp_path_factory.mktemp("bridge"), FB_PAGE_ID=LOCAL_PAGE_ID)
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


@pytest.mark.e2e
def test_a_directory_is_replayed_and_the_replies_and_job_states_shown(
    bridge: Bridge, tmp_path: Path
) -> None:
    alone, first, second = psid(), psid(), psid()
    keys = [mid(), mid(), mid()]
    (tmp_path / "1-text.json").write_bytes(meta(text(alone, "good morning", keys[0])))
    (tmp_path / "2-batch.json").write_bytes(
        meta(text(first, "first words", keys[1]), text(second, "second words", keys[2]))
    )
    (tmp_path / "3-echo.json").write_bytes(meta(echo(alone)))
    (tmp_path / "3-echo.expected.json").write_text('{"sends": []}')
    (tmp_path / "index.jsonl").write_text('{"file": "1-text.json"}\n')
    result = invoke(str(tmp_path), "--url", bridge.url)
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    heads = [line.split()[:2] for line in out if not line.startswith(" ")]
    assert heads[:3] == [
        [str(tmp_path / "1-text.json"), "200"],
        [str(tmp_path / "2-batch.json"), "200"],
        [str(tmp_path / "3-echo.json"), "200"],
    ]
    assert out[0].endswith("1 event") and out[-4].endswith("skipped: echo")
    for sender, key, words in zip(
        (alone, first, second), keys, ("good morning", "first words", "second words"), strict=True
    ):
        assert f"  {sender}  {key[:23]}… done" in out
        assert f"    bot> {not_understood(words)}" in out
        assert bridge.state(key) == "done"
    assert out[-3:] == [
        "sent 3: 3 accepted, 0 refused, 0 failed to send",
        out[-2],
        "jobs: 3 done",
    ]
    assert out[-2].startswith("latency p50 ")
    assert "following each event for up to 30 s" in result.stderr


@pytest.mark.e2e
def test_a_repeated_delivery_is_answered_once(bridge: Bridge, tmp_path: Path) -> None:
    sender, key = psid(), mid()
    (tmp_path / "hello.json").write_bytes(meta(text(sender, "say it once", key)))
    result = invoke(str(tmp_path / "hello.json"), "--url", bridge.url, "--repeat", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert [line.split()[1:3] for line in out[:3]] == [["#1", "200"], ["#2", "200"], ["#3", "200"]]
    assert [line for line in out if "bot>" in line] == [f"    bot> {not_understood('say it once')}"]
    assert [m["text"] for m in bridge.messages(sender)] == [not_understood("say it once")]
    assert "sent 3: 3 accepted" in result.stdout and "jobs: 1 done" in result.stdout


@pytest.mark.e2e
def test_json_lines_with_states_and_send_api_bodies(bridge: Bridge, tmp_path: Path) -> None:
    sender, key = psid(), mid()
    (tmp_path / "a.json").write_bytes(meta(text(sender, "in json", key)))
    (tmp_path / "b.json").write_bytes(meta(echo(sender)))
    result = invoke(str(tmp_path), "--url", bridge.url, "--json", "--repeat", "2")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line.get("file"), line.get("attempt"), line.get("status")) for line in lines] == [
        (str(tmp_path / "a.json"), 1, 200),
        (str(tmp_path / "a.json"), 2, 200),
        (str(tmp_path / "b.json"), 1, 200),
        (str(tmp_path / "b.json"), 2, 200),
        (None, None, None),
    ]
    first, last = lines[0], lines[1]
    assert first["events"] == [{"key": key, "sender": sender, "state": None}]
    assert not first["followed"] and first["replies"] == []
    assert last["events"] == [{"key": key, "sender": sender, "state": "done"}]
    assert last["followed"] and not last["timed_out"]
    assert [body.get("sender_action") for body in last["replies"]] == [
        "mark_seen",
        "typing_on",
        None,
    ]
    assert last["replies"][-1]["message"] == {"text": not_understood("in json")}
    assert last["replies"][-1]["recipient"] == {"id": sender}
    assert isinstance(last["latency_ms"], float)
    assert lines[2]["skipped"] == ["echo"] and lines[2]["events"] == []
    summary = lines[-1]["summary"]
    assert (summary["sent"], summary["accepted"], summary["states"], summary["ok"]) == (
        4,
        4,
        {"done": 1},
        True,
    )


@pytest.mark.e2e
def test_a_file_that_is_not_a_body_is_named_and_the_rest_still_go(
    bridge: Bridge, tmp_path: Path
) -> None:
    sender, key = psid(), mid()
    (tmp_path / "1-broken.json").write_bytes(b'{"object": "page", "entry": [')
    (tmp_path / "2-good.json").write_bytes(meta(text(sender, "still sent", key)))
    result = invoke(str(tmp_path), "--url", bridge.url)
    assert result.exit_code == 1
    assert (
        f"error: {tmp_path / '1-broken.json'}: not JSON (Expecting value at line 1 column 30)"
        in result.stderr.splitlines()
    )
    assert f"    bot> {not_understood('still sent')}" in result.stdout
    assert "sent 1: 1 accepted, 0 refused, 0 failed to send; 1 file not a webhook body" in (
        result.stdout
    )
    result = invoke(str(tmp_path), "--url", bridge.url, "--json")
    assert result.exit_code == 1
    broken = json.loads(result.stdout.splitlines()[0])
    assert (broken["attempt"], broken["error"]) == (
        None,
        "not JSON (Expecting value at line 1 column 30)",
    )


@pytest.mark.e2e
def test_a_wrong_secret_is_reported_as_refused(bridge: Bridge, tmp_path: Path) -> None:
    sender, key = psid(), mid()
    (tmp_path / "a.json").write_bytes(meta(text(sender, "not signed right", key)))
    result = invoke(str(tmp_path), "--url", bridge.url, "--secret", "not-the-secret")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].split()[1] == "403"
    assert "refused" in result.stdout.splitlines()[0]
    assert "sent 1: 0 accepted, 1 refused" in result.stdout
    assert bridge.state(key) is None and bridge.inbox(sender) == []


@pytest.mark.e2e
def test_an_event_for_another_page_is_accepted_but_not_queued(
    bridge: Bridge, tmp_path: Path
) -> None:
    sender, key = psid(), mid()
    item = {**text(sender, "wrong page", key), "recipient": {"id": "999"}}
    body = {"object": "page", "entry": [{"id": "999", "time": now_ms(), "messaging": [item]}]}
    (tmp_path / "other.json").write_bytes(json.dumps(body).encode())
    result = invoke(str(tmp_path), "--url", bridge.url, "--wait", "5")
    assert result.exit_code == 0, result.output
    assert f"  {sender}  {key[:23]}… {replayer.NOT_QUEUED}" in result.stdout.splitlines()


@pytest.mark.e2e
def test_events_still_running_at_the_wait_time_and_old_ones_dropped(
    bridge: Bridge, tmp_path: Path
) -> None:
    slow, old = psid(), psid()
    slow_key, old_key = mid(), mid()
    stale = {**text(old, "from yesterday", old_key), "timestamp": now_ms() - 25 * 3600 * 1000}
    (tmp_path / "1-slow.json").write_bytes(meta(text(slow, "take your time", slow_key)))
    (tmp_path / "2-old.json").write_bytes(meta(stale))
    add_fault(bridge, "lex", {"delay": 2})
    try:
        result = invoke(str(tmp_path), "--url", bridge.url, "--wait", "0.3")
    finally:
        clear_faults(bridge)
    assert result.exit_code == 0, result.output  # every delivery was accepted
    out = result.stdout.splitlines()
    assert out[1] in (f"  {slow}  {slow_key[:23]}… queued", f"  {slow}  {slow_key[:23]}… running")
    assert "  (not finished within the --wait time)" in out
    assert f"  {old}  {old_key[:23]}… dropped" in out
    assert "(1 delivery not finished in time)" in out[-1]
    bridge.wait_done(slow_key)


def test_retime_moves_every_timestamp_keeping_the_gaps() -> None:
    from bridge.ops.replay.replayer import retime

    body = (
        b'{"object":"page","entry":[{"id":"1","time":1000000002000,"messaging":['
        b'{"sender":{"id":"7"},"recipient":{"id":"1"},"timestamp":1000000001000,'
        b'"message":{"mid":"m_a","text":"a\\/b"}},'
        b'{"sender":{"id":"7"},"recipient":{"id":"1"},"timestamp":"1000000000",'
        b'"postback":{"payload":"P","title":"T"}}]}]}'
    )
    moved = json.loads(retime(body, now_ms=2_000_000_000_000))
    entry = moved["entry"][0]
    assert entry["time"] == 2_000_000_000_000
    assert entry["messaging"][0]["timestamp"] == 1_999_999_999_000
    assert entry["messaging"][1]["timestamp"] == "1999999998000"  # seconds string, as ms now
    assert retime(body, now_ms=2_000_000_000_000).isascii()
    assert retime(b"not json", now_ms=1) == b"not json"
