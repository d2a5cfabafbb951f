"""The SQS backend's semantics, against a local AWS-compatible server (moto, server mode) through
real boto3 calls: dedupe within and beyond SQS's 5 minutes, per-conversation order, leases and
fencing, retries, the reply and ledger across retries and processes. Visibility timeouts are
2 s so leases lapse quickly; waits poll with a deadline."""

from __future__ import annotations

import time

from bridge.config.queue import AwsQueueSettings
from bridge.queue import Claim, Job, PutResult
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import job_id, make_client, sqs_id
from bridge.queue.sqs.queue import SqsQueue
from tests.conftest import wait_for
from tests.queue.sqs.conftest import abandon, claim, claim_soon, job, messages
from tests.support.aws_resources import REGION

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


def test_a_reply_stored_by_store_reply_survives_a_crash(queue: SqsQueue, other: SqsQueue) -> None:
    queue.put([job("m_first")], now=time.time())
    first = claim_soon(queue)
    reply = [{"text": "one"}, {"text": "two"}]
    assert queue.store_reply(first, reply)()
    assert queue.mark_sent(first, 1)
    abandon(queue)
    resumed = claim_soon(other, "x")
    assert (resumed.reply, resumed.sent) == (reply, 1)


def test_put_and_claim_and_ack_and_claim_fall_back_to_one_call_after_the_other(
    queue: SqsQueue,
) -> None:
    claim_as = Claim("t0", "proc", 60.0)
    result, taken = queue.put_and_claim(
        [job("m_a", "ua"), job("m_b", "ub")], now=time.time(), claim=claim_as, limit=2
    )
    assert (result, taken) == (PutResult(added=2, duplicates=0), [])  # SQS claims by receiving
    first = claim_soon(queue)
    acked, second = wait_for(
        lambda: _ack_then_take(queue, first, claim_as), what="the other job with the ack"
    )
    assert acked and second.key != first.key
    assert queue.state_of(first.key) == "done"
    assert queue.ack(second, now=time.time(), sent=1)


def _ack_then_take(queue: SqsQueue, job_: Job, claim_as: Claim) -> tuple[bool, Job] | None:
    acked, taken = queue.ack_and_claim(job_, now=time.time(), sent=1, claim=claim_as)
    return None if taken is None else (acked, taken)


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
