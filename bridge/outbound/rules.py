"""Whether an outbound message may be sent now: pure rules over what the queue knows.

Checked when the message is queued (the API answers 422) and again before each of its sends
(the job is dropped with the reason): the person may have gone quiet, a person at the Page may
have taken the conversation, or the token may have expired meanwhile.

- To a PSID: some event of that person on that Page must have been seen; ``RESPONSE`` and
  ``UPDATE`` go out within 24 hours of the person's latest event, ``MESSAGE_TAG`` with
  ``HUMAN_AGENT`` within 7 days (messenger.md §5.2, §5.3); while a person at the Page or
  another app holds the conversation, only ``HUMAN_AGENT`` may be sent.
- To a notification-messages token: the token must be known and usable (active, not expired);
  it needs no window, but a held conversation is not interrupted either.
All times are epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.messenger import thread_control as threads
from bridge.messenger.thread_control import ThreadState
from bridge.outbound.request import HUMAN_AGENT
from bridge.queue.records import NotificationToken

HUMAN_AGENT_WINDOW_MS = 7 * 24 * 3600 * 1000
# The codes of a refusal; also what a delivery drops the job with (its metric label).
REFUSALS = ("outside_window", "held", "unknown_recipient", "token_expired")


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str


def to_person(
    thread: ThreadState | None,
    *,
    tag: str | None,
    written_ms: int,
    now_ms: int,
    idle_ms: int,
) -> Refusal | None:
    """Why a message to this person may not be sent now (None: it may). ``written_ms``: when
    the message was asked for (a hold since then counts, as for a reply)."""
    if thread is None or thread.last_inbound <= 0:
        return Refusal("unknown_recipient", "no event from this person on this Page was received")
    held = _held(thread, written_ms=written_ms, now_ms=now_ms, idle_ms=idle_ms)
    if held is not None and tag != HUMAN_AGENT:
        return Refusal("held", f"{held}; only a person's reply (tag HUMAN_AGENT) may be sent")
    limit = HUMAN_AGENT_WINDOW_MS if tag == HUMAN_AGENT else threads.WINDOW_MS
    quiet = now_ms - thread.last_inbound
    if quiet > limit:
        return Refusal("outside_window", _outside(quiet, tag))
    return None


def to_token(
    token: NotificationToken | None,
    thread: ThreadState | None,
    *,
    written_ms: int,
    now_ms: int,
    idle_ms: int,
) -> Refusal | None:
    """Why a notification message with ``token`` may not be sent now (None: it may)."""
    if token is None:
        return Refusal(
            "unknown_recipient", "no notification-messages opt-in with this token was received"
        )
    if not token.usable(now_ms):
        why = "the person stopped notification messages" if token.status != "active" else None
        return Refusal("token_expired", why or "the notification-messages token has expired")
    held = _held(thread, written_ms=written_ms, now_ms=now_ms, idle_ms=idle_ms)
    if held is not None:
        return Refusal("held", f"{held}; a notification message would interrupt it")
    return None


def _held(thread: ThreadState | None, *, written_ms: int, now_ms: int, idle_ms: int) -> str | None:
    return threads.held_reason(thread, event_ts=written_ms, now_ms=now_ms, idle_ms=idle_ms)


def _outside(quiet_ms: int, tag: str | None) -> str:
    hours = quiet_ms / 3_600_000
    if tag == HUMAN_AGENT:
        return f"the person's last event was {hours / 24:.1f} days ago: past HUMAN_AGENT's 7 days"
    return (
        f"the person's last event was {hours:.1f} h ago: outside Messenger's 24-hour window"
        " (a person at the Page may reply within 7 days with tag HUMAN_AGENT)"
    )
