"""The values the queue takes and gives back: jobs, Page states, dead letters, processes.

A job's life: ``queued`` → ``running`` (claimed, with a lease) → ``done`` (answered),
``dropped`` (deliberately not answered: too old, or the person cannot be messaged) or
``dead`` (a dead letter: attempts exhausted; ``requeue`` brings it back). ``STATES`` lists
them in that order, for whoever reports counts by state.

A notification-messages token (``NotificationToken``) is kept while it may be sent with, and
forgotten ``TOKEN_RETENTION_MS`` (30 days) after it expired, or after it was stopped and
nothing changed it since (a person who resumes later opts in again, with the whole token):
``forget_token_at``. A token without an expiry that is active is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bridge.messenger.events import TokenUpdate

Message = dict[str, Any]  # one Send API message of a stored reply

STATES = ("queued", "running", "done", "dropped", "dead")
TOKEN_RETENTION_MS = 30 * 86_400_000


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
class Claim:
    """Who takes a job and for how long: a delivery thread (``owner``) of ``process``."""

    owner: str
    process: str
    lease: float


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
class OutboundRecord:
    """An outbound message's job as the outbound API reports it: its state, why it ended
    unsent (``reason``), how many parts went out (``sent``) and Graph's ids of those parts."""

    key: str
    state: str
    reason: str | None
    sent: int
    message_ids: tuple[str, ...]
    payload: str


@dataclass(frozen=True, slots=True)
class Worker:
    """A process that claims jobs, as it last reported itself."""

    process: str
    host: str
    pid: int
    heartbeat: float


@dataclass(frozen=True, slots=True)
class NotificationToken:
    """A person's opt-in to a Page's notification messages (Marketing Messages), as the latest
    ``messaging_optins`` event of type ``notification_messages`` for its token left it.

    ``token`` is a credential for messaging the person: it is stored to send with, and never
    logged or shown. ``status`` is ``"active"`` or ``"stopped"`` (``STOP NOTIFICATIONS``;
    ``RESUME NOTIFICATIONS`` makes it active again); ``expires_at`` is Meta's
    ``token_expiry_timestamp`` in epoch ms (None: Meta gave none); ``topic`` is the opt-in's
    ``payload``; ``updated_at`` the Meta time (ms) of the event that last changed it."""

    page: str
    user: str
    token: str = field(repr=False)
    topic: str
    frequency: str | None
    timezone: str | None
    expires_at: int | None
    status: str
    updated_at: int

    def usable(self, now_ms: int) -> bool:
        """Whether a notification message may be sent with it now."""
        return self.status == "active" and (self.expires_at is None or now_ms < self.expires_at)


def token_of(update: TokenUpdate) -> NotificationToken:
    """The stored token an update leaves."""
    return NotificationToken(
        page=update.page_id,
        user=update.user_id,
        token=update.token,
        topic=update.topic,
        frequency=update.frequency,
        timezone=update.timezone,
        expires_at=update.expires_at,
        status=update.status,
        updated_at=update.updated_at,
    )


def forget_token_at(token: NotificationToken) -> int | None:
    """When (epoch ms) a token is forgotten: ``TOKEN_RETENTION_MS`` after it expired, or after
    it was stopped (whichever comes first); None: kept while it is active and never expires."""
    moments = []
    if token.expires_at is not None:
        moments.append(token.expires_at + TOKEN_RETENTION_MS)
    if token.status == "stopped":
        moments.append(token.updated_at + TOKEN_RETENTION_MS)
    return min(moments) if moments else None
