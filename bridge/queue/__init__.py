"""The durable work queue: one job per inbound event, claimed one conversation turn at a time.

``Queue`` is what the webhook, the worker and the CLI use; ``sqlite.SqliteQueue`` is the
embedded backend that makes one container a complete bridge.

A job's life: ``queued`` → ``running`` (claimed, with a lease) → ``done`` (answered),
``dropped`` (deliberately not answered: too old, or the person cannot be messaged) or
``dead`` (a dead letter: attempts exhausted; ``requeue`` brings it back).

Beside the jobs, the queue keeps each thread's state (``bridge.messenger.thread_control``): the
person's latest event (Messenger's 24-hour window) and who holds the conversation. The webhook
records what a delivery says about its threads in the same commit as its jobs (``put(...,
signals=...)``), so delivery never sees a job without what came with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.messenger.thread_control import ThreadSignal, ThreadState

Message = dict[str, Any]

STATES = ("queued", "running", "done", "dropped", "dead")


@dataclass(frozen=True, slots=True)
class NewJob:
    """What the webhook enqueues for one event."""

    key: str
    page: str
    conversation: str
    order_ts: int
    payload: str
    delivery_id: str = ""  # the webhook POST that brought it (for logs)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job: the event, and how far its reply got (``reply`` None: bot not asked yet)."""

    id: int
    key: str
    page: str
    conversation: str
    order_ts: int
    payload: str
    attempts: int
    owner: str
    reply: list[Message] | None
    sent: int
    last_error: str | None = None
    delivery_id: str = ""


@dataclass(frozen=True, slots=True)
class PutResult:
    """How many jobs were new and how many were redeliveries of jobs already queued."""

    added: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class PageState:
    """Whether a Page may be sent to: throttled until a time, or paused until a probe works."""

    page: str
    blocked_until: float
    paused: bool
    reason: str | None
    since: float | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that ended without an answer (dead or dropped), with why."""

    id: int
    key: str
    page: str
    conversation: str
    state: str
    attempts: int
    reason: str | None
    finished_at: float | None
    payload: str


@dataclass(frozen=True, slots=True)
class Worker:
    """A process that claims jobs, as it last reported itself."""

    process: str
    host: str
    pid: int
    heartbeat: float


class Queue(Protocol):
    def put(
        self, jobs: list[NewJob], *, now: float, signals: Sequence[ThreadSignal] = ()
    ) -> PutResult: ...

    def record_threads(self, signals: Sequence[ThreadSignal], *, now: float) -> None: ...

    def thread(self, page: str, user: str) -> ThreadState | None: ...

    def claim(self, *, owner: str, process: str, now: float, lease: float) -> Job | None: ...

    def save_reply(self, job: Job, messages: list[Message]) -> bool: ...

    def mark_sent(self, job: Job, count: int) -> bool: ...

    def ack(self, job: Job, *, now: float, sent: int | None = None) -> bool: ...

    def retry(self, job: Job, *, at: float, error: str, refund: bool = False) -> bool: ...

    def drop(self, job: Job, *, reason: str, now: float) -> bool: ...

    def bury(self, job: Job, *, reason: str, now: float) -> bool: ...

    def heartbeat(self, worker: Worker) -> None: ...

    def workers(self) -> list[Worker]: ...

    def release_stale(self, *, now: float, stale_after: float, dead: list[str]) -> int: ...

    def block_page(self, page: str, *, until: float, reason: str, now: float) -> None: ...

    def pause_page(self, page: str, *, reason: str, now: float) -> bool: ...

    def resume_page(self, page: str) -> bool: ...

    def pages(self) -> list[PageState]: ...

    def state_of(self, key: str) -> str | None: ...

    def stats(self, *, now: float) -> dict[str, Any]: ...

    def check_writable(self, *, timeout: float) -> None: ...

    def dead_letters(
        self, *, include_dropped: bool = False, limit: int = 100
    ) -> list[DeadLetter]: ...

    def requeue(
        self, *, ids: list[int] | None = None, reason: str | None = None, everything: bool = False
    ) -> int: ...

    def purge(self, *, before: float) -> int: ...

    def close(self) -> None: ...
