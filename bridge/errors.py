"""The bridge's error tree.

BridgeError
├── ConfigError      settings missing or malformed; carries every problem at once
├── PayloadError     a webhook body that is not usable (not JSON)
├── BotError         the bot backend failed; ``kind`` says what to do about it
├── GraphError       the Graph API refused a call or could not be reached
└── QueueError       the durable queue could not be read or written
"""

from __future__ import annotations

from enum import Enum


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigError(BridgeError):
    """One or more settings are missing or malformed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class PayloadError(BridgeError):
    """A webhook body that cannot be used at all (not JSON)."""


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
