"""The embedded SQLite queue: dedupe, per-conversation order, leases, durability."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bridge.queue import NewJob, PutResult
from bridge.queue.sqlite import SqliteQueue


def job(key: str, conversation: str = "p:1", ts: int = 1000, payload: str = "{}") -> NewJob:
    return NewJob(key=key, conversation=conversation, order_ts=ts, payload=payload)


def test_put_commits_and_dedupes_on_key(queue: SqliteQueue) -> None:
    assert queue.put([job("m1"), job("m2")], now=1) == PutResult(added=2, duplicates=0)
    assert queue.put([job("m1"), job("m3")], now=2) == PutResult(added=1, duplicates=1)
    assert queue.put([], now=3) == PutResult(0, 0)
    assert queue.state_of("m1") == "queued"
    assert queue.state_of("nope") is None
    assert queue.stats(now=3)["queued"] == 3


def test_a_conversation_runs_one_turn_at_a_time_in_timestamp_order(queue: SqliteQueue) -> None:
    # Arrival order differs from Messenger's timestamp order: the timestamp wins.
    queue.put(
        [job("a2", "p:a", ts=2000), job("a1", "p:a", ts=1000), job("b1", "p:b", ts=1500)], now=0
    )
    first = queue.claim(owner="w1", now=10, lease=30)
    assert first is not None and first.key == "a1"
    second = queue.claim(owner="w2", now=10, lease=30)
    assert second is not None and second.key == "b1"  # a2 waits behind a1
    assert queue.claim(owner="w3", now=10, lease=30) is None
    assert queue.ack(first, now=11)
    third = queue.claim(owner="w3", now=11, lease=30)
    assert third is not None and third.key == "a2"


def test_same_timestamp_keeps_arrival_order(queue: SqliteQueue) -> None:
    queue.put([job("x"), job("y"), job("z")], now=0)
    order = []
    for _ in range(3):
        claimed = queue.claim(owner="w", now=1, lease=30)
        assert claimed is not None
        order.append(claimed.key)
        queue.ack(claimed, now=1)
    assert order == ["x", "y", "z"]


def test_a_late_event_with_an_earlier_timestamp_waits_for_the_running_turn(
    queue: SqliteQueue,
) -> None:
    queue.put([job("a2", "p:a", ts=2000)], now=0)
    running = queue.claim(owner="w1", now=1, lease=30)
    assert running is not None
    queue.put([job("a1", "p:a", ts=1000)], now=2)  # redelivered late by Meta
    assert queue.claim(owner="w2", now=3, lease=30) is None
    queue.ack(running, now=4)
    late = queue.claim(owner="w2", now=5, lease=30)
    assert late is not None and late.key == "a1"


def test_an_expired_lease_makes_the_job_claimable_and_fences_the_old_owner(
    queue: SqliteQueue,
) -> None:
    queue.put([job("m1"), job("m2")], now=0)
    stale = queue.claim(owner="dead-worker", now=0, lease=10)
    assert stale is not None and stale.attempts == 1
    assert queue.claim(owner="w2", now=5, lease=10) is None  # m2 stays behind m1
    taken_over = queue.claim(owner="w2", now=11, lease=10)
    assert taken_over is not None and taken_over.key == "m1" and taken_over.attempts == 2
    # The old owner can no longer change the job.
    assert not queue.save_reply(stale, [{"text": "late"}])
    assert not queue.mark_sent(stale, 1)
    assert not queue.ack(stale, now=12)
    assert not queue.retry(stale, at=0, error="x")
    assert queue.ack(taken_over, now=12)


def test_reply_and_send_ledger_survive_a_retry(queue: SqliteQueue) -> None:
    queue.put([job("m1")], now=0)
    claimed = queue.claim(owner="w", now=0, lease=30)
    assert claimed is not None and claimed.reply is None and claimed.sent == 0
    messages = [{"text": "one"}, {"text": "deux ✓"}]
    assert queue.save_reply(claimed, messages)
    assert queue.mark_sent(claimed, 1)
    assert queue.retry(claimed, at=5, error="graph down")
    assert queue.claim(owner="w", now=4, lease=30) is None  # not before its retry time
    again = queue.claim(owner="w", now=5, lease=30)
    assert again is not None
    assert again.reply == messages and again.sent == 1 and again.attempts == 2


def test_a_retried_job_keeps_later_jobs_of_its_conversation_waiting(queue: SqliteQueue) -> None:
    queue.put([job("a1", "p:a", 1), job("a2", "p:a", 2), job("b1", "p:b", 3)], now=0)
    first = queue.claim(owner="w", now=0, lease=30)
    assert first is not None and first.key == "a1"
    queue.retry(first, at=100, error="later")
    other = queue.claim(owner="w", now=1, lease=30)
    assert other is not None and other.key == "b1"
    assert queue.claim(owner="w", now=1, lease=30) is None


def test_bury_makes_a_dead_letter_and_unblocks_the_conversation(queue: SqliteQueue) -> None:
    queue.put([job("a1", ts=1), job("a2", ts=2)], now=0)
    first = queue.claim(owner="w", now=0, lease=30)
    assert first is not None
    assert queue.bury(first, reason="gave up", now=1)
    assert queue.state_of("a1") == "dead"
    nxt = queue.claim(owner="w", now=1, lease=30)
    assert nxt is not None and nxt.key == "a2"


def test_stats_and_purge(queue: SqliteQueue) -> None:
    queue.put([job("a", "p:a"), job("b", "p:b")], now=100)
    claimed = queue.claim(owner="w", now=100, lease=30)
    assert claimed is not None
    queue.ack(claimed, now=110)
    stats = queue.stats(now=130)
    assert stats["done"] == 1 and stats["queued"] == 1 and stats["oldest_age"] == 30
    assert queue.purge(before=105) == 0
    assert queue.purge(before=111) == 1
    assert queue.state_of(claimed.key) is None  # purged keys stop deduplicating


def test_concurrent_claimers_never_overlap_a_conversation_and_keep_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.db"
    setup = SqliteQueue(path)
    conversations = [f"p:{n}" for n in range(6)]
    setup.put([job(f"{c}-{i:02d}", c, ts=i) for i in range(15) for c in conversations], now=0)
    setup.close()
    seen: dict[str, list[str]] = {c: [] for c in conversations}
    active: set[str] = set()
    overlaps: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        q = SqliteQueue(path)  # one object per thread, as separate processes would have
        while True:
            claimed = q.claim(owner=name, now=1, lease=60)
            if claimed is None:
                if q.stats(now=1)["queued"] == 0:
                    break
                continue
            with lock:
                if claimed.conversation in active:
                    overlaps.append(claimed.key)
                active.add(claimed.conversation)
                seen[claimed.conversation].append(claimed.key)
            q.stats(now=1)  # a little work while holding the turn, so other threads interleave
            with lock:
                active.discard(claimed.conversation)  # before the ack: the turn still holds
            assert q.ack(claimed, now=1)
        q.close()

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == []
    for conversation, keys in seen.items():
        assert keys == [f"{conversation}-{i:02d}" for i in range(15)]


CHILD = """
import sys, os
from pathlib import Path
from bridge.queue import NewJob
from bridge.queue.sqlite import SqliteQueue
q = SqliteQueue(Path(sys.argv[1]))
q.put([NewJob(key=f"m{n}", conversation="p:1", order_ts=n, payload="{}") for n in range(50)],
      now=1.0)
print("committed", flush=True)
sys.stdin.read()  # wait to be killed
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_a_committed_put_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    root = Path(__file__).resolve().parent.parent
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "committed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    survivor = SqliteQueue(path)
    try:
        assert survivor.stats(now=2)["queued"] == 50
        claimed = survivor.claim(owner="w", now=2, lease=30)
        assert claimed is not None and claimed.key == "m0"
    finally:
        survivor.close()
