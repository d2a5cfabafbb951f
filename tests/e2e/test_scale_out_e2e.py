"""Scale-out end to end: two real bridge servers (gunicorn -c gunicorn.conf.py wsgi:app, each
2 processes × 2 delivery threads) on different ports share one SQS FIFO queue and one DynamoDB
table on a local AWS-compatible server (moto, server mode; boto3 reaches it through the
standard endpoint variables). Webhooks go to both alternately — a person's messages split
across them, the same mid to both at once — and one server is killed with SIGKILL while it
holds turns in flight. Every message is answered exactly once, in order per person.

Each server runs in local mode with its own local Lex endpoint and Graph inbox (its own
``BRIDGE_DB`` folder, so a fault injected into one server's Lex leaves the other's alone);
the replies are read from both inboxes, the killed server's from its SQLite file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.runner import scenario
from bridge.local.store import LocalStore
from tests.conftest import wait_for
from tests.local.test_localmode import not_understood
from tests.support.aws_resources import aws_environment, create_resources, unique_names
from tests.support.servers import (
    Bridge,
    add_fault,
    body_of,
    clear_faults,
    kill_bridge,
    moto_server,
    start_bridge,
    stop_bridge,
    text,
)

pytestmark = pytest.mark.e2e

VISIBILITY = 3  # seconds until a killed server's messages reappear
USERS = [f"77000000000000{n:02d}" for n in range(6)]
ROUNDS = 4


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of both servers: moto's endpoints, a fresh queue, DLQ and table."""
    folder = tmp_path_factory.mktemp("aws")
    with moto_server(folder) as url, pytest.MonkeyPatch.context() as patch:
        env = aws_environment(url, folder)
        for name, value in env.items():
            patch.setenv(name, value)
        settings = create_resources(unique_names(), visibility=VISIBILITY)
        yield {
            **env,
            "BRIDGE_QUEUE": "sqs",
            "BRIDGE_SQS_QUEUE_URL": settings.queue_url,
            "BRIDGE_DYNAMODB_TABLE": settings.table,
            "BRIDGE_SQS_VISIBILITY_TIMEOUT": str(VISIBILITY),
            # Short polls: moto's long poll takes its snapshot of the message groups in flight
            # once per call, so a poll begun before another server received a person's
            # message could return that person's next one (SQS checks at delivery).
            "BRIDGE_SQS_WAIT_TIME": "0",
            "BRIDGE_DELIVERY_THREADS": "2",
            "BRIDGE_SENDER_ACTIONS": "false",
            "BRIDGE_WEB_THREADS": "16",
        }


def start(folder: Path, name: str, env: dict[str, str]) -> Bridge:
    folder.mkdir()
    return start_bridge(folder, f"{name}.log", BRIDGE_DB=str(folder / "bridge.db"), **env)


def words(psid: str, i: int) -> str:
    return f"{psid[-2:]} says {i}"


def mid(psid: str, i: int) -> str:
    return f"m_scale_{psid}_{i}"


def say(server: Bridge, psid: str, i: int) -> None:
    assert server.post(body_of(text(psid, words(psid, i), mid(psid, i), ts=i))).status_code == 200


def replies(folders: list[Path], psid: str) -> list[str]:
    """What ``psid`` received from every server, in the order the inboxes recorded it."""
    entries = []
    for folder in folders:
        store = LocalStore(folder / "bridge-local.db")
        entries += store.entries(recipient=psid, after=0)
    entries.sort(key=lambda entry: entry["at"])
    return [e["body"]["message"].get("text", "?") for e in entries if "message" in e["body"]]


def test_two_servers_answer_every_message_once_in_order_through_a_kill_9(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    folders = [tmp_path / "a", tmp_path / "b"]
    first = start(folders[0], "first", shared)
    second = start(folders[1], "second", shared)
    servers = [first, second]
    try:
        # Round 0: alternate servers; the first person's message goes to both at once.
        both = body_of(text(USERS[0], words(USERS[0], 0), mid(USERS[0], 0), ts=0))
        posts = [threading.Thread(target=server.post, args=(both,)) for server in servers]
        for post in posts:
            post.start()
        for post in posts:
            post.join(30)
        for n, psid in enumerate(USERS[1:], start=1):
            say(servers[n % 2], psid, 0)
        # Round 1: each person's next message to the other server than before.
        for n, psid in enumerate(USERS):
            say(servers[(n + 1) % 2], psid, 1)
        second.wait_done(*(mid(psid, i) for psid in USERS for i in range(2)))

        # The first server's bot hangs from now on: its turns stay in flight (inside a Lex
        # call, so none is between a send and its ledger write when it is killed).
        add_fault(first, "lex", {"delay": 60, "sticky": True})
        for n, psid in enumerate(USERS):
            say(servers[n % 2], psid, 2)
        wait_for(
            lambda: first.http.get(f"{first.url}/local/lex/active", timeout=5).json()["active"],
            timeout=30,
            what="a turn in flight on the first server",
        )
        kill_bridge(first)
        for psid in USERS:  # the load balancer now sends everything to the second server
            say(second, psid, 3)

        every = [mid(psid, i) for psid in USERS for i in range(ROUNDS)]
        wait_for(
            lambda: all(second.state(m) == "done" for m in every),
            timeout=60,
            what="every acknowledged message answered",
        )
        for psid in USERS:
            assert replies(folders, psid) == [
                not_understood(words(psid, i)) for i in range(ROUNDS)
            ], psid
        assert any(replies([folders[0]], psid) for psid in USERS)  # both servers answered
        assert any(replies([folders[1]], psid) for psid in USERS)
    finally:
        if first.process.poll() is None:
            kill_bridge(first)
        clear_faults(second)
        assert stop_bridge(second) == 0, second.log.read_text()[-3000:]


def test_the_benchmark_s_sqs_scenario_answers_every_acked_message_once(tmp_path: Path) -> None:
    # Production mode (Lex V2 through boto3, Graph over HTTPS, both fakes) on the SQS backend.
    figures = scenario(
        "bridge",
        tmp_path,
        seconds=1.0,
        connections=4,
        rate=10.0,
        env={"BRIDGE_QUEUE": "sqs"},
        drain_timeout=30,
        name="SQS on moto",
    )
    assert figures.acked == figures.requests > 5
    assert figures.delivered_share == 1.0
    assert (figures.duplicates, figures.unexpected, figures.order_violations) == (0, 0, 0)
