"""The queue's gauges, read from the queue database at scrape time."""

from __future__ import annotations

from typing import Any

from bridge.errors import QueueError
from bridge.queue import Worker
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.queue_metrics import QueueCollector
from tests.obs.test_metrics import at, new_job, samples_of


def test_the_queue_collector_reports_depth_age_pages_and_processes(queue: SqliteQueue) -> None:
    now = 1000.0
    queue.put([new_job(f"m{n}", f"p1:{n}") for n in range(6)], now=now - 50)
    first, second, third, fourth, fifth = (
        queue.claim(owner="o", process="proc", now=now, lease=60) for _ in range(5)
    )
    assert first and second and third and fourth and fifth
    queue.ack(first, now=now)
    queue.drop(second, reason="x", now=now)
    queue.bury(third, reason="x", now=now)
    queue.retry(fourth, at=now + 30, error="x")  # waiting for a retry
    # fifth stays running, m5 stays queued
    queue.pause_page("p1", reason="access token invalid or expired (190)", now=now)
    queue.block_page("p2", until=now + 60, reason="rate limited (613)", now=now)
    queue.block_page("p3", until=now - 1, reason="rate limited (613)", now=now - 100)  # over
    queue.heartbeat(Worker("alive", "h", 1, heartbeat=now - 1))
    queue.heartbeat(Worker("stale", "h", 2, heartbeat=now - 60))

    found = samples_of(QueueCollector(queue, stale_after=10, clock=lambda: now))
    assert at(found, "bridge_queue_up") == 1
    states = {"queued": 2, "running": 1, "done": 1, "dropped": 1, "dead": 1}
    for state, count in states.items():
        assert at(found, "bridge_queue_jobs", state=state) == count, state
    assert at(found, "bridge_queue_retrying_jobs") == 1
    assert at(found, "bridge_queue_oldest_unfinished_age_seconds") == 50
    assert at(found, "bridge_pages_paused") == 1
    assert at(found, "bridge_pages_throttled") == 1
    assert at(found, "bridge_page_paused", page="p1") == 1
    assert at(found, "bridge_page_paused", page="p2") == 0
    assert at(found, "bridge_delivery_processes") == 1


def test_an_empty_queue_reads_as_zeros(queue: SqliteQueue) -> None:
    found = samples_of(QueueCollector(queue, stale_after=10))
    assert at(found, "bridge_queue_up") == 1
    assert all(at(found, "bridge_queue_jobs", state=s) == 0 for s in ("queued", "dead"))
    assert at(found, "bridge_queue_oldest_unfinished_age_seconds") == 0


def test_an_unreadable_queue_reports_only_that(queue: SqliteQueue, monkeypatch: Any) -> None:
    def broken(**_: Any) -> dict[str, Any]:
        raise QueueError("queue read failed: disk I/O error")

    monkeypatch.setattr(queue, "stats", broken)
    found = samples_of(QueueCollector(queue, stale_after=10))
    assert found == {("bridge_queue_up", frozenset()): 0.0}
