"""The SQS backend's Page holds, thread state, processes, stats and item expiry (bridge/queue/sqs/
pages.py, threads.py, housekeeping.py, stats.py)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from bridge.config.queue import AwsQueueSettings
from bridge.errors import QueueError
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue import NewJob
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import make_client
from bridge.queue.sqs.queue import SqsQueue
from tests.conftest import wait_for
from tests.queue.sqs.conftest import claim, claim_soon, job
from tests.support.aws_resources import REGION

# --- Pages -------------------------------------------------------------------------------------


def test_a_throttled_page_holds_only_its_own_jobs(queue: SqsQueue) -> None:
    now = time.time()
    queue.block_page("p1", until=now + 1.5, reason="613", now=now)
    queue.block_page("p1", until=now + 0.5, reason="4", now=now)  # never shortens
    queue.put([job("m_p1", page="p1"), job("m_p2", page="p2")], now=now)
    assert claim_soon(queue, "t0").key == "m_p2"
    assert claim(queue, "t1") is None
    [state] = queue.pages()
    assert (state.page, state.blocked_until, state.reason) == ("p1", now + 1.5, "4")
    assert claim_soon(queue, "t1").key == "m_p1"
    assert time.time() >= now + 1.5


def test_a_paused_page_waits_until_resumed(queue: SqsQueue, other: SqsQueue) -> None:
    now = time.time()
    assert queue.pause_page("p1", reason="190", now=now)
    assert not other.pause_page("p1", reason="190", now=now)  # one caller pauses
    queue.put([job("m_paused")], now=now)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert claim(queue) is None
    assert [p.paused for p in other.pages()] == [True]
    assert other.resume_page("p1")
    assert not queue.resume_page("p1")
    assert claim_soon(queue).key == "m_paused"


# --- threads -----------------------------------------------------------------------------------


def test_thread_signals_are_recorded_with_the_jobs_and_repeat_harmlessly(
    queue: SqsQueue,
) -> None:
    signals = [
        ThreadSignal("p1", "u1", 1000, "inbound"),
        ThreadSignal("p1", "u1", 2000, "hold", holder="page_inbox", reason="inbox_echo"),
    ]
    queue.put([job("m_t")], now=time.time(), signals=signals)
    state = queue.thread("p1", "u1")
    assert state is not None
    assert (state.last_inbound, state.holder, state.held_from, state.held_until) == (
        1000,
        "page_inbox",
        2000,
        None,
    )
    queue.put([], now=time.time(), signals=signals)  # Meta redelivers
    assert queue.thread("p1", "u1") == state
    queue.record_threads([ThreadSignal("p1", "u1", 3000, "release")], now=time.time())
    released = queue.thread("p1", "u1")
    assert released is not None and released.held_until == 3000
    assert queue.thread("p1", "nobody") is None


def test_concurrent_thread_updates_are_all_kept(queue: SqsQueue, other: SqsQueue) -> None:
    def record(q: SqsQueue, start: int) -> None:
        for at in range(start, start + 10, 2):
            q.record_threads([ThreadSignal("p9", "u9", at, "standby")], now=time.time())

    workers = [
        threading.Thread(target=record, args=(queue, 1)),
        threading.Thread(target=record, args=(other, 2)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    state = queue.thread("p9", "u9")
    assert state is not None and state.standby_seen == 10 and state.last_inbound == 10


# --- liveness, inspection ------------------------------------------------------------------


def test_heartbeats_list_workers_and_gone_ones_are_forgotten(queue: SqsQueue) -> None:
    from bridge.queue import Worker

    now = time.time()
    queue.heartbeat(Worker("host:1:a", "host", 1, now - 60))
    queue.heartbeat(Worker("host:2:b", "host", 2, now))
    assert [w.process for w in queue.workers()] == ["host:1:a", "host:2:b"]
    assert queue.release_stale(dead=["host:1:a"]) == 0
    assert [w.process for w in queue.workers()] == ["host:2:b"]


def test_a_stopping_process_lets_its_messages_go_at_once(queue: SqsQueue, other: SqsQueue) -> None:
    assert claim(queue, "t0") is None and claim(queue, "t1") is None  # two idle threads
    queue.put([job("m_a", user="a"), job("m_b", user="b")], now=time.time())
    running = claim_soon(queue, "t0")  # one receive brought both messages
    assert queue.retry(running, at=time.time(), error="released at shutdown", refund=True)
    assert queue.release_stale(dead=["proc"]) == 2
    released = time.monotonic()
    assert claim(queue) is None  # this delivery process stopped
    keys: set[str] = set()

    def both_claimed() -> bool:
        found = claim(other, f"x{len(keys)}")
        if found is not None:
            keys.add(found.key)
        return len(keys) == 2

    wait_for(both_claimed, what="the released messages claimed elsewhere")
    assert time.monotonic() - released < 2  # before their visibility timeout would have run out
    assert keys == {"m_a", "m_b"}


def test_the_health_check_writes_the_table_and_reads_the_queue(
    queue: SqsQueue, settings: AwsQueueSettings
) -> None:
    queue.check_writable(timeout=2)
    broken = SqsQueue(AwsQueueSettings(settings.queue_url, "no-such-table", REGION))
    with pytest.raises(QueueError):
        broken.check_writable(timeout=2)


def test_stats_count_messages_where_they_are(queue: SqsQueue) -> None:
    queue.put([job("m_s0", user="a"), job("m_s1", user="b")], now=time.time())
    claim_soon(queue)
    stats = queue.stats(now=time.time())
    assert stats["queued"] + stats["running"] == 2 and stats["running"] >= 1
    assert queue.purge(before=time.time()) == 0


def test_an_unreadable_message_is_moved_aside(queue: SqsQueue, settings: AwsQueueSettings) -> None:
    make_client("sqs", REGION).send_message(
        QueueUrl=settings.queue_url,
        MessageBody="not json",
        MessageGroupId="g",
        MessageDeduplicationId="d",
    )
    queue.put([job("m_fine", user="z")], now=time.time())
    assert claim_soon(queue).key == "m_fine"
    wait_for(lambda: [d.reason for d in queue.dead_letters()] == ["unreadable message"])


def test_the_message_body_carries_the_whole_job() -> None:
    original = NewJob("m_x", "p", "p:u", 5, '{"a": "é"}', "delivery-1")
    assert items.from_body(items.to_body(original)) == original
    assert items.from_body("nope") is None
    assert json.loads(items.to_body(original))["v"] == 1


def _table_item(queue: SqsQueue, key: str) -> dict[str, Any] | None:
    return queue.table.get(f"job#{key}", items.JOB_SK)


def test_finished_jobs_expire_a_week_after_they_finish(queue: SqsQueue) -> None:
    queue.put([job("m_ttl")], now=time.time())
    unfinished = _table_item(queue, "m_ttl")
    assert unfinished is not None and unfinished["expires"] > time.time() + 14 * 86400
    now = time.time()
    queue.ack(claim_soon(queue), now=now)
    done = _table_item(queue, "m_ttl")
    assert done is not None and done["expires"] == int(now + items.DONE_TTL)
