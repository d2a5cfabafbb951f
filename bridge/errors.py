"""The bridge's error tree: every exception class of the package, in one place.

BridgeError
├── ConfigError        settings missing or malformed; carries every problem at once
│   └── PagesFileKeyError  a key given twice in the pages file
├── PayloadError       a webhook body that is not usable
│   ├── NotAWebhookBody    a file ``bridge replay`` cannot send; the message says why
│   └── InvalidRequest     an outbound API request that breaks a rule; names the field
├── OutboundRefused    a valid outbound request that cannot be sent (window, hold, token...)
├── BotError           the bot backend failed; ``kind`` says what to do about it
├── GraphError         the Graph API refused a call or could not be reached
├── QueueError         the durable queue could not be read or written
├── TurnInterrupted    a turn stops early (delivery's control flow, never a crash)
│   ├── RetryLater         the job goes back to the queue
│   └── NotAnswered        the event is deliberately not answered
├── ProfileError       a Messenger profile file cannot be used; lists every ``Problem``
├── FaultError         a local-mode fault that cannot be queued
└── OperationError     an operations command cannot go on
    ├── SetupFailed        ``bridge setup`` stops (already explained), exit status 1
    ├── InitError          AWS refused a call of ``bridge init-aws``, or could not be reached
    └── ReplayError        ``bridge replay`` cannot reach the bridge at all

Classes that callers may also catch as ``ValueError`` (``PagesFileKeyError``,
``NotAWebhookBody``, ``InvalidRequest``, ``FaultError``) derive from it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigError(BridgeError):
    """One or more settings are missing or malformed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class PagesFileKeyError(ConfigError, ValueError):
    """A key appears twice in one object of the pages file (JSON would keep the last)."""

    def __init__(self, key: str) -> None:
        super().__init__([f"duplicate key {key!r}"])
        self.key = key


class PayloadError(BridgeError):
    """A webhook body that cannot be used at all."""


class NotAWebhookBody(PayloadError, ValueError):
    """A file that cannot be a Messenger webhook delivery; the message says why."""


class InvalidRequest(PayloadError, ValueError):
    """An outbound API request (``POST /v1/messages``, ``bridge send``) that breaks a rule:
    ``field`` names the part of the body (dotted: ``recipient.id``), ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class OutboundRefused(BridgeError):
    """A valid outbound message that cannot be sent: ``code`` is ``outside_window``,
    ``held``, ``unknown_recipient``, ``token_expired`` or ``idempotency_conflict``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BotErrorKind(Enum):
    """What a bot failure means for the turn.

    RETRY: nothing ran on the bot's side (throttled, no connection); try the same turn later.
    FALLBACK: the turn may have run or failed inside the bot; never repeat it, answer the
        fallback text.
    CONFIG: the bot is misconfigured (unknown bot, no permission); answer the fallback text and
        log an error an operator must act on.
    """

    RETRY = "retry"
    FALLBACK = "fallback"
    CONFIG = "config"


class BotError(BridgeError):
    """The bot backend failed."""

    def __init__(self, kind: BotErrorKind, reason: str) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(f"{kind.value}: {reason}")


class GraphError(BridgeError):
    """A Graph API call failed.

    ``status`` is the HTTP status (None when no response arrived), ``code`` and ``subcode``
    are Graph's error code and subcode, ``fbtrace_id`` identifies the call for Meta support,
    ``retry_after`` is how long Graph asked us to wait (from its usage headers), if it did.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        """A one-line summary safe for logs (Graph error messages carry no user content)."""
        parts = [f"status={self.status}", f"code={self.code}", f"subcode={self.subcode}"]
        if self.fbtrace_id:
            parts.append(f"fbtrace_id={self.fbtrace_id}")
        return f"{self.message} ({', '.join(parts)})"


class QueueError(BridgeError):
    """The durable queue could not be read or written."""


class TurnInterrupted(BridgeError):
    """A turn stops before its end on purpose; delivery decides what happens to the job."""


class RetryLater(TurnInterrupted):
    """The turn could not finish now; the job goes back to the queue.

    ``cause`` labels the retry in metrics: ``bot`` (the bot asked for it), ``graph`` or
    ``internal``.
    """

    def __init__(self, message: str, *, cause: str = "bot") -> None:
        super().__init__(message)
        self.cause = cause


class LeaseLost(TurnInterrupted):
    """Another process holds the job now (this one was taken for gone): the turn stops, sends
    nothing more and leaves the job alone."""


class NotAnswered(TurnInterrupted):
    """The event is deliberately not answered; the job ends ``dropped`` with ``reason``.

    ``label`` is the metric's reason: ``thread_held`` (someone else holds the conversation),
    ``not_thread_owner`` (Graph refused a send: another app owns it), ``outside_window``
    (Messenger's 24-hour window closed) or ``page_not_configured`` (its Page is not served).
    """

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(reason)
        self.label = label
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a profile, at a JSON path such as ``$.greeting[1].text``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ProfileError(BridgeError):
    """The profile file cannot be used; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{source} has {count}:\n{lines}")


class FaultError(BridgeError, ValueError):
    """A local-mode fault that cannot be queued; the message says why."""


class OperationError(BridgeError):
    """An operations command (setup, init-aws, replay) cannot go on."""


class SetupFailed(OperationError):
    """Stop with a message (already explained) and exit status 1."""


class InitError(OperationError):
    """AWS refused a call, or could not be reached."""


class ReplayError(OperationError):
    """The bridge cannot be reached at all."""
