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

**Leases.** A received message stays invisible to the others for its visibility timeout,
renewed by one thread per process until the job ends or the claim's lease runs out; a retry, or
a throttled or paused Page, keeps its message in the process, holding nothing else up
(bridge/queue/sqs/leases.py). A message is received again only when its holder died, stopped,
or held it for SQS's 12-hour maximum, so SQS's receive count counts those: after
``maxReceiveCount`` of them the redrive policy moves the message to the dead-letter queue, which
also holds the jobs delivery gave up on (``bury``). ``python -m bridge queue dead`` and
``requeue`` read it (bridge/queue/sqs/dead.py).

**Parts.** ``SqsQueue`` is one class per concern on one ``SqsBase``: claims.py (receive and
claim), running.py (a claimed job's reply, ledger and end), outbox.py (outbound messages'
status and message ids), threads.py, notifications.py, pages.py,
housekeeping.py, stats.py and admin.py; held.py keeps what this process holds, without I/O.

**Crash windows** (each ends with the event answered once, or recorded as a dead letter):

- Webhook, after the thread signals (or notification-messages tokens) are written, before the
  job item: no 200, Meta redelivers; the signals apply again harmlessly
  (``bridge.messenger.thread_control.apply`` takes maxima), the tokens are written again
  (notifications.py).
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

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from bridge.messenger.events import TokenUpdate
from bridge.messenger.thread_control import ThreadSignal
from bridge.queue.records import Claim, Job, NewJob, PutResult
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.admin import SqsAdmin
from bridge.queue.sqs.claims import SqsClaims
from bridge.queue.sqs.housekeeping import SqsHousekeeping
from bridge.queue.sqs.notifications import SqsNotifications
from bridge.queue.sqs.outbox import SqsOutbox
from bridge.queue.sqs.pages import SqsPages
from bridge.queue.sqs.stats import SqsStats
from bridge.queue.sqs.table import PK, Expr
from bridge.queue.sqs.threads import SqsThreads
from bridge.queue.sqs.tickets import send_tickets


class SqsQueue(
    SqsClaims,
    SqsOutbox,
    SqsThreads,
    SqsNotifications,
    SqsPages,
    SqsHousekeeping,
    SqsStats,
    SqsAdmin,
):
    """``bridge.queue.Queue`` on an SQS FIFO queue and a DynamoDB table (see the module doc)."""

    # --- the webhook's side ----------------------------------------------------------------

    def put(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
    ) -> PutResult:
        """Record the threads' signals and the tokens, then each new job's item, then its
        message.

        A key whose item exists is a duplicate; its message is sent again while the job was
        never claimed (an earlier attempt may have failed before sending it)."""
        if signals:
            self.record_threads(signals, now=now)
        if tokens:
            self.record_notification_tokens(tokens, now=now)
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
        send_tickets(self._sqs, self.url, [(job, job.key) for job in to_send])
        return PutResult(added, duplicates)

    def put_and_claim(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
        claim: Claim,
        limit: int,
    ) -> tuple[PutResult, list[Job]]:
        """``put``; nothing is claimed with it (a job is claimed by receiving its message)."""
        return self.put(jobs, now=now, signals=signals, tokens=tokens), []

    def batch(self) -> AbstractContextManager[None]:
        """Nothing to gather: each put is its own writes (SQS has no transaction)."""
        return nullcontext()

    def after_commit(self, callback: Callable[[bool], None]) -> None:
        """At once: a put here is settled when it returns."""
        callback(True)

    def ack_and_claim(
        self, job: Job, *, now: float, sent: int, claim: Claim
    ) -> tuple[bool, Job | None]:
        """``ack``, then a ``claim`` (two calls: SQS has no transaction across them)."""
        acked = self.ack(job, now=now, sent=sent)
        return acked, self.claim(
            owner=claim.owner, process=claim.process, now=now, lease=claim.lease
        )

    def close(self) -> None:
        """Let go of every held message (visible again at once) and stop the lease thread."""
        self._processes.stop_all()
        self._leases.stop_holding()
