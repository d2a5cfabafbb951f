"""Outbound messages on the SQS backend (moto, real boto3 calls): queued in the person's
conversation after the checks, one job per idempotency key across processes, the status read
with the parts sent and their Graph message ids."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from bridge.config.queue import AwsQueueSettings
from bridge.errors import OutboundRefused
from bridge.messenger.thread_control import ThreadSignal
from bridge.outbound import jobs
from bridge.outbound.enqueue import Outbox
from bridge.queue.sqs.queue import SqsQueue
from tests.queue.sqs.conftest import claim, claim_soon, job
from tests.support.notifications import MemoryNotifications

PAGE, USER = "p1", "2000000000000001"


def outbox(queue: SqsQueue, notifications: MemoryNotifications | None = None) -> Outbox:
    return Outbox(queue=queue, notifications=notifications, pages=[PAGE], idle_ms=86_400_000)


def seen(queue: SqsQueue, now: float) -> None:
    queue.record_threads([ThreadSignal(PAGE, USER, int(now * 1000), "inbound")], now=now)


def body(**more: object) -> dict[str, object]:
    return {"recipient": {"id": USER}, "text": "How are you today?", **more}


def test_refused_then_queued_then_sent_with_its_message_ids(queue: SqsQueue) -> None:
    now = time.time()
    with pytest.raises(OutboundRefused) as unknown:
        outbox(queue).submit(body(), now=now)
    assert unknown.value.code == "unknown_recipient"
    seen(queue, now)
    accepted = outbox(queue).submit(body(text="one " * 700), now=now)
    record = queue.outbound(accepted.id)
    assert record is not None and jobs.status_of(record)["status"] == "queued"
    claimed = claim_soon(queue)
    assert claimed.key == accepted.id and claimed.conversation == f"{PAGE}:{USER}"
    assert jobs.status_of(queue.outbound(accepted.id))["status"] == "sending"  # type: ignore[arg-type]
    assert queue.record_sent(claimed, 1, "m_1")
    assert not queue.record_sent(replace(claimed, owner="someone else"), 2, "m_x")
    assert queue.record_sent(claimed, 2, "m_2")
    assert queue.ack(claimed, now=time.time(), sent=2)
    done = queue.outbound(accepted.id)
    assert done is not None
    assert jobs.status_of(done) == {
        "id": accepted.id,
        "status": "sent",
        "parts_sent": 2,
        "message_ids": ["m_1", "m_2"],
    }
    assert queue.outbound("out_unknown") is None


def test_a_dropped_message_reports_its_reason(queue: SqsQueue) -> None:
    now = time.time()
    seen(queue, now)
    accepted = outbox(queue).submit(body(), now=now)
    claimed = claim_soon(queue)
    assert queue.drop(claimed, reason="outside Messenger's 24-hour window", now=time.time())
    record = queue.outbound(accepted.id)
    assert record is not None
    answer = jobs.status_of(record)
    assert answer["status"] == "dropped" and "24-hour" in answer["reason"]


def test_one_key_across_processes_is_one_job(settings: AwsQueueSettings, queue: SqsQueue) -> None:
    now = time.time()
    seen(queue, now)
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        process = SqsQueue(settings)
        try:
            barrier.wait()
            accepted = outbox(process).submit(body(idempotency_key="once"), now=now)
            results.append((accepted.id, accepted.created))
        finally:
            process.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 4 and len({r[0] for r in results}) == 1
    assert sum(created for _, created in results) == 1
    with pytest.raises(OutboundRefused) as conflict:
        outbox(queue).submit(body(idempotency_key="once", text="other"), now=now)
    assert conflict.value.code == "idempotency_conflict"
    claimed = claim_soon(queue)
    assert queue.ack(claimed, now=time.time(), sent=1)
    assert claim(queue) is None  # one job, one ticket (or a second ticket deleted unused)


def test_it_waits_behind_the_persons_turn_in_flight(queue: SqsQueue) -> None:
    now = time.time()
    seen(queue, now)
    queue.put([job("m_first", user=USER, page=PAGE, ts=int(now * 1000))], now=now)
    running = claim_soon(queue)
    assert running.key == "m_first"
    accepted = outbox(queue).submit(body(), now=now)
    assert claim(queue, "t1") is None  # the conversation is busy
    assert queue.ack(running, now=time.time(), sent=1)
    assert claim_soon(queue, "t1").key == accepted.id


def test_a_token_recipient_on_sqs_keeps_only_the_tokens_hash(queue: SqsQueue) -> None:
    now = time.time()
    book = MemoryNotifications()
    book.add(PAGE, USER, "sqs-secret-token")
    accepted = outbox(queue, book).submit(
        {"recipient": {"notification_messages_token": "sqs-secret-token"}, "text": "Sale"}, now=now
    )
    record = queue.outbound(accepted.id)
    assert record is not None and "sqs-secret-token" not in record.payload
    assert jobs.from_payload(record.payload).token_sha256 == jobs.token_hash("sqs-secret-token")
