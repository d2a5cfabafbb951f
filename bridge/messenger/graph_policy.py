"""What to do about a failed Graph call: one table, pure functions, no I/O.

``classify`` turns a ``GraphError`` into a ``Decision`` following the Send API error table
(docs: messenger.md §6, and §9 for the thread-owner errors). The order of precedence is:

1. an exact code/subcode row (``10/2018278``, ``100/2018008``, ``200/1545041``, ...);
2. subcode or code 2018300 (another app controls the thread), whatever the code: not the
   thread owner, like 100/2534037;
3. the row for the code alone, which also covers subcodes the table does not name
   (``1/<unknown>`` retries like plain 1, ``100/<unknown>`` drops like plain 100,
   ``10/<unknown>`` and ``200/<unknown>`` pause like plain 10 and 200);
4. the 80000-series (Business Use Case rate limits);
5. the HTTP status, only when Graph sent no code or one we do not know: no response →
   retry, 429 → throttle, anything else → retry (bounded by the job's attempt limit).

Reasons are short fixed labels plus the code (``"rate limited (613)"``); they never include
Graph's message, so they are safe to log and to store on a job.

``retry_delay`` and ``throttle_delay`` compute waits with half jitter; ``usage_retry_after``
reads Graph's rate-limit headers. Time and randomness are arguments, so everything here is
deterministic under test.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from bridge.errors import GraphError

__all__ = [
    "Action",
    "Decision",
    "classify",
    "retry_delay",
    "throttle_delay",
    "usage_retry_after",
]

RETRY_BASE = 1.0  # seconds before the second try of a job
RETRY_CAP = 300.0  # never wait longer than this between tries of one job
THROTTLE_BASE = 5.0  # seconds to hold a Page after its first throttle
THROTTLE_CAP = 15 * 60.0  # backoff ceiling for a throttled Page (Graph's own figure may be longer)
USAGE_FULL_WAIT = 60.0  # X-App-Usage / X-Page-Usage at 100 % but no explicit time: wait this long
_MAX_EXPONENT = 60  # 2**60 dwarfs any cap; keeps 2.0**n far from float overflow


class Action(Enum):
    """What the worker does with the job (and the Page) after a failed Graph call.

    RETRY: transient; retry this job later with exponential backoff and jitter.
    RETRY_ONCE: attachment fetch or upload problem; one more try, then give up for this user.
    THROTTLE: rate limited; hold the whole Page, the job stays queued.
    DROP: permanent for this user; no retry, the job ends with the reason recorded.
    PAUSE: stop sending for the whole Page, alert an operator once, keep jobs queued, resume
        when a probe succeeds.
    ASSUME_SENT: Graph says the message may already be sent (1/1357046); never retry blindly,
        count the part as sent.
    NOT_OWNER: another app (or a person in the Page Inbox) controls the conversation; no
        retry, the job ends unanswered and the conversation is marked as held, so the bot
        stays silent until control comes back (bridge/messenger/thread_control.py).
    """

    RETRY = "retry"
    RETRY_ONCE = "retry_once"
    THROTTLE = "throttle"
    DROP = "drop"
    PAUSE = "pause"
    ASSUME_SENT = "assume_sent"
    NOT_OWNER = "not_owner"


@dataclass(frozen=True, slots=True)
class Decision:
    """An action plus a short, stable label safe to log (no user content)."""

    action: Action
    reason: str


# Exact code/subcode rows (subcode None means "no subcode").
_EXACT: dict[tuple[int, int | None], tuple[Action, str]] = {
    (1, 99): (Action.PAUSE, "unknown error, likely missing permission or access"),
    (1, 1357046): (Action.ASSUME_SENT, "invalid Graph reply, message may already be sent"),
    (10, 2018278): (Action.DROP, "outside the 24-hour window"),
    (10, 2534022): (Action.DROP, "outside the messaging window"),
    (10, 2018065): (Action.DROP, "outside the window, needs News Messaging permission"),
    (10, 2018108): (Action.DROP, "person cannot receive messages right now"),
    (10, 1893063): (Action.PAUSE, "Page temporarily restricted from sending"),
    (100, 2018001): (Action.DROP, "no matching user found"),
    (100, 2018109): (Action.DROP, "attachment too large"),
    (100, 2018008): (Action.RETRY_ONCE, "attachment fetch failed"),
    (100, 2018047): (Action.RETRY_ONCE, "attachment upload failed"),
    (100, 2018294): (Action.RETRY_ONCE, "attachment or video timed out"),
    (100, 2534037): (Action.NOT_OWNER, "not the thread owner"),
    (200, 1545041): (Action.DROP, "person not available"),
    (200, 2018028): (Action.PAUSE, "permission error, app not reviewed or not live"),
    (613, 2018338): (Action.THROTTLE, "too many tagged messages to one person"),
}

# Rows for a code alone: no subcode, any subcode, or a subcode the table does not name.
_BY_CODE: dict[int, tuple[Action, str]] = {
    1: (Action.RETRY, "unknown Graph error, possibly temporary"),
    2: (Action.RETRY, "transient Graph error"),
    4: (Action.THROTTLE, "app request limit reached"),
    10: (Action.PAUSE, "permission denied"),
    17: (Action.THROTTLE, "user request limit reached"),
    32: (Action.THROTTLE, "Page request limit reached"),
    100: (Action.DROP, "invalid parameter"),
    190: (Action.PAUSE, "access token invalid or expired"),
    200: (Action.PAUSE, "permission error"),
    230: (Action.DROP, "permissions disallow messaging this person"),
    341: (Action.THROTTLE, "application limit reached"),
    368: (Action.PAUSE, "Page temporarily blocked for policy violations"),
    551: (Action.DROP, "person not available"),
    613: (Action.THROTTLE, "rate limited"),
    1200: (Action.RETRY, "temporary send failure"),
    2022: (Action.PAUSE, "commerce messages disabled"),
    2018321: (Action.RETRY, "automated Q&A flow controls the chat"),
}

_THREAD_OWNED = 2018300  # as a code or a subcode: another app controls the thread (§9)
_BUC_CODES = range(80000, 81000)  # Business Use Case rate limits


def classify(error: GraphError) -> Decision:
    """Decide what a failed Graph call means for the job and the Page (messenger.md §6)."""
    code, subcode = error.code, error.subcode
    ref = _ref(code, subcode)
    if code == 100 and "appsecret_proof" in error.message.lower():
        # Graph's answer when FB_APP_SECRET is not this app's: every send would fail alike.
        return Decision(Action.PAUSE, f"the app secret does not match the app ({ref})")
    if code is not None:
        row = _EXACT.get((code, subcode))
        if row is not None:
            return Decision(row[0], f"{row[1]} ({ref})")
    if _THREAD_OWNED in (code, subcode):
        return Decision(Action.NOT_OWNER, f"another app controls the thread ({ref})")
    if code is not None:
        row = _BY_CODE.get(code)
        if row is not None:
            return Decision(row[0], f"{row[1]} ({ref})")
        if code in _BUC_CODES:
            return Decision(Action.THROTTLE, f"Business Use Case rate limit ({ref})")
    # No Graph code, or one the table does not know: the HTTP status decides.
    status = error.status
    if status == 429:
        detail = "HTTP 429" if ref is None else f"HTTP 429, {ref}"
        return Decision(Action.THROTTLE, f"rate limited ({detail})")
    if ref is not None:
        return Decision(Action.RETRY, f"unrecognised Graph error ({ref})")
    if status is None:
        return Decision(Action.RETRY, "Graph unreachable (timeout or connection error)")
    if status >= 500:
        return Decision(Action.RETRY, f"Graph server error (HTTP {status})")
    return Decision(Action.RETRY, f"unrecognised Graph error (HTTP {status})")


def _ref(code: int | None, subcode: int | None) -> str | None:
    """``"10/2018278"``, ``"190"``, ``"?/2018300"`` (subcode without a code), or None."""
    if code is None and subcode is None:
        return None
    head = "?" if code is None else str(code)
    return head if subcode is None else f"{head}/{subcode}"


def retry_delay(
    attempts: int,
    *,
    rng: Callable[[], float] = random.random,
    base: float = RETRY_BASE,
    cap: float = RETRY_CAP,
) -> float:
    """Seconds before the next try of a job that has failed ``attempts`` times.

    The ceiling is ``base * 2**(attempts - 1)``, capped at ``cap``; the result lies between half
    the ceiling and the full ceiling (``ceiling/2 + rng() * ceiling/2``). ``attempts`` below 1
    counts as 1.
    """
    exponent = min(max(attempts, 1) - 1, _MAX_EXPONENT)
    ceiling = min(cap, base * 2.0**exponent)
    return ceiling / 2 + rng() * ceiling / 2


def throttle_delay(
    error: GraphError, consecutive: int, *, rng: Callable[[], float] = random.random
) -> float:
    """Seconds to hold the whole Page after a throttling error.

    The larger of what Graph told us (``error.retry_after``, when the Graph client set it) and
    a half-jittered backoff by the number of consecutive throttles on this Page (5 s, 10 s,
    20 s, ... capped at 15 minutes). Graph's own figure is honoured even beyond the cap.
    """
    backoff = retry_delay(consecutive, rng=rng, base=THROTTLE_BASE, cap=THROTTLE_CAP)
    told = _seconds(getattr(error, "retry_after", None))
    return backoff if told is None else max(told, backoff)


def usage_retry_after(headers: Mapping[str, str]) -> float | None:
    """How long Graph's response headers say to wait, in seconds, or None if they do not.

    - ``Retry-After``: seconds (integer or decimal; an HTTP date is ignored);
    - ``X-Business-Use-Case-Usage``: ``{business_id: [{"estimated_time_to_regain_access": m}]}``
      in minutes; the largest entry counts, 0 means no wait;
    - ``X-App-Usage`` / ``X-Page-Usage``: ``call_count``, ``total_cputime`` or ``total_time`` at
      100 (percent) or more means wait at least 60 s.

    Header names match in any case. Malformed values are ignored; this never raises.
    """
    lowered: dict[str, object] = {}
    for key, value in headers.items():
        if isinstance(key, str):
            lowered[key.lower()] = value
    waits = [
        _retry_after_header(lowered.get("retry-after")),
        _buc_wait(lowered.get("x-business-use-case-usage")),
        _usage_wait(lowered.get("x-app-usage")),
        _usage_wait(lowered.get("x-page-usage")),
    ]
    longest = max((w for w in waits if w is not None), default=None)
    return longest if longest is not None and longest > 0 else None


def _retry_after_header(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return _seconds(seconds)


def _buc_wait(value: object) -> float | None:
    data = _json_object(value)
    if data is None:
        return None
    minutes: list[float] = []
    for entries in data.values():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, dict):
                eta = _number(entry.get("estimated_time_to_regain_access"))
                if eta is not None:
                    minutes.append(eta)
    return _seconds(max(minutes) * 60.0) if minutes else None


def _usage_wait(value: object) -> float | None:
    data = _json_object(value)
    if data is None:
        return None
    for field in ("call_count", "total_cputime", "total_time"):
        percent = _number(data.get(field))
        if percent is not None and percent >= 100:
            return USAGE_FULL_WAIT
    return None


def _json_object(value: object) -> dict[str, object] | None:
    if not isinstance(value, str):
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; absurd nesting
        return None
    return data if isinstance(data, dict) else None


def _number(value: object) -> float | None:
    """A finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def _seconds(value: object) -> float | None:
    """A finite, non-negative number of seconds, else None."""
    number = _number(value)
    return number if number is not None and number >= 0 else None
