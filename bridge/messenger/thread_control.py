"""Who may answer a conversation, and until when: pure rules, no I/O.

Each (Page, person) thread has a ``ThreadState``, kept durably by the queue backend and changed
only by ``apply``-ing ``ThreadSignal``s in order. What changes it:

- ``inbound``: the person did something in ``messaging`` (a message, a tap, a referral, an
  opt-in). Meta's 24-hour window runs from the latest one (messenger.md §5.3).
- ``standby``: the person did something in a thread Meta routes to another app or to the Page
  Inbox (a ``standby`` item): it counts for the window, and it shows Meta routes this thread.
- ``hold``: someone else took the thread: a person at the Page wrote from the Page Inbox (its
  echo), control was passed to or taken by the Page Inbox or another app
  (``messaging_handovers``), the bridge passed control itself (the bot asked for a person), or
  Graph refused a send because another app owns the thread (2018300, 100/2534037).
- ``release``: control came back to the bridge (passed or taken back to its app).

The bot answers an event only if no hold covers it: a hold covers every event written before
it ended, including one written before the hold began and handled after (the person at the
Page has taken over and will answer it). A hold ends when control comes back to the bridge;
when a person's event arrives in ``messaging`` although the thread was seen under ``standby``
since the hold began (Meta gave the thread back without a handover webhook: a release or an
expiry); or after ``idle`` without any sign of the holder (a Page Inbox echo or a handover),
since Meta lets thread control lapse after 24 hours of inactivity (messenger.md §9).
All times are epoch milliseconds on Meta's clock (webhook timestamps); the bridge's own clock
is used only where Meta gives none (a failed send, the bridge's own pass).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from bridge.messenger.events import Handover, ParseResult
from bridge.messenger.replies import PAGE_INBOX_APP_ID

WINDOW_MS = 24 * 3600 * 1000  # Messenger's standard messaging window (messenger.md §5.3)

SignalKind = Literal["inbound", "standby", "hold", "release"]
Holder = Literal["page_inbox", "other_app"]
# Why a hold began; also the bounded label of its metric.
HOLD_REASONS = ("inbox_echo", "handover", "bot_handover", "send_error")


@dataclass(frozen=True, slots=True)
class ThreadSignal:
    """One fact about a thread, at Meta's time ``at`` (epoch ms)."""

    page: str
    user: str
    at: int
    kind: SignalKind
    holder: Holder | None = None  # for a hold: who holds the thread
    reason: str = ""  # for a hold: one of HOLD_REASONS


@dataclass(frozen=True, slots=True)
class ThreadState:
    """What is known about one thread. ``held_from`` 0: never held; ``held_until`` None while
    a hold lasts (it lapses ``idle`` after the holder's latest sign, see ``held_reason``)."""

    page: str
    user: str
    last_inbound: int = 0  # the person's latest event (the 24-hour window)
    holder: str | None = None  # who holds (or last held) the thread
    held_from: int = 0
    held_until: int | None = None
    human_seen: int = 0  # the holder's latest sign: an echo, a handover
    standby_seen: int = 0  # the latest standby item from the person
    reason: str | None = None  # why the latest hold began

    @property
    def ever_held(self) -> bool:
        return self.held_from > 0

    @property
    def is_open(self) -> bool:
        """A hold began and no release ended it (it may have lapsed: see ``held_reason``)."""
        return self.ever_held and self.held_until is None


def apply(state: ThreadState, signal: ThreadSignal) -> ThreadState:
    """The thread after ``signal``. Signals may arrive late or twice: one from before the
    latest hold ended never reopens it, and a release from before the hold began never ends
    it. (Whether an open hold has lapsed is decided when it is read: see ``held_reason``.)"""
    at = signal.at
    if signal.kind == "inbound":
        state = replace(state, last_inbound=max(state.last_inbound, at))
        if _routed_back(state, at):
            state = replace(state, held_until=at)
        return state
    if signal.kind == "standby":
        return replace(
            state,
            last_inbound=max(state.last_inbound, at),
            standby_seen=max(state.standby_seen, at),
        )
    if signal.kind == "hold":
        return _hold(state, signal)
    if state.is_open and at >= state.held_from:
        return replace(state, held_until=at)
    return state  # nothing held, already over, or a release from before this hold


def _routed_back(state: ThreadState, at: int) -> bool:
    """A person's event in ``messaging`` after standby items during the open hold: Meta
    routes the thread to the bridge again (released, or lapsed, without a webhook)."""
    return state.is_open and state.standby_seen >= state.held_from and at > state.standby_seen


