"""The SQS backend's pure parts and its wiring: settings, the backend choice, held messages,
item values. No AWS server needed."""

from __future__ import annotations

import pytest

from bridge.app import make_queue
from bridge.config.queue import aws_queue_settings
from bridge.config.settings import Settings
from bridge.errors import ConfigError
from bridge.messenger.thread_control import ThreadState
from bridge.queue import NewJob
from bridge.queue.sqlite.store import SqliteQueue
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.held import Held, Holdings
from bridge.queue.sqs.queue import SqsQueue
from bridge.queue.sqs.table import Expr, Value, from_item, to_item

URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/messenger-lex-bridge.fifo"
BASE = {
    "FB_APP_SECRET": "s",
    "FB_VERIFY_TOKEN": "verify-token-0123456789",
    "FB_PAGE_ACCESS_TOKEN": "t",
    "LEX_BOT_ID": "ABCDE12345",
    "LEX_BOT_ALIAS_ID": "TSTALIASID",
    "AWS_REGION": "eu-west-1",
}


def problems(**env: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**BASE, **env})
    return raised.value.problems


def test_sqs_needs_the_queue_url_and_the_table() -> None:
    found = problems(BRIDGE_QUEUE="sqs")
    assert any(p.startswith("BRIDGE_SQS_QUEUE_URL is missing") for p in found)
    assert any(p.startswith("BRIDGE_DYNAMODB_TABLE is missing") for p in found)


def test_the_queue_must_be_fifo_and_the_numbers_in_range() -> None:
    found = problems(
        BRIDGE_QUEUE="sqs",
        BRIDGE_SQS_QUEUE_URL=URL.removesuffix(".fifo"),
        BRIDGE_DYNAMODB_TABLE="x",
        BRIDGE_SQS_VISIBILITY_TIMEOUT="1",
        BRIDGE_SQS_WAIT_TIME="21",
    )
    assert [p.split(" ")[0] for p in found] == [
        "BRIDGE_SQS_QUEUE_URL",
        "BRIDGE_DYNAMODB_TABLE",
        "BRIDGE_SQS_VISIBILITY_TIMEOUT=1",
        "BRIDGE_SQS_WAIT_TIME=21",
    ]


def test_sqs_variables_without_sqs_are_a_mistake() -> None:
    [problem] = problems(BRIDGE_SQS_QUEUE_URL=URL)
    assert "BRIDGE_QUEUE is sqlite: set BRIDGE_QUEUE=sqs" in problem


def test_the_sqs_settings_are_read_together() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "BRIDGE_QUEUE": "sqs",
            "BRIDGE_SQS_QUEUE_URL": URL,
            "BRIDGE_DYNAMODB_TABLE": "messenger-lex-bridge",
            "BRIDGE_SQS_VISIBILITY_TIMEOUT": "45",
        }
    )
    assert settings.queue.kind == "sqs"
    assert settings.queue.sqs is not None
    assert (settings.queue.sqs.queue_url, settings.queue.sqs.table) == (URL, "messenger-lex-bridge")
    assert (settings.queue.sqs.region, settings.queue.sqs.visibility_timeout) == ("eu-west-1", 45)
    assert settings.queue.sqs.wait_time == 10
    assert aws_queue_settings({"BRIDGE_QUEUE": "sqlite"}) is None


def test_the_backend_is_chosen_by_bridge_queue(settings: Settings) -> None:
    sqlite = make_queue(settings)
    assert isinstance(sqlite, SqliteQueue)
    sqlite.close()
    chosen = Settings.from_env(
        {
            **BASE,
            "BRIDGE_QUEUE": "sqs",
            "BRIDGE_SQS_QUEUE_URL": URL,
            "BRIDGE_DYNAMODB_TABLE": "table1",
        }
    )
    queue = make_queue(chosen)  # no AWS call yet: clients are made on first use
    assert isinstance(queue, SqsQueue) and queue.url == URL


def test_sqs_without_a_region_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    aws = aws_queue_settings(
        {"BRIDGE_QUEUE": "sqs", "BRIDGE_SQS_QUEUE_URL": URL, "BRIDGE_DYNAMODB_TABLE": "table1"}
    )
    assert aws is not None and aws.region is None
    with pytest.raises(ConfigError, match="AWS_REGION is missing"):
        SqsQueue(aws)


