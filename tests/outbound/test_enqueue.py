"""Queueing outbound messages on the real SQLite queue: the conversation, the rules at enqueue,
idempotency (also under concurrent requests) and the token kept out of the job."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import InvalidRequest, OutboundRefused
from bridge.messenger.thread_control import ThreadSignal
from bridge.outbound import jobs
from bridge.outbound.enqueue import Outbox
from bridge.queue.sqlite.store import SqliteQueue
from tests.support.notifications import MemoryNotifications

PAGE, USER = "111", "2000000000000001"
NOW = 1_700_000_000.0
HOUR = 3600.0


@pytest.fixture
def outbox(queue: SqliteQueue) -> Outbox:
    return Outbox(
        queue=queue, notifications=MemoryNotifications(), pages=[PAGE], idle_ms=86_400_000
    )


def seen(queue: SqliteQueue, at: float = NOW, user: str = USER) -> None:
    queue.record_threads([ThreadSignal(PAGE, user, int(at * 1000), "inbound")], now=at)


def text(**more: Any) -> dict[str, Any]:
    return {"recipient": {"id": USER}, "text": "How are you feeling today?", **more}


def test_a_message_joins_the_persons_conversation(outbox: Outbox, queue: SqliteQueue) -> None:
    seen(queue)
    accepted = outbox.submit(text(), now=NOW + HOUR)
    assert accepted.created and jobs.is_outbound_key(accepted.id)
    job = queue.claim(owner="t", process="p", now=NOW + HOUR, lease=30)
    assert job is not None and job.key == accepted.id
    assert job.conversation == f"{PAGE}:{USER}"  # the webhook's conversation for this PSID
    assert job.order_ts == int((NOW + HOUR) * 1000)
    spec = jobs.from_payload(job.payload)
    assert spec.messages == ({"text": "How are you feeling today?"},)
    assert (spec.messaging_type, spec.tag, spec.user) == ("RESPONSE", None, USER)


def test_refusals_at_enqueue(outbox: Outbox, queue: SqliteQueue) -> None:
    with pytest.raises(OutboundRefused) as unknown:
        outbox.submit(text(), now=NOW)
    assert unknown.value.code == "unknown_recipient"
    seen(queue)
    with pytest.raises(OutboundRefused) as late:
        outbox.submit(text(), now=NOW + 25 * HOUR)
    assert late.value.code == "outside_window"
    tagged = text(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    assert outbox.submit(tagged, now=NOW + 25 * HOUR).created
    queue.record_threads(
        [ThreadSignal(PAGE, USER, int(NOW * 1000) + 5, "hold", holder="page_inbox")], now=NOW
    )
    with pytest.raises(OutboundRefused) as held:
        outbox.submit(text(), now=NOW + HOUR)
    assert held.value.code == "held"
    assert queue.stats(now=NOW)["queued"] == 1  # only the HUMAN_AGENT message


def test_invalid_requests_are_not_queued(outbox: Outbox, queue: SqliteQueue) -> None:
    with pytest.raises(InvalidRequest):
        outbox.submit({"recipient": {"id": USER}}, now=NOW)
    with pytest.raises(InvalidRequest, match="not a Page this bridge serves"):
        outbox.submit(text(page_id="999"), now=NOW)
    assert queue.stats(now=NOW)["queued"] == 0


def test_the_same_key_is_the_same_message(outbox: Outbox, queue: SqliteQueue) -> None:
    seen(queue)
    first = outbox.submit(text(idempotency_key="follow-up-42"), now=NOW)
    again = outbox.submit(text(idempotency_key="follow-up-42"), now=NOW + 1)
    assert first.created and not again.created and again.id == first.id
    other = outbox.submit(text(idempotency_key="follow-up-43"), now=NOW)
    assert other.id != first.id
    fresh = [outbox.submit(text(), now=NOW).id for _ in range(2)]
    assert fresh[0] != fresh[1]  # no key: a new message each time
    with pytest.raises(OutboundRefused) as conflict:
        outbox.submit(text(idempotency_key="follow-up-42", text="other words"), now=NOW)
    assert conflict.value.code == "idempotency_conflict"


def test_a_repeat_is_answered_even_after_the_window_closed(
    outbox: Outbox, queue: SqliteQueue
) -> None:
    seen(queue)
    first = outbox.submit(text(idempotency_key="k"), now=NOW)
    assert outbox.submit(text(idempotency_key="k"), now=NOW + 30 * HOUR).id == first.id


def test_concurrent_requests_with_one_key_make_one_job(tmp_path: Path) -> None:
    setup = SqliteQueue(tmp_path / "q.db")
    seen(setup)
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        queue = SqliteQueue(tmp_path / "q.db")  # a process of its own, as gunicorn workers
        try:
            box = Outbox(queue=queue, notifications=None, pages=[PAGE], idle_ms=1)
            barrier.wait()
            accepted = box.submit(text(idempotency_key="once"), now=NOW)
            results.append((accepted.id, accepted.created))
        finally:
            queue.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len({job_id for job_id, _ in results}) == 1 and len(results) == 8
    assert sum(created for _, created in results) == 1
    assert setup.stats(now=NOW)["queued"] == 1
    setup.close()


def test_a_token_recipient_is_found_and_never_stored(queue: SqliteQueue) -> None:
    book = MemoryNotifications()
    book.add(PAGE, USER, "secret-token-value", expires_at=int((NOW + HOUR) * 1000))
    book.add(PAGE, USER, "stopped-token", status="stopped")
    box = Outbox(queue=queue, notifications=book, pages=[PAGE], idle_ms=1)
    body = {"recipient": {"notification_messages_token": "secret-token-value"}, "text": "Sale"}
    accepted = box.submit(body, now=NOW)  # no event of the person needed: no window
    record = queue.outbound(accepted.id)
    assert record is not None and "secret-token-value" not in record.payload
    spec = jobs.from_payload(record.payload)
    assert spec.user == USER and spec.token_sha256 == jobs.token_hash("secret-token-value")
    for token, code in (("nobody", "unknown_recipient"), ("stopped-token", "token_expired")):
        with pytest.raises(OutboundRefused) as refused:
            box.submit({"recipient": {"notification_messages_token": token}, "text": "x"}, now=NOW)
        assert refused.value.code == code
    with pytest.raises(OutboundRefused) as expired:
        box.submit(body, now=NOW + 2 * HOUR)
    assert expired.value.code == "token_expired"
    no_store = Outbox(queue=queue, notifications=None, pages=[PAGE], idle_ms=1)
    with pytest.raises(OutboundRefused, match="token"):
        no_store.submit(body, now=NOW)


def test_status_follows_the_job(outbox: Outbox, queue: SqliteQueue) -> None:
    seen(queue)
    accepted = outbox.submit(text(text="one\n\n" + "x " * 1500), now=NOW)
    record = queue.outbound(accepted.id)
    assert record is not None
    assert jobs.status_of(record) == {
        "id": accepted.id,
        "status": "queued",
        "parts_sent": 0,
        "message_ids": [],
    }
    job = queue.claim(owner="t", process="p", now=NOW, lease=30)
    assert job is not None
    assert jobs.status_of(queue.outbound(job.key))["status"] == "sending"  # type: ignore[arg-type]
    assert queue.record_sent(job, 1, "m_1")
    assert queue.retry(job, at=NOW, error="graph: 500")
    queued = queue.outbound(job.key)
    assert queued is not None and jobs.status_of(queued)["status"] == "sending"
    job = queue.claim(owner="u", process="p", now=NOW, lease=30)
    assert job is not None and job.sent == 1
    assert not queue.record_sent(replace(job, owner="t"), 2, "m_lost")  # the lease moved on
    assert queue.record_sent(job, 2, "m_2")
    assert queue.ack(job, now=NOW, sent=2)
    done = queue.outbound(job.key)
    assert done is not None
    assert jobs.status_of(done) == {
        "id": job.key,
        "status": "sent",
        "parts_sent": 2,
        "message_ids": ["m_1", "m_2"],
    }
    assert queue.outbound("out_unknown") is None
