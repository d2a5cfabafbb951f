"""The embedded SQLite queue: dedupe, per-conversation order, leases, durability."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bridge.queue import Claim, NewJob, PutResult, Worker
from bridge.queue.sqlite.store import SqliteQueue


def job(key: str, conversation: str = "p:1", ts: int = 1000, payload: str = "{}") -> NewJob:
    return NewJob(
        key=key,
        page=conversation.split(":")[0],
        conversation=conversation,
        order_ts=ts,
        payload=payload,
    )


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
    first = queue.claim(owner="w1", process="proc", now=10, lease=30)
    assert first is not None and first.key == "a1"
    second = queue.claim(owner="w2", process="proc", now=10, lease=30)
    assert second is not None and second.key == "b1"  # a2 waits behind a1
    assert queue.claim(owner="w3", process="proc", now=10, lease=30) is None
    assert queue.ack(first, now=11)
    third = queue.claim(owner="w3", process="proc", now=11, lease=30)
    assert third is not None and third.key == "a2"


def test_same_timestamp_keeps_arrival_order(queue: SqliteQueue) -> None:
    queue.put([job("x"), job("y"), job("z")], now=0)
    order = []
    for _ in range(3):
        claimed = queue.claim(owner="w", process="proc", now=1, lease=30)
        assert claimed is not None
        order.append(claimed.key)
        queue.ack(claimed, now=1)
    assert order == ["x", "y", "z"]


def test_a_late_event_with_an_earlier_timestamp_waits_for_the_running_turn(
    queue: SqliteQueue,
) -> None:
    queue.put([job("a2", "p:a", ts=2000)], now=0)
    running = queue.claim(owner="w1", process="proc", now=1, lease=30)
    assert running is not None
    queue.put([job("a1", "p:a", ts=1000)], now=2)  # redelivered late by Meta
    assert queue.claim(owner="w2", process="proc", now=3, lease=30) is None
    queue.ack(running, now=4)
    late = queue.claim(owner="w2", process="proc", now=5, lease=30)
    assert late is not None and late.key == "a1"


def test_a_gone_process_s_job_is_claimable_again_and_its_owner_fenced(
    queue: SqliteQueue,
) -> None:
    queue.put([job("m1"), job("m2")], now=0)
    stale = queue.claim(owner="dead-worker", process="proc", now=0, lease=10)
    assert stale is not None and stale.attempts == 1
    assert queue.claim(owner="w2", process="proc", now=5, lease=10) is None  # m2 waits
    # No clock decides it: however late it is, a process not known gone keeps its job.
    assert queue.release_stale(dead=[]) == 0
    assert queue.still_holds(stale)
    assert queue.release_stale(dead=["proc"]) == 1
    assert not queue.still_holds(stale)
    taken_over = queue.claim(owner="w2", process="proc", now=11, lease=10)
    assert taken_over is not None and taken_over.key == "m1" and taken_over.attempts == 2
    # The old owner can no longer change the job.
    assert not queue.save_reply(stale, [{"text": "late"}])
    assert not queue.mark_sent(stale, 1)
    assert not queue.ack(stale, now=12)
    assert not queue.retry(stale, at=0, error="x")
    assert queue.ack(taken_over, now=12)


def test_reply_and_send_ledger_survive_a_retry(queue: SqliteQueue) -> None:
    queue.put([job("m1")], now=0)
    claimed = queue.claim(owner="w", process="proc", now=0, lease=30)
    assert claimed is not None and claimed.reply is None and claimed.sent == 0
    messages = [{"text": "one"}, {"text": "deux ✓"}]
    assert queue.save_reply(claimed, messages)
    assert queue.mark_sent(claimed, 1)
    assert queue.retry(claimed, at=5, error="graph down")
    assert queue.claim(owner="w", process="proc", now=4, lease=30) is None  # not before at=5
    again = queue.claim(owner="w", process="proc", now=5, lease=30)
    assert again is not None
    assert again.reply == messages and again.sent == 1 and again.attempts == 2


def test_a_retried_job_keeps_later_jobs_of_its_conversation_waiting(queue: SqliteQueue) -> None:
    queue.put([job("a1", "p:a", 1), job("a2", "p:a", 2), job("b1", "p:b", 3)], now=0)
    first = queue.claim(owner="w", process="proc", now=0, lease=30)
    assert first is not None and first.key == "a1"
    queue.retry(first, at=100, error="later")
    other = queue.claim(owner="w", process="proc", now=1, lease=30)
    assert other is not None and other.key == "b1"
    assert queue.claim(owner="w", process="proc", now=1, lease=30) is None


def test_bury_makes_a_dead_letter_and_unblocks_the_conversation(queue: SqliteQueue) -> None:
    queue.put([job("a1", ts=1), job("a2", ts=2)], now=0)
    first = queue.claim(owner="w", process="proc", now=0, lease=30)
    assert first is not None
    assert queue.bury(first, reason="gave up", now=1)
    assert queue.state_of("a1") == "dead"
    nxt = queue.claim(owner="w", process="proc", now=1, lease=30)
    assert nxt is not None and nxt.key == "a2"


def test_stats_and_purge(queue: SqliteQueue) -> None:
    queue.put([job("a", "p:a"), job("b", "p:b")], now=100)
    claimed = queue.claim(owner="w", process="proc", now=100, lease=30)
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
            claimed = q.claim(owner=name, process="proc", now=1, lease=60)
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
from bridge.queue.sqlite.store import SqliteQueue
q = SqliteQueue(Path(sys.argv[1]))
q.put([NewJob(key=f"m{n}", page="p", conversation="p:1", order_ts=n, payload="{}")
       for n in range(50)],
      now=1.0)
print("committed", flush=True)
sys.stdin.read()  # wait to be killed
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_a_committed_put_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    root = Path(__file__).resolve().parents[3]
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
        claimed = survivor.claim(owner="w", process="proc", now=2, lease=30)
        assert claimed is not None and claimed.key == "m0"
    finally:
        survivor.close()


def test_jobs_of_a_gone_process_are_released_at_once(queue: SqliteQueue) -> None:
    queue.put([job("a1", "p:a", 1), job("a2", "p:a", 2), job("b1", "p:b", 1)], now=0)
    a1 = queue.claim(owner="gone:0", process="gone", now=0, lease=1000)
    b1 = queue.claim(owner="alive:0", process="alive", now=0, lease=1000)
    assert a1 and b1
    queue.heartbeat(Worker("gone", "h", 2, heartbeat=0))
    queue.heartbeat(Worker("alive", "h", 3, heartbeat=0))  # silent for long: still alive
    assert queue.release_stale(dead=["gone"]) == 1
    assert [w.process for w in queue.workers()] == ["alive"]
    again = queue.claim(owner="new:0", process="new", now=100, lease=10)
    assert again is not None and again.key == "a1"  # ahead of a2: order kept
    assert queue.state_of("b1") == "running"
    assert not queue.ack(a1, now=101)  # the gone owner is fenced off


def test_a_throttled_or_paused_page_holds_only_its_own_jobs(queue: SqliteQueue) -> None:
    queue.put([job("x1", "px:1", 1), job("y1", "py:1", 2)], now=0)
    queue.block_page("px", until=50, reason="rate limited (613)", now=0)
    first = queue.claim(owner="w", process="p", now=1, lease=30)
    assert first is not None and first.key == "y1"
    assert queue.claim(owner="w", process="p", now=1, lease=30) is None
    queue.block_page("px", until=20, reason="rate limited (613)", now=2)  # never shortened
    assert queue.claim(owner="w", process="p", now=30, lease=30) is None
    assert queue.pause_page("py", reason="token expired (190)", now=3)
    assert not queue.pause_page("py", reason="token expired (190)", now=4)  # already paused
    queue.put([job("y2", "py:1", 5)], now=5)
    queue.ack(first, now=5)
    got = queue.claim(owner="w", process="p", now=51, lease=30)
    assert got is not None and got.key == "x1"
    assert queue.claim(owner="w", process="p", now=51, lease=30) is None  # py is paused
    [px, py] = queue.pages()
    assert (px.page, px.blocked_until, px.paused) == ("px", 50, False)
    assert (py.page, py.paused, py.reason) == ("py", True, "token expired (190)")
    assert queue.resume_page("py") and not queue.resume_page("py")
    resumed = queue.claim(owner="w", process="p", now=52, lease=30)
    assert resumed is not None and resumed.key == "y2"


def test_refunded_retries_do_not_use_up_attempts(queue: SqliteQueue) -> None:
    queue.put([job("m1")], now=0)
    for n in range(3):
        claimed = queue.claim(owner="w", process="p", now=n, lease=30)
        assert claimed is not None and claimed.attempts == 1
        assert queue.retry(claimed, at=n, error="page paused", refund=True)


def test_dead_letters_dropped_jobs_and_requeue(queue: SqliteQueue) -> None:
    queue.put([job("d1", "p:1"), job("d2", "p:2"), job("x1", "p:3")], now=0)
    for key, end in (("d1", "bury"), ("d2", "bury"), ("x1", "drop")):
        claimed = queue.claim(owner="w", process="p", now=1, lease=30)
        assert claimed is not None and claimed.key == key
        reason = "Graph unreachable" if key == "d1" else "rate limited (613)"
        if end == "bury":
            queue.bury(claimed, reason=reason, now=2)
        else:
            queue.drop(claimed, reason="outside the 24-hour window (10/2018278)", now=2)
    letters = queue.dead_letters()
    assert sorted(d.key for d in letters) == ["d1", "d2"]
    assert {d.reason for d in letters} == {"Graph unreachable", "rate limited (613)"}
    assert len(queue.dead_letters(include_dropped=True)) == 3
    assert queue.requeue() == 0  # nothing chosen, nothing changed
    assert queue.requeue(reason="613") == 1
    assert queue.state_of("d2") == "queued"
    d1 = next(d for d in letters if d.key == "d1")
    assert queue.requeue(ids=[d1.id]) == 1
    assert queue.requeue(everything=True) == 0  # the dropped job is not a dead letter
    requeued = queue.claim(owner="w", process="p", now=3, lease=30)
    assert requeued is not None and requeued.attempts == 1  # fresh attempts
    stats = queue.stats(now=3)
    assert (stats["dead"], stats["dropped"], stats["running"], stats["queued"]) == (0, 1, 1, 1)
    assert stats["pages"] == {"p": 2}


def test_the_ack_records_the_last_part_in_the_send_ledger(queue: SqliteQueue) -> None:

    queue.put([job("m1"), job("m2", "p:2")], now=0)
    for key in ("m1", "m2"):
        claimed = queue.claim(owner=f"w-{key}", process="p", now=1, lease=30)
        assert claimed is not None and claimed.key == key
        assert queue.save_reply(claimed, [{"text": "one"}, {"text": "two"}])
        assert queue.mark_sent(claimed, 1)
        assert queue.ack(claimed, now=2, sent=2 if key == "m1" else None)
    with sqlite3.connect(queue.path) as db:
        ledger = dict(db.execute("SELECT key, sent FROM jobs"))
    assert ledger == {"m1": 2, "m2": 1}  # without a count the ack leaves the ledger as it was


def _stored(queue: SqliteQueue, key: str) -> tuple[str | None, int]:
    with sqlite3.connect(queue.path) as db:
        reply, sent = db.execute("SELECT reply, sent FROM jobs WHERE key = ?", (key,)).fetchone()
    return reply, sent


def test_put_and_claim_takes_only_new_heads_of_idle_conversations(queue: SqliteQueue) -> None:
    claim = Claim("proc:accepted", "proc", 30)
    queue.put([job("a1", "p:a", ts=1)], now=0)
    running = queue.claim(owner="w", process="proc", now=1, lease=30)
    assert running is not None and running.key == "a1"
    result, taken = queue.put_and_claim(
        [job("a2", "p:a", ts=2), job("b1", "p:b", ts=3), job("b2", "p:b", ts=4)],
        now=2,
        claim=claim,
        limit=5,
    )
    assert result == PutResult(added=3, duplicates=0)
    # a2 waits behind the running a1; of p:b only its head, b1.
    assert [(t.key, t.owner, t.attempts) for t in taken] == [("b1", "proc:accepted", 1)]
    assert queue.state_of("b1") == "running" and queue.state_of("b2") == "queued"
    # A redelivery is a duplicate and takes nothing; ``limit`` bounds what is taken.
    again, none = queue.put_and_claim([job("b1", "p:b", ts=3)], now=3, claim=claim, limit=5)
    assert (again, none) == (PutResult(added=0, duplicates=1), [])
    _, limited = queue.put_and_claim(
        [job("c1", "p:c", ts=5), job("d1", "p:d", ts=6)], now=4, claim=claim, limit=1
    )
    assert [t.key for t in limited] == ["c1"]
    _, nothing = queue.put_and_claim([job("e1", "p:e", ts=7)], now=5, claim=claim, limit=0)
    assert nothing == [] and queue.state_of("e1") == "queued"


def test_put_and_claim_leaves_a_paused_page_s_jobs_queued(queue: SqliteQueue) -> None:
    queue.pause_page("p", reason="token expired", now=0)
    _, taken = queue.put_and_claim([job("m1")], now=1, claim=Claim("o", "proc", 30), limit=1)
    assert taken == [] and queue.state_of("m1") == "queued"


def test_ack_and_claim_takes_the_oldest_claimable_job_in_the_same_commit(
    queue: SqliteQueue,
) -> None:
    queue.put([job("a1", "p:a", ts=1), job("a2", "p:a", ts=4), job("b1", "p:b", ts=2)], now=0)
    first = queue.claim(owner="w", process="proc", now=1, lease=30)
    assert first is not None and first.key == "a1"
    acked, taken = queue.ack_and_claim(first, now=2, sent=1, claim=Claim("w", "proc", 30))
    assert acked and taken is not None and taken.key == "b1"  # older than a2
    assert _stored(queue, "a1") == (None, 1)
    acked, taken = queue.ack_and_claim(taken, now=3, sent=0, claim=Claim("w", "p", 30))
    assert acked and taken is not None and taken.key == "a2"
    acked, taken = queue.ack_and_claim(taken, now=4, sent=0, claim=Claim("w", "p", 30))
    assert acked and taken is None
    assert queue.stats(now=5)["done"] == 3


def test_a_lost_lease_fails_the_ack_but_the_claim_still_happens(queue: SqliteQueue) -> None:
    queue.put([job("a1", "p:a"), job("b1", "p:b", ts=2000)], now=0)
    stale = queue.claim(owner="old", process="proc", now=0, lease=1)
    assert stale is not None and stale.key == "a1"
    assert queue.release_stale(dead=["proc"]) == 1
    fresh = queue.claim(owner="new", process="proc", now=5, lease=30)
    assert fresh is not None and fresh.key == "a1"
    acked, taken = queue.ack_and_claim(stale, now=6, sent=1, claim=Claim("old", "proc", 30))
    assert not acked and taken is not None and taken.key == "b1"
    assert queue.state_of("a1") == "running"


def test_store_reply_commits_in_order_without_making_its_caller_wait(
    queue: SqliteQueue,
) -> None:
    queue.put([job("m1")], now=0)
    one = queue.claim(owner="w1", process="p", now=1, lease=30)
    assert one is not None
    stored = queue.store_reply(one, [{"text": "one"}, {"text": "two"}])
    assert queue.mark_sent(one, 1)  # handed over after it: committed after it
    assert stored() and stored()  # waiting twice is fine
    assert _stored(queue, "m1") == ('[{"text": "one"}, {"text": "two"}]', 1)
    assert queue.ack(one, now=2)
    assert not queue.store_reply(one, [{"text": "late"}])()  # no longer this owner's
