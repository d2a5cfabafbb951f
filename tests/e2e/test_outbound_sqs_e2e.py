"""The outbound API on the shared backend end to end: two real servers on one SQS FIFO queue
and DynamoDB table (moto, server mode, real boto3 calls). A message posted to one server is
repeated (same idempotency key) to the other, read back from either, and sent once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.local.store import LocalStore
from tests.conftest import wait_for
from tests.support.aws_resources import aws_environment, create_resources, unique_names
from tests.support.servers import body_of, moto_server, start_bridge, stop_bridge, text

pytestmark = pytest.mark.e2e

TOKEN = "e2e-outbound-sqs-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[dict[str, str]]:
    (tmp_path / "aws").mkdir()
    with moto_server(tmp_path / "aws") as url, pytest.MonkeyPatch.context() as patch:
        env = aws_environment(url, tmp_path)
        for name, value in env.items():
            patch.setenv(name, value)
        settings = create_resources(unique_names(), visibility=3)
        yield {
            **env,
            "BRIDGE_QUEUE": "sqs",
            "BRIDGE_SQS_QUEUE_URL": settings.queue_url,
            "BRIDGE_DYNAMODB_TABLE": settings.table,
            "BRIDGE_SQS_VISIBILITY_TIMEOUT": "3",
            "BRIDGE_SQS_WAIT_TIME": "0",
            "BRIDGE_DELIVERY_THREADS": "2",
            "BRIDGE_SENDER_ACTIONS": "false",
            "BRIDGE_API_TOKEN": TOKEN,
        }


def test_a_message_posted_to_two_servers_is_one_message_sent_once(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = start_bridge(tmp_path / "a", "a.log", BRIDGE_DB=str(tmp_path / "a" / "bridge.db"), **shared)
    b = start_bridge(tmp_path / "b", "b.log", BRIDGE_DB=str(tmp_path / "b" / "bridge.db"), **shared)
    try:
        psid = "6200000000000001"
        assert a.post(body_of(text(psid, "hello", "m_sqs_o1"))).status_code == 200
        wait_for(lambda: a.state("m_sqs_o1") == "done", timeout=30, what="the first answer")
        body = {"recipient": {"id": psid}, "text": "Follow-up over SQS", "idempotency_key": "sqs-1"}
        first = requests.post(f"{a.url}/v1/messages", json=body, headers=AUTH, timeout=10)
        again = requests.post(f"{b.url}/v1/messages", json=body, headers=AUTH, timeout=10)
        assert (first.status_code, again.status_code) == (202, 200)
        message_id = first.json()["id"]
        assert again.json()["id"] == message_id

        def sent() -> dict[str, object] | None:
            answer = requests.get(f"{b.url}/v1/messages/{message_id}", headers=AUTH, timeout=10)
            status: dict[str, object] = answer.json()
            return status if status["status"] == "sent" else None

        status = wait_for(sent, timeout=30, what="the message sent")
        assert status["parts_sent"] == 1 and len(status["message_ids"]) == 1
    finally:
        stop_bridge(a)
        stop_bridge(b)
    texts = [
        entry["body"].get("message", {}).get("text")
        for folder in ("a", "b")
        for entry in LocalStore(tmp_path / folder / "bridge-local.db").entries(
            recipient=psid, after=0
        )
    ]
    assert texts.count("Follow-up over SQS") == 1
