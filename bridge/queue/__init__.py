"""The durable work queue: one job per inbound event, claimed one conversation turn at a time.

``Queue`` is what the webhook, the worker and the CLI use; ``sqlite.SqliteQueue`` is the
embedded backend that makes one container a complete bridge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewJob:
    """What the webhook enqueues for one event."""

    key: str
    conversation: str
    order_ts: int
    payload: str


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job: the event, and how far its reply got (``reply`` None: bot not asked yet)."""

    id: int
    key: str
    conversation: str
    payload: str
    attempts: int
    owner: str
    reply: list[Message] | None
    sent: int


@dataclass(frozen=True, slots=True)
class PutResult:
    """How many jobs were new and how many were redeliveries of jobs already queued."""

    added: int
    duplicates: int


class Queue(Protocol):
    def put(self, jobs: list[NewJob], *, now: float) -> PutResult: ...

    def claim(self, *, owner: str, now: float, lease: float) -> Job | None: ...

    def save_reply(self, job: Job, messages: list[Message]) -> bool: ...

    def mark_sent(self, job: Job, count: int) -> bool: ...

    def ack(self, job: Job, *, now: float) -> bool: ...

    def retry(self, job: Job, *, at: float, error: str) -> bool: ...

    def bury(self, job: Job, *, reason: str, now: float) -> bool: ...

    def state_of(self, key: str) -> str | None: ...

    def stats(self, *, now: float) -> dict[str, float]: ...

    def purge(self, *, before: float) -> int: ...

    def close(self) -> None: ...
