"""Notification-messages tokens in the SQS backend's table (bridge/queue/sqs/notifications.py),
through real boto3 calls against the local AWS-compatible server."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.config.queue import AwsQueueSettings
from bridge.obs.logs import hash_id
from bridge.queue import forget_token_at, token_of
from bridge.queue.sqs.notifications import notify_pk, person_sk, token_sk
from bridge.queue.sqs.queue import SqsQueue
from tests.queue import notifications_contract as contract


def test_put_records_tokens_with_the_jobs(queue: SqsQueue) -> None:
    contract.check_put_records_tokens_with_the_jobs(queue)


def test_an_older_update_is_ignored(queue: SqsQueue, other: SqsQueue) -> None:
    contract.check_an_older_update_is_ignored(queue)
    stored = other.notification_token("p1", "tok1")  # another process reads the same
    assert stored is not None and stored.updated_at == contract.NOW_MS + 20
    mine = other.person_notification_tokens("p1", "u1")
    assert {t.token: t.status for t in mine} == {"tok1": "active", "tok3": "stopped"}


def test_listing_by_page_and_by_person(queue: SqsQueue) -> None:
    contract.check_listing_by_page_and_by_person(queue)


def test_tokens_past_retention_are_forgotten(queue: SqsQueue) -> None:
    contract.check_tokens_past_retention_are_forgotten(queue)


def test_both_items_carry_the_ttl_of_their_retention(queue: SqsQueue) -> None:
    update = contract.update(status="stopped")
    queue.put([contract.job("m_1")], now=time.time(), tokens=[update])
    forget = forget_token_at(token_of(update))
    assert forget is not None
    for sk in (token_sk("tok1"), person_sk("u1", "tok1")):
        item = queue.table.get(notify_pk("p1"), sk)
        assert item is not None and item["expires"] == -(-forget // 1000)
        assert item["token"] == "tok1" and item["status"] == "stopped"
    forever = contract.update("tok2", expires_at=None)
    queue.record_notification_tokens([forever], now=time.time())
    item = queue.table.get(notify_pk("p1"), token_sk("tok2"))
    assert item is not None and "expires" not in item


def test_the_cli_lists_the_tables_tokens(
    queue: SqsQueue, settings: AwsQueueSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue.record_notification_tokens(
        [contract.update("NMsecret1", user="701"), contract.update("NMsecret2", page="p2")],
        now=time.time(),
    )
    monkeypatch.setenv("BRIDGE_QUEUE", "sqs")
    monkeypatch.setenv("BRIDGE_SQS_QUEUE_URL", settings.queue_url)
    monkeypatch.setenv("BRIDGE_DYNAMODB_TABLE", settings.table)
    result = CliRunner().invoke(main, ["notifications", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["page"], r["person"]) for r in rows] == [
        ("p1", hash_id("701")),
        ("p2", hash_id("u1")),
    ]
    assert "NMsecret" not in result.output
