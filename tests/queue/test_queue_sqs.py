"""The SQS backend's semantics, against a local AWS-compatible server (moto, server mode) through
real boto3 calls: dedupe within and beyond SQS's 5 minutes, per-conversation order, leases and
fencing, retries, Page holds, dead letters and requeue, the reply and ledger across retries and
processes, threads, liveness. Visibility timeouts are 2 s so leases lapse quickly; waits poll
with a deadline."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.config.settings import AwsQueueSettings
from bridge.errors import QueueError
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue import Job, NewJob, PutResult
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import job_id, make_client, sqs_id
from bridge.queue.sqs.dead import SQS_MOVED
from bridge.queue.sqs.queue import SqsQueue
from bridge.queue.sqs.table import Expr
from tests.conftest import wait_for
from tests.support.motoserver import (
    REGION,
    aws_environment,
    create_resources,
    moto_server,
    unique_names,
)

LEASE = 60.0


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    env = aws_environment(moto_url, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def settings(aws: dict[str, str]) -> AwsQueueSettings:
    return create_resources(unique_names())


@pytest.fixture
def queue(settings: AwsQueueSettings) -> Iterator[SqsQueue]:
    q = SqsQueue(settings)
    yield q
    q.close()


@pytest.fixture
def other(settings: AwsQueueSettings) -> Iterator[SqsQueue]:
    """A second process sharing the queue and table."""
    q = SqsQueue(settings)
    yield q
    q.close()


def job(key: str, user: str = "u1", page: str = "p1", ts: int = 0) -> NewJob:
    return NewJob(
        key=key, page=page, conversation=f"{page}:{user}", order_ts=ts, payload=f'{{"k":"{key}"}}'
    )


def claim(queue: SqsQueue, owner: str = "t0", *, lease: float = LEASE) -> Job | None:
    return queue.claim(owner=owner, process="proc", now=time.time(), lease=lease)


def claim_soon(
    queue: SqsQueue, owner: str = "t0", *, timeout: float = 10.0, lease: float = LEASE
) -> Job:
    found: Job = wait_for(
        lambda: claim(queue, owner, lease=lease), timeout=timeout, what="a claimable job"
    )
    return found


def messages(settings: AwsQueueSettings) -> dict[str, int]:
    """Visible and in-flight messages of the main queue, as SQS counts them."""
    attributes = make_client("sqs", REGION).get_queue_attributes(
        QueueUrl=settings.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    }


def abandon(queue: SqsQueue) -> None:
    """The process dies: no more lease renewals, its messages are not released."""
    queue._leases.stop()
    queue._held.take_all()


# --- put and dedupe ------------------------------------------------------------------------------


def test_a_job_goes_round_trip_and_its_message_is_deleted(
    queue: SqsQueue, settings: AwsQueueSettings
) -> None:
    assert queue.put([job("m_1")], now=time.time()).added == 1
    assert queue.state_of("m_1") == "queued"
    claimed = claim_soon(queue)
    assert (claimed.key, claimed.attempts, claimed.reply, claimed.sent) == ("m_1", 1, None, 0)
    assert claimed.id == job_id("m_1")
    assert queue.state_of("m_1") == "running"
    assert queue.ack(claimed, now=time.time(), sent=0)
    assert queue.state_of("m_1") == "done"
    assert messages(settings) == {"visible": 0, "in_flight": 0}


def test_a_redelivery_within_five_minutes_is_one_job_and_one_message(
    queue: SqsQueue, settings: AwsQueueSettings
) -> None:
    assert queue.put([job("m_dup")], now=time.time()) == PutResult(1, 0)
    assert queue.put([job("m_dup"), job("m_dup")], now=time.time()) == PutResult(0, 2)
    assert messages(settings)["visible"] == 1


def test_a_redelivery_after_the_answer_is_a_duplicate_without_a_message(
    queue: SqsQueue, settings: AwsQueueSettings
) -> None:
    queue.put([job("m_late")], now=time.time())
    answered = claim_soon(queue)
    queue.ack(answered, now=time.time())
    # Past SQS's 5-minute window its deduplication no longer helps: the table answers.
    assert queue.put([job("m_late")], now=time.time()) == PutResult(0, 1)
    assert messages(settings) == {"visible": 0, "in_flight": 0}


def test_a_second_ticket_for_an_answered_event_is_deleted_unused(
    queue: SqsQueue, settings: AwsQueueSettings
) -> None:
    queue.put([job("m_twice")], now=time.time())
    queue.ack(claim_soon(queue), now=time.time())
    # What SQS accepts after its 5 minutes: the same event sent again (e.g. by a webhook that
    # died after sending, before its 200, and the redelivery came late).
    make_client("sqs", REGION).send_message(
        QueueUrl=settings.queue_url,
        MessageBody=items.to_body(job("m_twice")),
        MessageGroupId="p1:u1",
        MessageDeduplicationId="another-id",
    )
    wait_for(lambda: claim(queue) is None and messages(settings) == {"visible": 0, "in_flight": 0})
    assert queue.state_of("m_twice") == "done"


def test_an_event_whose_message_was_never_sent_is_sent_on_redelivery(
    queue: SqsQueue, settings: AwsQueueSettings
) -> None:
    # A webhook that died between writing the item and SendMessage (no 200 went out).
    expr = items.new_job_item(job("m_lost"), time.time())
    queue.table.put_plain(expr, what="test")
    assert messages(settings)["visible"] == 0
    assert queue.put([job("m_lost")], now=time.time()) == PutResult(0, 1)
    assert claim_soon(queue).key == "m_lost"


def test_ids_that_sqs_would_refuse_are_digested() -> None:
    assert sqs_id("m_abc-123") == "m_abc-123"
    long = "m_" + "x" * 200
    assert sqs_id(long).startswith("sha256:") and len(sqs_id(long)) <= 128
    assert sqs_id("with space") != "with space"
    assert sqs_id("ünïcode").startswith("sha256:")


def test_a_key_too_long_for_sqs_is_still_deduplicated(
    queue: SqsQueue, settings: AwsQueueSettings
) -> None:
    key = "derived:" + "é" * 150
    assert queue.put([job(key)], now=time.time()) == PutResult(1, 0)
    assert queue.put([job(key)], now=time.time()) == PutResult(0, 1)
    assert claim_soon(queue).key == key


# --- order and leases ------------------------------------------------------------------------


def test_one_conversation_runs_one_job_at_a_time_in_arrival_order(queue: SqsQueue) -> None:
    for i in range(3):
        queue.put([job(f"m_a{i}", user="a", ts=100 - i)], now=time.time())  # timestamps reversed
    queue.put([job("m_b0", user="b")], now=time.time())
    first = claim_soon(queue, "t0")
    assert first.key == "m_a0"  # arrival order, not Messenger's timestamp (see the module doc)
    second = claim_soon(queue, "t1")
    assert second.key == "m_b0"
    assert claim(queue, "t2") is None  # m_a1 waits for m_a0
    queue.ack(first, now=time.time())
    assert claim_soon(queue, "t2").key == "m_a1"


def test_one_receive_brings_a_message_for_each_idle_thread(queue: SqsQueue) -> None:
    owners = [f"t{i}" for i in range(5)]
    for owner in owners:  # five delivery threads ask for work; there is none yet
        assert claim(queue, owner) is None
    queue.put([job(f"m_{u}", user=u) for u in "abcde"], now=time.time())
    first = claim_soon(queue, owners[0])
    assert len(queue._held) == 5  # one ReceiveMessage brought all five
    others = [claim(queue, owner) for owner in owners[1:]]
    assert {first.key} | {j.key for j in others if j is not None} == {f"m_{u}" for u in "abcde"}


def test_the_lease_is_renewed_while_a_turn_runs(queue: SqsQueue, other: SqsQueue) -> None:
    queue.put([job("m_long")], now=time.time())
    running = claim_soon(queue)
    deadline = time.monotonic() + 4.5  # over two visibility timeouts
    while time.monotonic() < deadline:
        assert claim(other, "x") is None
    assert queue.ack(running, now=time.time())


def test_an_expired_lease_is_taken_over_and_the_old_owner_is_fenced(
    queue: SqsQueue, other: SqsQueue
) -> None:
    queue.put([job("m_stuck")], now=time.time())
    stuck = claim_soon(queue, lease=0.5)  # renewals stop after 0.5 s: the turn hangs
    taken = claim_soon(other, "x")
    assert (taken.key, taken.attempts) == ("m_stuck", 2)
    assert taken.owner != stuck.owner
    assert not queue.save_reply(stuck, [{"text": "late"}])
    assert not queue.mark_sent(stuck, 1)
    assert not queue.ack(stuck, now=time.time())
    assert not queue.retry(stuck, at=time.time(), error="x")
    assert other.save_reply(taken, [{"text": "mine"}])
    assert other.ack(taken, now=time.time())
    assert other.state_of("m_stuck") == "done"


def test_a_dead_process_s_job_resumes_with_its_reply_and_ledger(
    queue: SqsQueue, other: SqsQueue
) -> None:
    queue.put([job("m_crash")], now=time.time())
    first = claim_soon(queue)
    reply = [{"text": "one"}, {"text": "two"}, {"text": "three"}]
    assert queue.save_reply(first, reply)
    assert queue.mark_sent(first, 1)
    abandon(queue)  # kill -9 after Graph accepted the first part
    resumed = claim_soon(other, "x")
    assert (resumed.reply, resumed.sent, resumed.attempts) == (reply, 1, 2)


# --- retries -----------------------------------------------------------------------------------


def test_a_retry_waits_for_its_time_and_keeps_reply_and_ledger(queue: SqsQueue) -> None:
    queue.put([job("m_retry")], now=time.time())
    first = claim_soon(queue)
    queue.save_reply(first, [{"text": "a"}, {"text": "b"}])
    queue.mark_sent(first, 1)
    due = time.time() + 1.0
    assert queue.retry(first, at=due, error="graph: 500")
    assert claim(queue) is None  # not before its time
    again = claim_soon(queue)
    assert time.time() >= due
    assert (again.attempts, again.reply, again.sent) == (2, [{"text": "a"}, {"text": "b"}], 1)
    assert again.last_error == "graph: 500"


def test_a_refunded_retry_does_not_use_up_an_attempt(queue: SqsQueue) -> None:
    queue.put([job("m_refund")], now=time.time())
    first = claim_soon(queue)
    assert queue.retry(first, at=time.time(), error="throttled", refund=True)
    assert claim_soon(queue).attempts == 1


def test_a_retry_time_holds_after_its_process_dies(queue: SqsQueue, other: SqsQueue) -> None:
    queue.put([job("m_later")], now=time.time())
    due = time.time() + 3.0
    queue.retry(claim_soon(queue), at=due, error="later")
    abandon(queue)
    again = claim_soon(other, "x")
    assert time.time() >= due and again.attempts == 2


def test_a_later_message_of_the_conversation_waits_behind_a_retry(queue: SqsQueue) -> None:
    queue.put([job("m_r0"), job("m_r1")], now=time.time())
    first = claim_soon(queue)
    queue.retry(first, at=time.time() + 1.0, error="x")
    assert claim(queue, "t1") is None
    assert claim_soon(queue, "t1").key == "m_r0"


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


# --- dead letters ------------------------------------------------------------------------------


def test_a_buried_job_is_a_dead_letter_and_comes_back_when_requeued(
    queue: SqsQueue, settings: AwsQueueSettings
) -> None:
    queue.put([job("m_dead")], now=time.time())
    claimed = claim_soon(queue)
    assert queue.bury(claimed, reason="gave up after 8 attempts", now=time.time())
    assert queue.state_of("m_dead") == "dead"
    assert messages(settings) == {"visible": 0, "in_flight": 0}
    [letter] = queue.dead_letters()
    assert (letter.id, letter.key, letter.state, letter.attempts) == (
        claimed.id,
        "m_dead",
        "dead",
        1,
    )
    assert letter.reason == "gave up after 8 attempts"
    assert letter.payload == '{"k":"m_dead"}'
    assert queue.stats(now=time.time())["dead"] == 1
    assert queue.requeue(ids=[12345]) == 0
    assert queue.requeue(reason="nothing like it") == 0
    assert queue.requeue(ids=[claimed.id], reason="gave up") == 1
    again = claim_soon(queue)
    assert (again.key, again.attempts) == ("m_dead", 1)
    assert queue.dead_letters() == []


def test_requeue_within_five_minutes_of_the_first_send_is_not_deduplicated_away(
    queue: SqsQueue,
) -> None:
    queue.put([job("m_fast")], now=time.time())
    queue.bury(claim_soon(queue), reason="x", now=time.time())
    assert queue.requeue(everything=True) == 1
    queue.bury(claim_soon(queue), reason="y", now=time.time())
    assert queue.requeue(everything=True) == 1
    assert claim_soon(queue).key == "m_fast"


def test_dropped_jobs_are_listed_on_request(queue: SqsQueue) -> None:
    queue.put([job("m_drop")], now=time.time())
    assert queue.drop(claim_soon(queue), reason="outside the 24-hour window", now=time.time())
    assert queue.dead_letters() == []
    [dropped] = queue.dead_letters(include_dropped=True)
    assert (dropped.key, dropped.state, dropped.reason) == (
        "m_drop",
        "dropped",
        "outside the 24-hour window",
    )
    assert queue.requeue(everything=True) == 0


def test_a_message_whose_holders_keep_dying_goes_to_the_dead_letter_queue(
    aws: dict[str, str],
) -> None:
    settings = create_resources(unique_names(), max_receives=2)
    queue = SqsQueue(settings)
    try:
        queue.put([job("m_poison")], now=time.time())
        sqs = make_client("sqs", REGION)
        for _ in range(2):  # two holders that died at once (visibility 0)
            got = sqs.receive_message(QueueUrl=settings.queue_url, VisibilityTimeout=0)
            assert len(got["Messages"]) == 1
        assert claim(queue) is None  # the next receive: SQS moves it instead
        [letter] = queue.dead_letters()
        assert (letter.key, letter.reason) == ("m_poison", SQS_MOVED)
        assert queue.requeue(everything=True) == 1
        assert claim_soon(queue).key == "m_poison"
    finally:
        queue.close()


def test_a_burial_interrupted_before_the_move_is_finished_later(
    queue: SqsQueue, other: SqsQueue
) -> None:
    queue.put([job("m_half")], now=time.time())
    claimed = claim_soon(queue)
    queue.table.update(
        f"job#{claimed.key}",
        items.JOB_SK,
        Expr().set("state", "dead"),
        what="test",
    )
    abandon(queue)  # died after marking it dead, before moving its message
    wait_for(lambda: claim(other, "x") is None and other.dead_letters(), timeout=10)
    assert [letter.key for letter in other.dead_letters()] == ["m_half"]


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


def test_heartbeats_list_workers_and_stale_ones_are_forgotten(queue: SqsQueue) -> None:
    from bridge.queue import Worker

    now = time.time()
    queue.heartbeat(Worker("host:1:a", "host", 1, now - 60))
    queue.heartbeat(Worker("host:2:b", "host", 2, now))
    assert [w.process for w in queue.workers()] == ["host:1:a", "host:2:b"]
    assert queue.release_stale(now=now, stale_after=10, dead=[]) == 0
    assert [w.process for w in queue.workers()] == ["host:2:b"]


def test_a_stopping_process_lets_its_messages_go_at_once(queue: SqsQueue, other: SqsQueue) -> None:
    assert claim(queue, "t0") is None and claim(queue, "t1") is None  # two idle threads
    queue.put([job("m_a", user="a"), job("m_b", user="b")], now=time.time())
    running = claim_soon(queue, "t0")  # one receive brought both messages
    assert queue.retry(running, at=time.time(), error="released at shutdown", refund=True)
    assert queue.release_stale(now=time.time(), stale_after=10, dead=["proc"]) == 2
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
