"""The outbound rules at fixed times: the 24-hour window, HUMAN_AGENT's 7 days, holds, tokens."""

from __future__ import annotations

from bridge.messenger.thread_control import ThreadSignal, ThreadState, apply_all
from bridge.outbound import rules
from tests.support.notifications import MemoryNotifications

PAGE, USER = "111", "2000000000000001"
HOUR = 3_600_000
LAST = 1_700_000_000_000
IDLE = 24 * HOUR


def thread(*signals: ThreadSignal) -> ThreadState:
    return apply_all(ThreadState(PAGE, USER), signals)


def inbound(at: int = LAST) -> ThreadSignal:
    return ThreadSignal(PAGE, USER, at, "inbound")


def hold(at: int) -> ThreadSignal:
    return ThreadSignal(PAGE, USER, at, "hold", holder="page_inbox", reason="inbox_echo")


def to_person(state: ThreadState | None, now: int, tag: str | None = None) -> str | None:
    refusal = rules.to_person(state, tag=tag, written_ms=now, now_ms=now, idle_ms=IDLE)
    return None if refusal is None else refusal.code


def test_a_person_never_seen_is_unknown() -> None:
    assert to_person(None, LAST) == "unknown_recipient"
    assert to_person(ThreadState(PAGE, USER), LAST) == "unknown_recipient"


def test_the_24_hour_window_and_human_agents_7_days() -> None:
    state = thread(inbound())
    assert to_person(state, LAST + 24 * HOUR) is None
    assert to_person(state, LAST + 24 * HOUR + 1) == "outside_window"
    assert to_person(state, LAST + 7 * 24 * HOUR, tag="HUMAN_AGENT") is None
    assert to_person(state, LAST + 7 * 24 * HOUR + 1, tag="HUMAN_AGENT") == "outside_window"


def test_the_refusal_says_how_long_ago_and_what_else_may_go() -> None:
    refusal = rules.to_person(
        thread(inbound()), tag=None, written_ms=LAST, now_ms=LAST + 30 * HOUR, idle_ms=IDLE
    )
    assert refusal is not None and "30.0 h ago" in refusal.message
    assert "HUMAN_AGENT" in refusal.message


def test_a_held_conversation_takes_only_human_agent() -> None:
    state = thread(inbound(), hold(LAST + HOUR))
    assert to_person(state, LAST + 2 * HOUR) == "held"
    assert to_person(state, LAST + 2 * HOUR, tag="HUMAN_AGENT") is None
    # the hold lapses after BRIDGE_HUMAN_IDLE without a sign of the person at the Page
    later = LAST + HOUR + IDLE + 1
    assert to_person(thread(inbound(later - 1), hold(LAST + HOUR)), later) is None


def test_a_hold_that_began_after_the_message_was_asked_for_counts_before_its_send() -> None:
    state = thread(
        inbound(), hold(LAST + 2 * HOUR), ThreadSignal(PAGE, USER, LAST + 3 * HOUR, "release")
    )
    written = LAST + HOUR  # queued before the hold; sent after it ended
    refusal = rules.to_person(
        state, tag=None, written_ms=written, now_ms=LAST + 4 * HOUR, idle_ms=IDLE
    )
    assert refusal is not None and refusal.code == "held"


def test_tokens_unknown_expired_stopped_and_usable() -> None:
    book = MemoryNotifications()
    fresh = book.add(PAGE, USER, "tok-a", expires_at=LAST + HOUR)
    stopped = book.add(PAGE, USER, "tok-b", status="stopped")

    def code(token: object, now: int, state: ThreadState | None = None) -> str | None:
        refusal = rules.to_token(token, state, written_ms=now, now_ms=now, idle_ms=IDLE)  # type: ignore[arg-type]
        return None if refusal is None else refusal.code

    assert code(None, LAST) == "unknown_recipient"
    assert code(fresh, LAST) is None  # no window needed: no thread at all
    assert code(fresh, LAST + HOUR) == "token_expired"
    assert code(stopped, LAST) == "token_expired"
    assert code(fresh, LAST + 10, thread(inbound(LAST - HOUR), hold(LAST))) == "held"