def _hold(state: ThreadState, signal: ThreadSignal) -> ThreadState:
    at = signal.at
    seen = max(state.human_seen, at)
    if state.is_open:
        return replace(state, human_seen=seen, holder=signal.holder or state.holder)
    if state.held_until is not None and at < state.held_until:
        return replace(state, human_seen=seen)  # a late sign from before the hold ended
    return replace(
        state,
        holder=signal.holder,
        held_from=at,
        held_until=None,
        human_seen=at,
        reason=signal.reason or None,
    )


def apply_all(state: ThreadState, signals: Iterable[ThreadSignal]) -> ThreadState:
    """``apply`` each signal, oldest first (ties keep their order)."""
    for signal in sorted(signals, key=lambda s: s.at):
        state = apply(state, signal)
    return state


def held_reason(
    state: ThreadState | None, *, event_ts: int, now_ms: int, idle_ms: int
) -> str | None:
    """Why the bot must not answer an event of ``event_ts`` now, or None if it may: someone
    holds the thread now, or held it after the person wrote."""
    if state is None or not state.ever_held:
        return None
    holder = "a person at the Page" if state.holder == "page_inbox" else "another app"
    why = state.reason or "handover"
    if state.held_until is not None:
        # Ended by Meta's clock: only the event's time counts (never our clock's skew).
        if event_ts < state.held_until:
            return f"{holder} held the conversation when this was written ({why})"
        return None
    lapses = max(state.held_from, state.human_seen) + idle_ms
    if lapses > now_ms:
        return f"{holder} holds the conversation ({why})"
    if event_ts < lapses:
        return f"{holder} held the conversation when this was written ({why})"
    return None


def window_open(last_inbound: int, now_ms: int) -> bool:
    """Whether a reply sent now is inside Messenger's 24-hour window."""
    return now_ms - last_inbound <= WINDOW_MS


# --- webhook items → signals ----------------------------------------------------------------


def owner_of(handover: Handover, own_app_id: str | None) -> str | None:
    """Who has the thread after a pass or a take: ``bridge``, ``page_inbox`` or ``other_app``
    (None for a request, which changes nothing). Meta notifies the app that receives control
    of a pass, and the app that loses it of a take (messenger.md §4.9, §9). So when the new
    owner is not named (the older shape: a take with only ``previous_owner_app_id``, a pass
    with only ``metadata``), a take is by someone else, since the bridge never takes
    control, and a pass is to the bridge unless it names the bridge as the one passing or
    came under ``standby`` (for a thread the bridge does not own). Without the bridge's own
    app id, a named new owner of a pass is taken to be the bridge and of a take someone
    else, for the same reason."""
    if handover.action == "request":
        return None
    new_owner = handover.new_owner
    if new_owner == PAGE_INBOX_APP_ID:
        return "page_inbox"
    if new_owner is not None and own_app_id is not None:
        return "bridge" if new_owner == own_app_id else "other_app"
    if handover.action == "take":
        return "other_app"
    passed_on = own_app_id is not None and handover.previous_owner == own_app_id
    return "other_app" if passed_on or handover.standby else "bridge"


def signals_from(parsed: ParseResult, *, own_app_id: str | None, now_ms: int) -> list[ThreadSignal]:
    """What a webhook delivery says about its threads (a timestamp 0 reads as ``now_ms``)."""
    signals = [
        ThreadSignal(e.page_id, e.sender_id, e.timestamp or now_ms, "inbound")
        for e in parsed.events
    ]
    signals += [
        ThreadSignal(s.page_id, s.user_id, s.timestamp or now_ms, "standby") for s in parsed.standby
    ]
    for echo in parsed.echoes:
        if echo.origin == "page_inbox" and echo.recipient_id:
            signals.append(
                ThreadSignal(
                    echo.page_id,
                    echo.recipient_id,
                    echo.timestamp or now_ms,
                    "hold",
                    holder="page_inbox",
                    reason="inbox_echo",
                )
            )
    for handover in parsed.handovers:
        owner = owner_of(handover, own_app_id)  # None: a request, nothing changes yet
        at = handover.timestamp or now_ms
        if owner == "bridge":
            signals.append(ThreadSignal(handover.page_id, handover.user_id, at, "release"))
        elif owner is not None:
            signals.append(
                ThreadSignal(
                    handover.page_id,
                    handover.user_id,
                    at,
                    "hold",
                    holder="page_inbox" if owner == "page_inbox" else "other_app",
                    reason="handover",
                )
            )
    return signals
