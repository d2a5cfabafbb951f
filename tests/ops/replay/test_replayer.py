"""``python -m bridge replay`` (bridge/ops/replay/): the pacer, then the command through click's
runner against a fake non-local server and a real local-mode bridge. The bodies built here
(``text``, ``echo``, ``meta``) are shared by the tests of the pure modules beside this one."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from werkzeug.wrappers import Request, Response

from bridge.cli import main
from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_PAGE_ID
from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature, sign
from bridge.ops.replay import replayer
from bridge.ops.replay.replayer import Pacer
from tests.local.test_localmode import not_understood
from tests.support.servers import (
    Bridge,
    add_fault,
    clear_faults,
    free_port,
    start_bridge,
    stop_bridge,
    wsgi_server,
)

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


# --- pacing ----------------------------------------------------------------------------------


def test_the_pacer_spaces_sends_and_never_bursts_to_catch_up() -> None:
    pacer = Pacer(rate=10)
    assert pacer.delay(100.0) == 0.0  # the first goes at once, at 100.0
    assert pacer.delay(100.0) == pytest.approx(0.1)  # due at 100.1
    assert pacer.delay(100.15) == pytest.approx(0.05)  # due at 100.2
    assert pacer.delay(105.0) == 0.0  # late: goes now...
    assert pacer.delay(105.0) == pytest.approx(0.1)  # ...and the next is 1/rate after it
    assert Pacer(rate=None).delay(1.0) == 0.0


# --- the command against a server that is not in local mode -----------------------------------


class FakeServer:
    """Answers POST <prefix>/webhook with ``status`` and 404 to everything else; records posts."""

    def __init__(self, url: str, status: int = 200) -> None:
        self.url = url
        self.status = status
        self.posts: list[tuple[str, bytes, str | None]] = []

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


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with wsgi_server(threaded=False) as server:
        fake = FakeServer(server.url)
        server.mount(fake.app)
        yield fake


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
    port = free_port()  # bound, then closed: nothing listens there
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
    assert [body.get("sender_action") for body in last["replies"]] == [None]  # a fast turn
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
