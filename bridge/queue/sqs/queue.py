"""The scale-out queue: an SQS FIFO queue for the work, a DynamoDB table for what SQS forgets.

Several bridge containers share one queue and one table (``BRIDGE_QUEUE=sqs``) and keep the
embedded backend's guarantees (bridge/queue/sqlite/store.py, README "Delivery guarantees"): an
acknowledged event is answered, one Lex turn per event, a person's events in order, no reply
sent twice.

**Messages and items.** Each event is one message, MessageGroupId = its conversation
(``page:PSID``, so SQS hands a person's messages out one at a time, in order, to whichever
container asks) and MessageDeduplicationId = its key (the mid; a digest when SQS would refuse
it), so SQS drops a redelivery within its 5-minute window. The job's item in the table
(``job#<key>``, see bridge/queue/sqs/table.py) is the truth about it: the dedupe record beyond those
5 minutes, its state and attempts, its claim's owner token, the bot's stored reply and the send
ledger. A message is only a ticket: whoever receives it claims the item first, and a ticket
whose job already ended is deleted unused.

**Every write that decides something is conditional.** The webhook creates an item only if
none exists. A claim sets a fresh owner token (only on a queued job, or a running one whose
holder lost the message); storing the reply, recording a sent part, ack, retry, drop and bury
each require that token and the running state, so a process whose lease ran out (another
process took the job) cannot overwrite anything. Thread state is updated with a version
check; a Page's pause and throttle with conditions (only one caller pauses or resumes; a
throttle never shortens another).

**Leases.** A received message stays invisible to the others for its visibility timeout
(``BRIDGE_SQS_VISIBILITY_TIMEOUT``). One thread per process renews the messages it holds
(``ChangeMessageVisibility[Batch]``) until the job ends, so a long Lex call keeps its message,
but a running job only until the claim's lease (the worker's ``lease``) runs out, as the SQLite
backend releases an expired lease. A process that dies lets its messages reappear within one
visibility timeout. A retry keeps the message in the process, invisible until the retry time
(the table records it too, so whoever gets the message after a crash waits for it); so do
messages of a throttled or paused Page, which hold nothing else up. Batch receives (up to one
message per idle delivery thread) are held the same way, behind the first message of their
conversation. A message is received again only when its holder died, stopped, or held it
for SQS's 12-hour maximum, so SQS's receive count counts those: after ``maxReceiveCount`` of
them the redrive policy moves the message to the dead-letter queue, which also holds the jobs
delivery gave up on (``bury``). ``python -m bridge queue dead`` and ``requeue`` read it
(bridge/queue/sqs/dead.py).

**Crash windows** (each ends with the event answered once, or recorded as a dead letter):

- Webhook, after the thread signals are written, before the job item: no 200, Meta redelivers;
  the signals apply again harmlessly (``bridge.messenger.thread_control.apply`` takes maxima).
- Webhook, after the job item, before SendMessage (or after it, before the 200): Meta
  redelivers; the item exists but was never claimed, so its ticket is sent again. Within 5
  minutes SQS drops the copy; later it is a second ticket, behind the first in its
  conversation, deleted unused when its job is done. Two servers given the same mid at once:
  one creates the item, both send the same ticket.
- A process dies holding messages it has not started: they reappear after their visibility
  timeout; a retry time recorded in the item is still honoured.
- A process dies during a turn before the reply is stored: the job is claimed again after the
  visibility timeout and the bot is asked again — it never answered (as with SQLite).
- A process dies after the reply is stored: the next claim reads the reply and the ledger and
  sends only the parts not yet sent. The one window in which a part can go out twice is
  between Graph accepting it and the ledger write (one conditional UpdateItem, single-digit
  milliseconds in a Region), as with SQLite's commit.
- A process dies after the ack, before DeleteMessage: the message reappears and is deleted
  unused (its job is done).
- A process stalls past its lease, or cannot renew it: another process claims the job with a
  new token; the stalled one's writes are refused from then on. A part it sends in that time
  may be sent twice (as with SQLite's expired lease).
- Bury: the item is marked dead, then the message is copied to the dead-letter queue, then
  deleted. A crash in between leaves the message to come back: its claim finds the job dead and
  finishes the move (the copy's deduplication id absorbs a repeat within 5 minutes; ``queue
  dead`` lists each event once).
- An event redelivered after 5 minutes: its item answers (duplicate), whatever SQS remembers;
  items of finished jobs expire (TTL) 7 days after they finished, as SQLite purges them.

**Order.** SQS orders a conversation by arrival at the queue; SQLite by Messenger's timestamp,
then arrival. They differ only when Meta delivers an older event after a newer one (a
redelivery after a failed webhook): SQLite answers the older first if it was not yet taken,
SQS answers them as they arrived. A requeued dead letter goes after the conversation's later
messages.

**What SQS cannot tell.** ``stats`` counts messages (visible: queued; in flight: held by a
process, running or waiting; dead letters: in the dead-letter queue); finished jobs are not
counted and the oldest message's age is CloudWatch's ``ApproximateAgeOfOldestMessage``.
``purge`` has nothing to do: the table's TTL forgets finished jobs.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from typing import Any

from bridge.config.settings import AwsQueueSettings
from bridge.errors import QueueError
from bridge.messenger.thread_control import ThreadSignal, ThreadState, apply_all
from bridge.queue import DeadLetter, Job, Message, NewJob, PageState, PutResult, Worker
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.aws import Clients, calling, check_region, describe, error_code, sqs_id
from bridge.queue.sqs.dead import DeadLetters
from bridge.queue.sqs.held import Held, Holdings
from bridge.queue.sqs.table import PK, Expr, Table, job_pk, thread_pk

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 12 * 3600 - 60  # SQS keeps a received message invisible 12 hours at most
PAUSED_HOLD = 4  # a paused Page's messages are renewed this many visibility timeouts at a time
PAGE_CACHE_SECONDS = 1.0  # how stale this process's view of Page holds may be
HEARTBEAT_WRITE_EVERY = 5.0  # seconds between a process's heartbeat writes
THREAD_WRITE_ATTEMPTS = 10
SEND_BATCH_BYTES = 200_000  # below SQS's 256 KiB per batch
RECEIVE_BACKOFF = 1.0  # seconds without receiving after a receive failed
_SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "MessageGroupId"]


class SqsQueue:
    """``bridge.queue.Queue`` on an SQS FIFO queue and a DynamoDB table (see the module doc)."""

    def __init__(self, settings: AwsQueueSettings) -> None:
        check_region(settings.region)
        self.settings = settings
        self.url = settings.queue_url
        self._visibility = settings.visibility_timeout
        self._wait = settings.wait_time
        self._clients = Clients(settings.region, long_poll=settings.wait_time)
        self.table = Table(settings.table, lambda: self._clients.dynamodb)
        self.dead = DeadLetters(self.url, self.table, lambda: self._clients.sqs)
        self._held = Holdings()
        self._receiving = threading.Lock()
        self._receive_after = 0.0  # monotonic: no receive before (after a failed one)
        self._state = threading.Lock()
        self._processes: set[str] = set()  # delivery processes running in this process
        self._released: set[str] = set()  # ... and those that stopped
        self._claimers: set[str] = set()
        self._pages: dict[str, PageState] = {}
        self._pages_read = float("-inf")
        self._heartbeats: dict[str, float] = {}
        self._renewer: threading.Thread | None = None
        self._stop_renewing = threading.Event()

    @property
    def _sqs(self) -> Any:
        return self._clients.sqs

    # --- the webhook's side ----------------------------------------------------------------

    def put(
        self, jobs: list[NewJob], *, now: float, signals: Sequence[ThreadSignal] = ()
    ) -> PutResult:
        """Record the threads' signals, then each new job's item, then its message.

        A key whose item exists is a duplicate; its message is sent again while the job was
        never claimed (an earlier attempt may have failed before sending it)."""
        if signals:
            self.record_threads(signals, now=now)
        added = duplicates = 0
        to_send: list[NewJob] = []
        seen: set[str] = set()
        for job in jobs:
            if job.key in seen:
                duplicates += 1
                continue
            seen.add(job.key)
            expr = Expr()
            written = self.table.put(
                items.new_job_item(job, now), expr, expr.missing(PK), what="enqueue"
            )
            if written.ok:
                added += 1
                to_send.append(job)
                continue
            duplicates += 1
            old = written.item or {}
            if old.get("state", "queued") == "queued" and not old.get("attempts"):
                to_send.append(job)
        self._send(self.url, [(job, job.key) for job in to_send])
        return PutResult(added, duplicates)

    def _send(self, url: str, messages: list[tuple[NewJob, str]]) -> None:
        """SendMessageBatch, 10 (and under 200 KB) at a time; ``str`` is the dedupe id."""
        batch: list[dict[str, str]] = []
        size = 0
        for job, dedupe in messages:
            body = items.to_body(job)
            if batch and (len(batch) == 10 or size + len(body) > SEND_BATCH_BYTES):
                self._send_batch(url, batch)
                batch, size = [], 0
            batch.append(
                {
                    "Id": str(len(batch)),
                    "MessageBody": body,
                    "MessageGroupId": sqs_id(job.conversation),
                    "MessageDeduplicationId": sqs_id(dedupe),
                }
            )
            size += len(body)
        if batch:
            self._send_batch(url, batch)

    def _send_batch(self, url: str, entries: list[dict[str, str]]) -> None:
        response = calling(
            "enqueue", lambda: self._sqs.send_message_batch(QueueUrl=url, Entries=entries)
        )
        failed = response.get("Failed") or []
        if failed:
            first = failed[0]
            raise QueueError(
                f"enqueue failed for {len(failed)} of {len(entries)} messages:"
                f" {first.get('Code')}: {first.get('Message')}"
            )

    # --- threads -----------------------------------------------------------------------------

    def record_threads(self, signals: Sequence[ThreadSignal], *, now: float) -> None:
        """Apply ``signals`` to their threads: read, ``bridge.messenger.thread_control.apply``,
        write if the
        version is unchanged (else read again)."""
        by_thread: dict[tuple[str, str], list[ThreadSignal]] = {}
        for signal in signals:
            by_thread.setdefault((signal.page, signal.user), []).append(signal)
        for (page, user), batch in by_thread.items():
            self._record_thread(page, user, batch, now)

    def _record_thread(self, page: str, user: str, batch: list[ThreadSignal], now: float) -> None:
        for _ in range(THREAD_WRITE_ATTEMPTS):
            item = self.table.get(thread_pk(page, user), items.THREAD_SK)
            state = items.thread_from_item(item, page, user)
            changed = apply_all(state, batch)
            if item is not None and changed == state:
                return  # a redelivery: nothing new
            version = int(item.get("version") or 0) if item else 0
            expr = Expr()
            condition = expr.missing(PK) if item is None else expr.equals("version", version)
            values = items.thread_item(changed, version=version + 1, now=now)
            if self.table.put(values, expr, condition, what="threads").ok:
                return
        raise QueueError(f"threads: {THREAD_WRITE_ATTEMPTS} conflicting updates in a row")

    def thread(self, page: str, user: str) -> ThreadState | None:
        """What is known about the thread of ``user`` on ``page`` (None: nothing yet)."""
        item = self.table.get(thread_pk(page, user), items.THREAD_SK)
        return None if item is None else items.thread_from_item(item, page, user)

    # --- delivery's side -------------------------------------------------------------------

    def claim(self, *, owner: str, process: str, now: float, lease: float) -> Job | None:
        """The next job this process may run: from the messages it holds, else after one
        receive (one thread at a time long-polls; the others find nothing and come back)."""
        with self._state:
            if process in self._released:
                return None
            self._processes.add(process)
            self._claimers.add(owner)
        self._ensure_renewer()
        job = self._claim_held(owner, now, lease)
        if job is None and self._receive(process):
            job = self._claim_held(owner, now, lease)
        return job

    def _claim_held(self, owner: str, now: float, lease: float) -> Job | None:
        if len(self._held) == 0:
            return None
        self._refresh_pages()
        while True:
            held = self._held.next_ready(
                now=now,
                monotonic=time.monotonic(),
                page_held=lambda page: self._page_held(page, now),
                margin=min(2.0, self._visibility / 3),
            )
            if held is None:
                return None
            try:
                job = self._claim_item(held, owner, now, lease)
            except QueueError:
                self._held.unclaim(held)
                raise
            if job is not None:
                return job

    def _claim_item(self, held: Held, owner: str, now: float, lease: float) -> Job | None:
        """Take the held message's job in the table (fresh owner token), or deal with a ticket
        whose job is finished or not due yet."""
        token = f"{owner}#{secrets.token_hex(4)}"
        expr = Expr().set("state", "running").set("owner", token).increment("attempts", 1)
        expr.remove("not_before")
        for name, value in items.job_fields(held.job).items():
            expr.set_default(name, value)
        expr.set_default("created", now).set_default("expires", int(now + items.UNFINISHED_TTL))
        due = f"({expr.missing('not_before')} OR {expr.n('not_before')} <= {expr.v(now)})"
        condition = (
            f"{expr.missing('state')} OR ({expr.one_of('state', 'queued', 'running')} AND {due})"
        )
        written = self.table.update(
            job_pk(held.job.key), items.JOB_SK, expr, condition, what="claim"
        )
        if written.ok and written.item is not None:
            self._held.started(held, token, time.monotonic() + lease)
            return items.job_from_item(written.item, token)
        old = written.item or {}
        state = old.get("state")
        due_at = float(old.get("not_before") or 0)
        if state in ("done", "dropped"):
            self._delete(held)  # a second ticket, or its ack's delete was lost
        elif state == "dead":
            self._finish_burial(held, int(old.get("attempts") or 0))
        elif due_at > now:
            self._held.unclaim(held, not_before=due_at)  # a retry not due yet
        else:
            self._held.unclaim(held, not_before=now + 1.0)  # changed meanwhile: look again soon
        return None

    def _receive(self, process: str) -> bool:
        """One ReceiveMessage (long poll) into this process's holdings; True if any came."""
        if time.monotonic() < self._receive_after or not self._receiving.acquire(blocking=False):
            return False
        try:
            started = time.monotonic()
            self._receive_after = started + RECEIVE_BACKOFF  # until this receive succeeds
            response = calling(
                "receive",
                lambda: self._sqs.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=self._batch_size(),
                    WaitTimeSeconds=self._wait,
                    VisibilityTimeout=self._visibility,
                    MessageSystemAttributeNames=_SYSTEM_ATTRIBUTES,
                ),
            )
        finally:
            self._receiving.release()
        self._receive_after = 0.0
        messages = response.get("Messages") or []
        held = [self._to_held(message, started) for message in messages]
        kept = [h for h in held if h is not None]
        with self._state:
            stopped = process in self._released
        if stopped:
            self._release(kept)
            return False
        for entry in kept:
            self._held.add(entry)
        return bool(kept)

    def _batch_size(self) -> int:
        """Up to one message per delivery thread of this process not busy with a job."""
        busy, waiting = self._held.counts()
        with self._state:
            idle = len(self._claimers) - busy - waiting
        return max(1, min(10, idle))

    def _to_held(self, message: dict[str, Any], started: float) -> Held | None:
        attributes = message.get("Attributes") or {}
        job = items.from_body(str(message.get("Body", "")))
        if job is None:
            # Not a bridge message: park it in the dead-letter queue rather than block its group.
            log.error("unreadable queue message moved to the dead-letter queue")
            self.dead.move_unreadable(self.url, message)
            return None
        return Held(
            message_id=str(message["MessageId"]),
            receipt=str(message["ReceiptHandle"]),
            job=job,
            group=str(attributes.get("MessageGroupId") or job.conversation),
            receives=int(attributes.get("ApproximateReceiveCount") or 1),
            received_at=started,
            visible_until=started + self._visibility,
        )

    def _finish(
        self, job: Job, expr: Expr, *, states: tuple[str, ...] = ("running",), what: str
    ) -> bool:
        """A change to a job this owner holds; False (and the message let go) if it lost it."""
        condition = f"{expr.equals('owner', job.owner)} AND {expr.one_of('state', *states)}"
        ok = self.table.update(job_pk(job.key), items.JOB_SK, expr, condition, what=what).ok
        if not ok:
            held = self._held.by_token(job.owner)
            if held is not None:
                self._held.forget(held)
        return ok

    def save_reply(self, job: Job, messages: list[Message]) -> bool:
        """Store the bot's rendered reply so a retry never asks the bot again."""
        reply = json.dumps(messages, ensure_ascii=False)
        return self._finish(job, Expr().set("reply", reply), what="save reply")

    def mark_sent(self, job: Job, count: int) -> bool:
        """Record that the first ``count`` reply messages reached the Graph API (the ledger)."""
        return self._finish(job, Expr().set("sent", count), what="ledger")

    def ack(self, job: Job, *, now: float, sent: int | None = None) -> bool:
        """The job is done; its message is deleted."""
        expr = Expr().set("state", "done").set("finished", now)
        expr.set("expires", int(now + items.DONE_TTL)).remove("last_error", "not_before")
        if sent is not None:
            expr.set("sent", sent)
        # "done" too: botocore may repeat a write whose answer was lost.
        if not self._finish(job, expr, states=("running", "done"), what="ack"):
            return False
        self._delete_for(job)
        return True

    def retry(self, job: Job, *, at: float, error: str, refund: bool = False) -> bool:
        """Give the job back, due at ``at``; this process keeps its message until then (the
        lease thread keeps it invisible), so the conversation's later messages wait."""
        expr = Expr().set("state", "queued").set("not_before", at).set("last_error", error)
        expr.remove("owner")
        if refund:
            expr.increment("attempts", -1)
        if not self._finish(job, expr, what="retry"):
            return False
        held = self._held.by_token(job.owner)
        if held is not None:
            self._held.unclaim(held, not_before=at)
        return True

    def drop(self, job: Job, *, reason: str, now: float) -> bool:
        """End the job unanswered on purpose; listed by ``queue dead --dropped``."""
        expr = Expr().set("state", "dropped").set("finished", now).set("last_error", reason)
        expr.set("dl", "dropped").set("expires", int(now + items.DONE_TTL))
        if not self._finish(job, expr, states=("running", "dropped"), what="drop"):
            return False
        self._delete_for(job)
        return True

    def bury(self, job: Job, *, reason: str, now: float) -> bool:
        """Give up on the job: marked dead, its message moved to the dead-letter queue."""
        expr = Expr().set("state", "dead").set("finished", now).set("last_error", reason)
        expr.set("expires", int(now + items.DEAD_TTL))
        if not self._finish(job, expr, states=("running", "dead"), what="bury"):
            return False
        held = self._held.by_token(job.owner)
        if held is not None:
            self._finish_burial(held, job.attempts)
        return True

    def _finish_burial(self, held: Held, attempts: int) -> None:
        """Copy a dead job's message to the dead-letter queue, then delete it here. If the copy
        fails, the message is let go: it comes back, and its claim tries again."""
        try:
            self.dead.add(held.job, attempts)
        except QueueError as exc:
            log.warning("dead letter not moved yet", extra={"mid": held.job.key, "error": str(exc)})
            self._held.forget(held)
            return
        self._delete(held)

    def _delete_for(self, job: Job) -> None:
        held = self._held.by_token(job.owner)
        if held is not None:
            self._delete(held)

    def _delete(self, held: Held) -> None:
        """DeleteMessage; a failure is only logged: the message comes back and, its job being
        finished, is deleted then."""
        self._held.forget(held)
        try:
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=held.receipt)
        except Exception as exc:  # noqa: BLE001 - the job's state is already durable
            log.warning(
                "queue message not deleted; it will be discarded when it comes back",
                extra={"mid": held.job.key, "error": describe(exc)},
            )

    # --- leases --------------------------------------------------------------------------------

    def _ensure_renewer(self) -> None:
        with self._state:
            if self._renewer is not None and self._renewer.is_alive():
                return
            self._stop_renewing = threading.Event()
            self._renewer = threading.Thread(
                target=self._renew_loop, args=(self._stop_renewing,), name="sqs-leases", daemon=True
            )
            self._renewer.start()

    def _renew_loop(self, stop: threading.Event) -> None:
        while not stop.wait(max(0.1, self._visibility / 6)):
            try:
                self.renew()
            except Exception:  # the thread must outlive one failed round
                log.exception("renewing queue leases failed; trying again shortly")

    def renew(self) -> None:
        """Renew the visibility of held messages that would reappear within two thirds of a
        visibility timeout (one ChangeMessageVisibilityBatch per 10)."""
        now, monotonic = time.time(), time.monotonic()
        self._held.lapsed(monotonic)
        due = self._held.due(monotonic, within=self._visibility * 2 / 3)
        if not due:
            return
        self._refresh_pages()
        planned = [(h, self._wanted(h, now, monotonic)) for h in due]
        changes = [(h, seconds) for h, seconds in planned if seconds is not None]
        for start in range(0, len(changes), 10):
            self._change_visibility(changes[start : start + 10])

    def _wanted(self, held: Held, now: float, monotonic: float) -> int | None:
        """How long ``held`` should stay invisible from now; None: let it go."""
        if held.token is not None and monotonic >= held.run_until:
            return None  # the claim's lease is over: another process may take the job
        seconds = float(self._visibility)
        if held.token is None:
            if held.not_before > now:
                seconds += held.not_before - now
            page = self._pages.get(held.job.page)
            if page is not None and page.paused:
                seconds *= PAUSED_HOLD
            elif page is not None and page.blocked_until > now:
                seconds += page.blocked_until - now
        left = held.received_at + MAX_IN_FLIGHT - monotonic
        if left < self._visibility:
            return None  # SQS's 12-hour limit: let it reappear, a new receive starts over
        return int(min(seconds, left))

    def _change_visibility(self, changes: list[tuple[Held, int]]) -> None:
        sent = time.monotonic()
        entries = [
            {"Id": str(i), "ReceiptHandle": h.receipt, "VisibilityTimeout": seconds}
            for i, (h, seconds) in enumerate(changes)
        ]
        response = calling(
            "lease renewal",
            lambda: self._sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries),
        )
        for success in response.get("Successful") or []:
            held, seconds = changes[int(success["Id"])]
            held.visible_until = sent + seconds
        for failure in response.get("Failed") or []:
            held, _ = changes[int(failure["Id"])]
            log.warning(
                "queue lease not renewed",
                extra={"mid": held.job.key, "error": str(failure.get("Code"))},
            )
            if not held.busy:
                self._held.forget(held)

    def _release(self, held: list[Held]) -> int:
        """Make messages visible again at once (the process stops)."""
        released = 0
        for start in range(0, len(held), 10):
            chunk = held[start : start + 10]
            entries = [
                {"Id": str(i), "ReceiptHandle": h.receipt, "VisibilityTimeout": 0}
                for i, h in enumerate(chunk)
            ]
            try:
                response = self._sqs.change_message_visibility_batch(
                    QueueUrl=self.url, Entries=entries
                )
            except Exception as exc:  # noqa: BLE001 - they reappear after their timeout anyway
                log.warning("queue messages not released", extra={"error": describe(exc)})
                continue
            released += len(response.get("Successful") or [])
        return released

    # --- liveness ----------------------------------------------------------------------------

    def heartbeat(self, worker: Worker) -> None:
        """Record that ``worker.process`` is alive (written at most every 5 s)."""
        last = self._heartbeats.get(worker.process, float("-inf"))
        if worker.heartbeat - last < HEARTBEAT_WRITE_EVERY:
            return
        self.table.put_plain(items.worker_item(worker), what="heartbeat")
        self._heartbeats[worker.process] = worker.heartbeat

    def workers(self) -> list[Worker]:
        """Every process that reported a heartbeat (and was not yet forgotten)."""
        found = self.table.query(items.WORKERS_PK)
        return sorted((items.worker_from_item(i) for i in found), key=lambda w: w.process)

    def release_stale(self, *, now: float, stale_after: float, dead: list[str]) -> int:
        """Forget processes that stopped reporting or are known dead. Their messages reappear
        by themselves (visibility timeout); when ``dead`` names a delivery process of this
        very process (it is stopping), the messages it holds are let go now. Returns how many."""
        for worker in self.workers():
            if worker.heartbeat < now - stale_after or worker.process in dead:
                self.table.delete(items.WORKERS_PK, worker.process)
        with self._state:
            # Only an explicit name: a late heartbeat of our own must not stop our delivery.
            stopping = set(dead) & self._processes
            self._processes -= stopping
            self._released |= stopping
            last = bool(stopping) and not self._processes
        if not last:
            return 0
        return self._stop_holding()

    def _stop_holding(self) -> int:
        self._stop_renewing.set()
        return self._release(self._held.take_all())

    # --- Pages ---------------------------------------------------------------------------------

    def block_page(self, page: str, *, until: float, reason: str, now: float) -> None:
        """Hold every send to ``page`` until ``until`` (a throttle; never shortens one)."""
        expr = Expr().set("blocked_until", until).set("reason", reason).set("since", now)
        expr.set_default("paused", False)
        longer = f"{expr.missing('blocked_until')} OR {expr.n('blocked_until')} < {expr.v(until)}"
        if not self.table.update(items.PAGES_PK, page, expr, longer, what="page").ok:
            plain = Expr().set("reason", reason).set("since", now)
            self.table.update(items.PAGES_PK, page, plain, what="page")
        self._pages_read = float("-inf")

    def pause_page(self, page: str, *, reason: str, now: float) -> bool:
        """Stop sending to ``page`` until resumed; True only for the call that paused it."""
        expr = Expr().set("paused", True).set("reason", reason).set("since", now)
        expr.set_default("blocked_until", 0)
        condition = f"{expr.missing('paused')} OR {expr.equals('paused', False)}"
        paused = self.table.update(items.PAGES_PK, page, expr, condition, what="page").ok
        self._pages_read = float("-inf")
        return paused

    def resume_page(self, page: str) -> bool:
        """Allow sending to ``page`` again; True only for the call that resumed it."""
        expr = Expr().set("paused", False)
        resumed = self.table.update(
            items.PAGES_PK, page, expr, expr.equals("paused", True), what="page"
        ).ok
        self._pages_read = float("-inf")
        return resumed

    def pages(self) -> list[PageState]:
        """Every Page that was ever throttled or paused, and its state."""
        found = [items.page_from_item(item) for item in self.table.query(items.PAGES_PK)]
        self._pages = {page.page: page for page in found}
        self._pages_read = time.monotonic()
        return sorted(found, key=lambda page: page.page)

    def _refresh_pages(self) -> None:
        if time.monotonic() - self._pages_read >= PAGE_CACHE_SECONDS:
            self.pages()

    def _page_held(self, page: str, now: float) -> bool:
        state = self._pages.get(page)
        return state is not None and (state.paused or state.blocked_until > now)

    # --- inspection and repair -----------------------------------------------------------------

    def state_of(self, key: str) -> str | None:
        """The state of the job for an event key (queued, running, done, dropped, dead)."""
        item = self.table.get(job_pk(key), items.JOB_SK)
        return None if item is None else str(item.get("state"))

    def stats(self, *, now: float) -> dict[str, Any]:
        """Messages by where they are (see the module doc: finished jobs are not counted)."""
        counts = self._counts(self.url)
        dead = self.dead.count()
        return {
            "queued": counts["ApproximateNumberOfMessages"]
            + counts["ApproximateNumberOfMessagesDelayed"],
            "retrying": 0,
            "running": counts["ApproximateNumberOfMessagesNotVisible"],
            "done": 0,
            "dropped": 0,
            "dead": dead,
            "oldest_age": 0.0,
            "pages": {},
        }

    def _counts(self, url: str) -> dict[str, int]:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        response = calling(
            "queue stats",
            lambda: self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names),
        )
        attributes = response.get("Attributes") or {}
        return {name: int(attributes.get(name) or 0) for name in names}

    def check_writable(self, *, timeout: float) -> None:
        """Write the table's health item and read the queue's attributes, each within
        ``timeout`` seconds; raise ``QueueError`` if either fails."""
        try:
            self._clients.quick("dynamodb", timeout).put_item(
                TableName=self.table.name,
                Item={"pk": {"S": "health"}, "sk": {"S": "check"}, "at": {"N": repr(time.time())}},
            )
            self._clients.quick("sqs", timeout).get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["QueueArn"]
            )
        except Exception as exc:  # noqa: BLE001 - any failure means: not ready
            raise QueueError(f"queue check failed: {error_code(exc)}: {describe(exc)}") from exc

    def dead_letters(self, *, include_dropped: bool = False, limit: int = 100) -> list[DeadLetter]:
        """Dead letters (the dead-letter queue; and, if asked, dropped jobs), newest first."""
        return self.dead.letters(include_dropped=include_dropped, limit=limit)

    def requeue(
        self, *, ids: list[int] | None = None, reason: str | None = None, everything: bool = False
    ) -> int:
        """Move dead letters back to the queue with fresh attempts: by id, by a substring of
        their reason, or all of them. Returns how many were requeued."""
        if not (ids or reason or everything):
            return 0
        return self.dead.requeue(ids=ids, reason=reason, everything=everything, send=self._send)

    def purge(self, *, before: float) -> int:
        """Nothing to do: the table's TTL forgets finished jobs (see the module doc)."""
        return 0

    def close(self) -> None:
        """Let go of every held message (visible again at once) and stop the lease thread."""
        with self._state:
            self._released |= self._processes
            self._processes.clear()
        self._stop_holding()