# --- held messages -------------------------------------------------------------------------------


def held(message_id: str, user: str, *, page: str = "p", visible: float = 100.0) -> Held:
    job = NewJob(message_id, page, f"{page}:{user}", 0, "{}")
    return Held(message_id, f"r-{message_id}", job, job.conversation, 1, 0.0, visible)


def ready(holdings: Holdings, *, now: float = 0.0, held_pages: frozenset[str] = frozenset()) -> str:
    found = holdings.next_ready(
        now=now, monotonic=0.0, page_held=lambda p: p in held_pages, margin=1.0
    )
    return found.message_id if found else "-"


def test_only_the_first_message_of_a_conversation_may_run() -> None:
    holdings = Holdings()
    for entry in (held("a1", "a"), held("a2", "a"), held("b1", "b")):
        holdings.add(entry)
    assert ready(holdings) == "a1"
    assert ready(holdings) == "b1"  # a1 is being claimed: a2 waits
    assert ready(holdings) == "-"


def test_a_finished_message_lets_the_next_of_its_conversation_run() -> None:
    holdings = Holdings()
    first, second = held("a1", "a"), held("a2", "a")
    holdings.add(first)
    holdings.add(second)
    assert ready(holdings) == "a1"
    holdings.started(first, "tok", run_until=10.0)
    assert holdings.by_token("tok") is first
    holdings.forget(first)
    assert holdings.by_token("tok") is None
    assert ready(holdings) == "a2"


def test_retry_times_page_holds_and_short_leases_keep_a_message_back() -> None:
    holdings = Holdings()
    parked, paused, lapsing = (
        held("a1", "a"),
        held("b1", "b", page="q"),
        held("c1", "c", visible=0.5),
    )
    for entry in (parked, paused, lapsing):
        holdings.add(entry)
    holdings.unclaim(parked, not_before=5.0)
    assert ready(holdings, now=1.0, held_pages=frozenset({"q"})) == "-"
    assert ready(holdings, now=5.0, held_pages=frozenset({"q"})) == "a1"


def test_a_message_received_again_keeps_its_place_with_its_new_receipt() -> None:
    holdings = Holdings()
    holdings.add(held("a1", "a"))
    again = held("a1", "a", visible=200.0)
    again.receipt = "r-new"
    assert not holdings.add(again)
    [entry] = holdings.due(0.0, within=1000.0)
    assert (entry.receipt, entry.visible_until) == ("r-new", 200.0)


def test_idle_messages_whose_lease_ran_out_are_forgotten_but_running_ones_are_not() -> None:
    holdings = Holdings()
    idle, running = held("a1", "a", visible=1.0), held("b1", "b", visible=1.0)
    holdings.add(idle)
    holdings.add(running)
    holdings.started(running, "tok", run_until=10.0)
    assert holdings.lapsed(2.0) == [idle]
    assert holdings.counts() == (1, 0)
    assert holdings.take_all() == [running] and len(holdings) == 0


# --- item values ---------------------------------------------------------------------------------


def test_values_survive_the_round_trip_through_attribute_values() -> None:
    values: dict[str, Value] = {"s": "é", "i": 3, "f": 1.5, "t": True, "n": None, "neg": -2}
    assert from_item(to_item(values)) == values


def test_placeholders_keep_reserved_words_out_of_expressions() -> None:
    expr = Expr().set("state", "done").increment("attempts", 1).remove("owner")
    condition = expr.equals("owner", "tok")
    request = expr.request(condition)
    assert "state" not in request["UpdateExpression"] and "owner" not in condition
    assert set(request["ExpressionAttributeNames"].values()) == {"state", "attempts", "owner"}


def test_thread_state_survives_its_item() -> None:
    state = ThreadState("p", "u", 5, "page_inbox", 6, None, 7, 8, "inbox_echo")
    item = items.thread_item(state, version=3, now=100.0)
    assert items.thread_from_item(item, "p", "u") == state
    assert items.thread_from_item(None, "p", "u") == ThreadState("p", "u")
