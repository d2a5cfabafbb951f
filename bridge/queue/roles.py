"""The queue's roles: one Protocol per kind of caller, and ``Queue``, all of them at once.

Each caller depends only on what it does with the queue: the webhook puts jobs
(``JobSink``, with the notification-messages tokens its opt-ins gave; the server's event loop
commits several webhooks' puts at once, ``Batches``); delivery claims and
finishes them (``Jobs``), reads and records thread state (``Threads``), throttles, pauses and
probes Pages (``Pages``) and keeps house (``Housekeeping``); health, metrics and ``queue
stats`` read ``Stats``; ``queue dead`` and ``requeue`` use ``Admin``; the tokens are read
through ``Notifications`` (to send with, to list). Only the composition root holds a whole
``Queue``; every backend
(``bridge.queue.sqlite.store.SqliteQueue``, ``bridge.queue.sqs.queue.SqsQueue``) is one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from bridge.messenger.events import TokenUpdate
from bridge.messenger.thread_control import ThreadSignal, ThreadState
from bridge.queue.records import (
    Claim,
    DeadLetter,
    Job,
    Message,
    NewJob,
    NotificationToken,
    OutboundRecord,
    PageState,
    PutResult,
    Worker,
)


class JobSink(Protocol):
    """The webhook's side: new jobs and what their delivery said about threads and
    notification-messages tokens, in one commit, so delivery never sees a job without what
    came with it. A token update older than the stored one of its (Page, token) is ignored."""

    def put(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
    ) -> PutResult: ...


class Jobs(Protocol):
    """A job from its claim to its end; every change names the claim's owner, so a worker whose
    lease ran out cannot touch a job another worker took over (False: the lease was lost).

    Nothing in front of the answer: ``store_reply`` starts storing the bot's reply and lets the
    first send go out meanwhile; the same thread's later changes (the ack) are committed after
    it, so the turn need not wait for it before them. Fewer commits per turn: ``put_and_claim``
    takes new jobs for idle delivery threads in the webhook's own transaction, ``ack_and_claim``
    the next job in the ack's. A backend that cannot do these at once does them one after the
    other."""

    def claim(self, *, owner: str, process: str, now: float, lease: float) -> Job | None: ...

    def put_and_claim(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
        claim: Claim,
        limit: int,
    ) -> tuple[PutResult, list[Job]]: ...

    def save_reply(self, job: Job, messages: list[Message]) -> bool: ...

    def store_reply(self, job: Job, messages: list[Message]) -> Callable[[], bool]: ...

    def mark_sent(self, job: Job, count: int) -> bool: ...

    def ack(self, job: Job, *, now: float, sent: int | None = None) -> bool: ...

    def still_holds(self, job: Job) -> bool: ...

    def ack_and_claim(
        self, job: Job, *, now: float, sent: int, claim: Claim
    ) -> tuple[bool, Job | None]: ...

    def retry(self, job: Job, *, at: float, error: str, refund: bool = False) -> bool: ...

    def drop(self, job: Job, *, reason: str, now: float) -> bool: ...

    def bury(self, job: Job, *, reason: str, now: float) -> bool: ...


class Batches(Protocol):
    """Several webhooks' puts in one commit: the server's event loop puts the webhooks it
    reads in one turn inside ``batch()`` (one transaction, one fsync) and answers them after
    its end, which commits or raises ``QueueError`` (then none of them is kept). Inside it a
    put returns before the commit, so what must follow the commit (waking a delivery thread
    for the new job) goes to ``after_commit``: called with True once committed, False if the
    commit failed. A backend without batches commits each put at once (``batch`` does
    nothing) and calls ``after_commit``'s callback at once."""

    def batch(self) -> AbstractContextManager[None]: ...

    def after_commit(self, callback: Callable[[bool], None]) -> None: ...


