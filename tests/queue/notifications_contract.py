"""What every backend's ``Notifications`` must do, as checks run against a real queue
(tests/queue/sqlite/test_notifications.py, tests/queue/sqs/test_notifications.py)."""

from __future__ import annotations

import time
from dataclasses import replace

from bridge.messenger.events import TokenUpdate
from bridge.queue import TOKEN_RETENTION_MS, NewJob, Queue, token_of

NOW_MS = int(time.time() * 1000)
DAY_MS = 86_400_000


def update(
    token: str = "tok1",
    *,
    page: str = "p1",
    user: str = "u1",
    at: int = NOW_MS,
    status: str = "active",
    expires_at: int | None = NOW_MS + 30 * DAY_MS,
    topic: str = "news",
) -> TokenUpdate:
    return TokenUpdate(
        page,
        user,
        token,
        topic=topic,
        frequency="DAILY",
        timezone="UTC",
        expires_at=expires_at,
        status="stopped" if status == "stopped" else "active",
        updated_at=at,
    )


def job(key: str, page: str = "p1", user: str = "u1") -> NewJob:
    return NewJob(key=key, page=page, conversation=f"{page}:{user}", order_ts=NOW_MS, payload="{}")


def check_put_records_tokens_with_the_jobs(queue: Queue) -> None:
    first = update()
    result = queue.put([job("m_optin")], now=time.time(), tokens=[first])
    assert result.added == 1
    assert queue.notification_token("p1", "tok1") == token_of(first)
    assert queue.notification_token("p2", "tok1") is None
    assert queue.notification_token("p1", "other") is None
    # Tokens alone (no job) are committed too.
    queue.put([], now=time.time(), tokens=[update("tok2", user="u2")])
    assert queue.notification_token("p1", "tok2") is not None


def check_an_older_update_is_ignored(queue: Queue) -> None:
    queue.record_notification_tokens([update(at=NOW_MS)], now=time.time())
    queue.record_notification_tokens([update(at=NOW_MS + 10, status="stopped")], now=time.time())
    queue.record_notification_tokens([update(at=NOW_MS + 5, topic="late")], now=time.time())
    stored = queue.notification_token("p1", "tok1")
    assert stored is not None and stored.status == "stopped" and stored.topic == "news"
    # The same update again (a redelivery) changes nothing; a newer resume wins.
    queue.record_notification_tokens([update(at=NOW_MS + 10, status="stopped")], now=time.time())
    queue.record_notification_tokens([update(at=NOW_MS + 20)], now=time.time())
    stored = queue.notification_token("p1", "tok1")
    assert stored is not None and stored.status == "active" and stored.updated_at == NOW_MS + 20
    # In one batch the latest wins, whatever the order.
    batch = [update("tok3", at=NOW_MS + 2, status="stopped"), update("tok3", at=NOW_MS + 1)]
    queue.record_notification_tokens(batch, now=time.time())
    third = queue.notification_token("p1", "tok3")
    assert third is not None and third.status == "stopped"


def check_listing_by_page_and_by_person(queue: Queue) -> None:
    updates = [
        update("a", user="u1", at=NOW_MS + 1),
        update("b", user="u1", at=NOW_MS + 3, topic="offers"),
        update("c", user="u2", at=NOW_MS + 2),
        update("d", page="p2", user="u1", at=NOW_MS + 4),
    ]
    queue.record_notification_tokens(updates, now=time.time())
    assert [t.token for t in queue.notification_tokens(page="p1")] == ["b", "c", "a"]
    assert [t.token for t in queue.notification_tokens(page="p2")] == ["d"]
    assert [t.token for t in queue.notification_tokens()] == ["b", "c", "a", "d"]
    assert len(queue.notification_tokens(limit=2)) == 2
    assert queue.notification_tokens(page="p3") == []
    assert [t.token for t in queue.person_notification_tokens("p1", "u1")] == ["b", "a"]
    assert [t.token for t in queue.person_notification_tokens("p2", "u1")] == ["d"]
    assert queue.person_notification_tokens("p1", "u") == []  # no prefix match


def check_tokens_past_retention_are_forgotten(queue: Queue) -> None:
    long_expired = update(
        "old", expires_at=NOW_MS - TOKEN_RETENTION_MS - DAY_MS, at=NOW_MS - 90 * DAY_MS
    )
    just_expired = update("recent", expires_at=NOW_MS - DAY_MS, at=NOW_MS - 40 * DAY_MS)
    stopped_long_ago = update("stopped", status="stopped", at=NOW_MS - TOKEN_RETENTION_MS - DAY_MS)
    stopped_lately = update("quiet", status="stopped", at=NOW_MS - DAY_MS)
    forever = update("forever", expires_at=None, at=NOW_MS - 365 * DAY_MS)
    everything = [long_expired, just_expired, stopped_long_ago, stopped_lately, forever]
    queue.record_notification_tokens(everything, now=time.time())
    kept = {"recent", "quiet", "forever"}
    assert {t.token for t in queue.notification_tokens()} == kept
    assert queue.notification_token("p1", "old") is None
    queue.purge_notification_tokens(now=time.time())
    assert {t.token for t in queue.notification_tokens()} == kept
    recent = queue.notification_token("p1", "recent")
    assert recent is not None and not recent.usable(NOW_MS)  # listed, but not to send with
    assert replace(recent, expires_at=None).usable(NOW_MS)
