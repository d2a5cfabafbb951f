"""Notification-messages tokens in the SQLite backend (bridge/queue/sqlite/notifications.py),
on a real database file."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bridge.queue.sqlite.store import SqliteQueue
from tests.queue import notifications_contract as contract


def test_put_records_tokens_with_the_jobs(queue: SqliteQueue) -> None:
    contract.check_put_records_tokens_with_the_jobs(queue)


def test_an_older_update_is_ignored(queue: SqliteQueue) -> None:
    contract.check_an_older_update_is_ignored(queue)


def test_listing_by_page_and_by_person(queue: SqliteQueue) -> None:
    contract.check_listing_by_page_and_by_person(queue)


def test_tokens_past_retention_are_forgotten(queue: SqliteQueue) -> None:
    contract.check_tokens_past_retention_are_forgotten(queue)
    rows = queue._read("SELECT token FROM notification_tokens ORDER BY token")
    assert [row[0] for row in rows] == ["forever", "quiet", "recent"]  # purged, not just hidden


def test_put_and_claim_records_tokens_in_its_transaction(queue: SqliteQueue) -> None:
    from bridge.queue import Claim

    result, taken = queue.put_and_claim(
        [contract.job("m_1")],
        now=time.time(),
        tokens=[contract.update()],
        claim=Claim("w", "p", 30),
        limit=1,
    )
    assert result.added == 1 and [j.key for j in taken] == ["m_1"]
    assert queue.notification_token("p1", "tok1") is not None


def test_a_redelivered_job_still_records_its_token(queue: SqliteQueue) -> None:
    queue.put([contract.job("m_1")], now=time.time())
    result = queue.put([contract.job("m_1")], now=time.time(), tokens=[contract.update()])
    assert result.duplicates == 1
    assert queue.notification_token("p1", "tok1") is not None


def test_a_database_from_before_the_tokens_table_gets_one(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SqliteQueue(path)
    old.put([contract.job("m_old")], now=time.time())
    old.close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE notification_tokens")
    upgraded = SqliteQueue(path)
    try:
        assert upgraded.notification_tokens() == []
        upgraded.record_notification_tokens([contract.update()], now=time.time())
        assert [t.token for t in upgraded.notification_tokens()] == ["tok1"]
        assert upgraded.claim(owner="w", process="p", now=time.time(), lease=30) is not None
    finally:
        upgraded.close()