class Threads(Protocol):
    """Each (Page, person)'s ``bridge.messenger.thread_control.ThreadState``: the person's
    latest event (Messenger's 24-hour window) and who holds the conversation."""

    def record_threads(self, signals: Sequence[ThreadSignal], *, now: float) -> None: ...

    def thread(self, page: str, user: str) -> ThreadState | None: ...


class OutboundLedger(Protocol):
    """Delivery's side of outbound messages: each part's Graph message id, recorded with the
    send ledger as Graph accepts it (outbound jobs only: a reply's turn costs no more)."""

    def record_sent(self, job: Job, count: int, message_id: str | None) -> bool: ...


class OutboundReads(Protocol):
    """The outbound API's read: an outbound job by its key (its id), None if unknown."""

    def outbound(self, key: str) -> OutboundRecord | None: ...


class OutboundSink(JobSink, Threads, OutboundReads, Protocol):
    """What queueing an outbound message needs: the thread's state to check it against, the
    put, and the read of a job already queued under the same key."""


class Notifications(Protocol):
    """Each person's notification-messages tokens per Page (``NotificationToken``), recorded
    from ``messaging_optins`` in the webhook's commit (``JobSink.put``, or
    ``record_notification_tokens``: an update older than the stored one of its (Page, token)
    is ignored); read to send with and to list. Tokens past ``forget_token_at`` are not
    given back (``Housekeeping.purge_notification_tokens`` forgets them)."""

    def record_notification_tokens(self, updates: Sequence[TokenUpdate], *, now: float) -> None: ...

    def notification_token(self, page: str, token: str) -> NotificationToken | None: ...

    def person_notification_tokens(self, page: str, user: str) -> list[NotificationToken]: ...

    def notification_tokens(
        self, *, page: str | None = None, limit: int = 1000
    ) -> list[NotificationToken]: ...


class Pages(Protocol):
    """Whether a Page may be sent to: throttled until a time, or paused until a probe works."""

    def block_page(self, page: str, *, until: float, reason: str, now: float) -> None: ...

    def pause_page(self, page: str, *, reason: str, now: float) -> bool: ...

    def resume_page(self, page: str) -> bool: ...

    def pages(self) -> list[PageState]: ...


class Housekeeping(Protocol):
    """The queue's upkeep, done by every delivery process: report itself alive, release the
    jobs of processes gone (which ones are gone is for the caller to judge: see
    ``bridge.delivery.housekeeping``), forget finished jobs (``queue purge`` does that last by
    hand), and forget notification-messages tokens past their retention."""

    def heartbeat(self, worker: Worker) -> None: ...

    def workers(self) -> list[Worker]: ...

    def release_stale(self, *, dead: list[str]) -> int: ...

    def purge(self, *, before: float) -> int: ...

    def purge_notification_tokens(self, *, now: float) -> int: ...


class DeliveryQueue(JobSink, Batches, Jobs, Threads, Pages, Housekeeping, OutboundLedger, Protocol):
    """Delivery's side: what the webhook hands it, its turns, its loop and its housekeeping."""


class Stats(Protocol):
    """What monitoring reads (health, metrics, ``queue stats``, local mode). ``pages`` and
    ``workers`` are the reads of ``Pages`` and ``Housekeeping``, so a reader needs no more."""

    def stats(self, *, now: float) -> dict[str, Any]: ...

    def pages(self) -> list[PageState]: ...

    def workers(self) -> list[Worker]: ...

    def state_of(self, key: str) -> str | None: ...

    def check_writable(self, *, timeout: float) -> None: ...


class Admin(Protocol):
    """What an operator repairs with ``python -m bridge queue``: dead letters, and requeueing
    them."""

    def dead_letters(
        self, *, include_dropped: bool = False, limit: int = 100
    ) -> list[DeadLetter]: ...

    def requeue(
        self, *, ids: list[int] | None = None, reason: str | None = None, everything: bool = False
    ) -> int: ...


class Queue(DeliveryQueue, Notifications, Stats, Admin, OutboundReads, Protocol):
    """Every role, for the composition root, which also closes it."""

    def close(self) -> None: ...
