"""``python -m bridge send`` through click's runner: straight into the configured queue (the
API's own code), and through a running bridge's API with ``--url``; the exit statuses."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bridge.app import create_app
from bridge.cli import main
from bridge.config.settings import Settings
from bridge.messenger.thread_control import ThreadSignal
from bridge.outbound import jobs
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot
from tests.support.servers import LiveServer, wsgi_server

PAGE, PSID = "104859375629481", "2000000000000009"
TOKEN = "a" * 32


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "bridge.db"
    queue = SqliteQueue(db)
    queue.record_threads(
        [ThreadSignal(PAGE, PSID, int(time.time() * 1000), "inbound")], now=time.time()
    )
    queue.close()
    return {
        "FB_APP_SECRET": "app-secret-for-tests",
        "FB_VERIFY_TOKEN": "verify-token-for-tests",
        "FB_PAGE_ACCESS_TOKEN": "page-token-for-tests",
        "FB_PAGE_ID": PAGE,
        "LEX_BOT_ID": "ABCDE12345",
        "LEX_BOT_ALIAS_ID": "TSTALIASID",
        "AWS_REGION": "us-east-1",
        "BRIDGE_DB": str(db),
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["send", *args], env=env)


def test_a_text_goes_into_the_queue_through_the_apis_code(env: dict[str, str]) -> None:
    result = run(env, "--psid", PSID, "--text", "How are you today?", "--idempotency-key", "k1")
    assert result.exit_code == 0, result.output
    message_id, status = result.stdout.split()
    assert jobs.is_outbound_key(message_id) and status == "queued"
    queue = SqliteQueue(Path(env["BRIDGE_DB"]))
    record = queue.outbound(message_id)
    queue.close()
    assert record is not None and record.state == "queued"
    spec = jobs.from_payload(record.payload)
    assert spec.messages == ({"text": "How are you today?"},) and spec.user == PSID
    again = run(env, "--psid", PSID, "--text", "How are you today?", "--idempotency-key", "k1")
    assert again.exit_code == 0 and again.stdout.split()[0] == message_id
    assert "already queued" in again.stderr


def test_a_tag_implies_message_tag_and_lex_text_asks_the_bot(env: dict[str, str]) -> None:
    tagged = run(env, "--psid", PSID, "--text", "Anna here", "--tag", "HUMAN_AGENT", "--json")
    assert tagged.exit_code == 0, tagged.output
    answer = json.loads(tagged.stdout)
    queue = SqliteQueue(Path(env["BRIDGE_DB"]))
    spec = jobs.from_payload(queue.outbound(answer["id"]).payload)  # type: ignore[union-attr]
    lex = run(env, "--psid", PSID, "--lex-text", "daily check-in", "--messaging-type", "UPDATE")
    assert lex.exit_code == 0, lex.output
    lex_spec = jobs.from_payload(queue.outbound(lex.stdout.split()[0]).payload)  # type: ignore[union-attr]
    queue.close()
    assert (spec.messaging_type, spec.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert (lex_spec.lex_text, lex_spec.messaging_type) == ("daily check-in", "UPDATE")


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--psid", "2000000000000999", "--text", "x"], 1, "unknown_recipient"),
        (["--psid", PSID, "--text", "x", "--tag", "ACCOUNT_UPDATE"], 2, "retired"),
        (["--psid", PSID, "--text", "x", "--lex-text", "y"], 2, "exactly one"),
        (["--psid", PSID], 2, "exactly one"),
        (["--psid", PSID, "--text", "x", "--page-id", "999"], 2, "page_id"),
    ],
)
def test_what_cannot_be_queued_exits_non_zero_and_says_why(
    env: dict[str, str], args: list[str], code: int, said: str
) -> None:
    result = run(env, *args)
    assert result.exit_code == code, result.output
    assert said in result.stderr


def test_without_configuration_it_exits_2(tmp_path: Path) -> None:
    result = run({"BRIDGE_DB": str(tmp_path / "q.db")}, "--psid", PSID, "--text", "x")
    assert result.exit_code == 2 and "FB_APP_SECRET" in result.stderr


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[tuple[LiveServer, SqliteQueue]]:
    queue = SqliteQueue(tmp_path / "served.db")
    queue.record_threads(
        [ThreadSignal(PAGE, PSID, int(time.time() * 1000), "inbound")], now=time.time()
    )
    api = replace(
        settings,
        graph=replace(settings.graph, page_id=PAGE),
        web=replace(settings.web, api_token=TOKEN),
    )
    with wsgi_server(create_app(api, queue=queue, bot=ScriptedBot())) as server:
        yield server, queue
    queue.close()


def test_with_url_it_posts_to_the_running_bridge(served: tuple[LiveServer, SqliteQueue]) -> None:
    server, queue = served
    env = {"BRIDGE_API_TOKEN": TOKEN}
    result = run(env, "--psid", PSID, "--text", "Over HTTP", "--url", server.url)
    assert result.exit_code == 0, result.output
    message_id = result.stdout.split()[0]
    assert queue.outbound(message_id) is not None
    refused = run(env, "--psid", "2000000000000999", "--text", "x", "--url", server.url)
    assert refused.exit_code == 1 and "unknown_recipient" in refused.stderr
    wrong = run({"BRIDGE_API_TOKEN": "b" * 32}, "--psid", PSID, "--text", "x", "--url", server.url)
    assert wrong.exit_code == 2 and "unauthorized" in wrong.stderr
    missing = run({}, "--psid", PSID, "--text", "x", "--url", server.url)
    assert missing.exit_code == 2 and "BRIDGE_API_TOKEN" in missing.stderr
    gone = run(env, "--psid", PSID, "--text", "x", "--url", "http://127.0.0.1:9")
    assert gone.exit_code == 3 and "could not be reached" in gone.stderr


def test_a_dropped_outbound_message_shows_in_queue_dead(env: dict[str, str]) -> None:
    sent = run(env, "--psid", PSID, "--text", "Your results are in")
    message_id = sent.stdout.split()[0]
    queue = SqliteQueue(Path(env["BRIDGE_DB"]))
    job = queue.claim(owner="w", process="p", now=time.time(), lease=30)
    assert job is not None and job.key == message_id
    queue.drop(job, reason="outside Messenger's 24-hour window", now=time.time())
    queue.close()
    listed = CliRunner().invoke(
        main, ["queue", "--db", env["BRIDGE_DB"], "dead", "--dropped", "--show-text", "--json"]
    )
    assert listed.exit_code == 0, listed.output
    [record] = json.loads(listed.stdout)
    assert (record["mid"], record["text"]) == (message_id, "Your results are in")
    assert record["state"] == "dropped" and "24-hour" in record["reason"]
