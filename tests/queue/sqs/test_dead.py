"""The SQS backend's dead letters: burying, requeueing, dropped jobs, and messages SQS moved to
the dead-letter queue itself (bridge/queue/sqs/dead.py, running.py)."""

from __future__ import annotations

import time

from bridge.config.queue import AwsQueueSettings
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import make_client
from bridge.queue.sqs.dead import SQS_MOVED
from bridge.queue.sqs.queue import SqsQueue
from bridge.queue.sqs.table import Expr
from tests.conftest import wait_for
from tests.queue.sqs.conftest import abandon, claim, claim_soon, job, messages
from tests.support.aws_resources import REGION, create_resources, unique_names

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
