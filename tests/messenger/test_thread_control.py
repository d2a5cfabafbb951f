"""bridge.messenger.thread_control: who may answer a conversation, decided by Meta's timestamps."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.messenger.events import (
    Echo,
    Handover,
    ParseResult,
    StandbyItem,
    TextMessage,
    parse_webhook,
)
from bridge.messenger.thread_control import (
    WINDOW_MS,
    ThreadSignal,
    ThreadState,
    apply,
    apply_all,
    held_reason,
    owner_of,
    signals_from,
    window_open,
)
from tests.support.ids import CORPUS_PAGE_ID as PAGE
from tests.support.ids import CORPUS_PSID as USER

OWN_APP, INBOX, OTHER_APP = "1517776481860111", "263902037430900", "2244668800113355"
IDLE = 3_600_000  # one hour, in ms
T = 1_800_000_000_000


def signal(kind: str, at: int, **fields: str) -> ThreadSignal:
    return ThreadSignal(PAGE, USER, at, kind, **fields)  # type: ignore[arg-type]


def hold(at: int, reason: str = "inbox_echo", holder: str = "page_inbox") -> ThreadSignal:
    return signal("hold", at, holder=holder, reason=reason)


def state_after(*signals: ThreadSignal) -> ThreadState:
    return apply_all(ThreadState(PAGE, USER), signals)


def verdict(state: ThreadState | None, event_ts: int, now: int) -> str | None:
    return held_reason(state, event_ts=event_ts, now_ms=now, idle_ms=IDLE)


def test_a_thread_nobody_held_is_answered() -> None:
    assert verdict(None, T, T) is None
    assert verdict(state_after(signal("inbound", T)), T, T + 5) is None


def test_while_a_person_holds_the_thread_nothing_is_answered() -> None:
    state = state_after(hold(T))
    assert state.is_open and state.holder == "page_inbox" and state.reason == "inbox_echo"
    assert verdict(state, T + 10, T + 20) == (
        "a person at the Page holds the conversation (inbox_echo)"
    )


def test_an_event_written_before_the_takeover_but_handled_after_is_not_answered() -> None:
    state = state_after(hold(T + 100))
    assert verdict(state, T, T + 200) is not None  # written first, handled after the takeover


def test_control_coming_back_answers_only_what_was_written_after_it() -> None:
    state = state_after(hold(T), signal("release", T + 1000))
    assert state.held_until == T + 1000 and not state.is_open
    assert verdict(state, T + 500, T + 2000) == (
        "a person at the Page held the conversation when this was written (inbox_echo)"
    )
    assert verdict(state, T + 999, T + 2000) is not None
    assert verdict(state, T + 1000, T + 2000) is None
    assert verdict(state, T + 1500, T + 2000) is None


def test_a_hold_lapses_after_idle_without_a_sign_of_the_holder() -> None:
    state = state_after(hold(T))
    assert verdict(state, T + IDLE + 5, T + IDLE - 1) is not None  # still held now
    # Handled after the lapse: what was written during the hold stays unanswered, later is fine.
    assert verdict(state, T + IDLE - 1, T + IDLE + 10) is not None
    assert verdict(state, T + IDLE, T + IDLE + 10) is None


def test_each_sign_of_the_holder_extends_the_hold() -> None:
    state = state_after(hold(T), hold(T + IDLE - 10))
    assert state.held_from == T and state.human_seen == T + IDLE - 10
    assert verdict(state, T + IDLE + 5, T + IDLE + 10) is not None


def test_a_late_release_from_before_the_hold_does_not_end_it() -> None:
    state = state_after(hold(T), signal("release", T - 50))
    assert state.is_open


def test_a_late_sign_from_before_the_release_does_not_reopen_the_hold() -> None:
    state = state_after(hold(T), signal("release", T + 100), hold(T + 50))
    assert not state.is_open and state.held_until == T + 100
    assert state.human_seen == T + 50


def test_a_sign_after_the_release_starts_a_new_hold() -> None:
    state = state_after(hold(T), signal("release", T + 100), hold(T + 200, "handover"))
    assert state.is_open and state.held_from == T + 200 and state.reason == "handover"
    assert verdict(state, T + 150, T + 300) is not None  # a human took over after it


def test_signals_apply_in_time_order_whatever_order_they_arrive_in() -> None:
    late_first = apply_all(ThreadState(PAGE, USER), [signal("release", T + 100), hold(T)])
    assert late_first == state_after(hold(T), signal("release", T + 100))


def test_applying_a_signal_twice_changes_nothing_more() -> None:
    once = state_after(hold(T), signal("inbound", T + 5), signal("release", T + 10))
    assert apply(once, signal("release", T + 10)) == once
    assert apply(once, signal("inbound", T + 5)) == once


def test_a_message_in_messaging_after_standby_means_meta_gave_the_thread_back() -> None:
    # Conversation Routing: while the Page Inbox holds the thread, the person's messages come
    # to the bridge as standby; when one comes in messaging again, the thread is the bridge's.
    state = state_after(hold(T), signal("standby", T + 10), signal("inbound", T + 20))
    assert state.held_until == T + 20 and state.standby_seen == T + 10
    assert verdict(state, T + 20, T + 30) is None
    assert verdict(state, T + 10, T + 30) is not None


def test_without_standby_a_message_in_messaging_does_not_end_the_hold() -> None:
    # Without a default app, every app gets messaging: the person is talking to the human.
    state = state_after(hold(T), signal("inbound", T + 20))
    assert state.is_open and state.last_inbound == T + 20


def test_standby_from_before_the_hold_is_no_evidence() -> None:
    state = state_after(signal("standby", T - 10), hold(T), signal("inbound", T + 20))
    assert state.is_open


def test_the_window_runs_from_the_latest_inbound_or_standby_event() -> None:
    state = state_after(signal("inbound", T), signal("standby", T + 50), signal("inbound", T - 9))
    assert state.last_inbound == T + 50
    assert window_open(state.last_inbound, T + 50 + WINDOW_MS)
    assert not window_open(state.last_inbound, T + 51 + WINDOW_MS)


def test_a_send_error_hold_is_another_apps() -> None:
    state = state_after(hold(T, "send_error", "other_app"))
    assert verdict(state, T + 1, T + 2) == "another app holds the conversation (send_error)"


@pytest.mark.parametrize(
    ("action", "previous", "new_owner", "own", "owner"),
    [
        ("pass", INBOX, OWN_APP, OWN_APP, "bridge"),
        ("take", INBOX, OWN_APP, OWN_APP, "bridge"),
        ("pass", OWN_APP, INBOX, OWN_APP, "page_inbox"),
        ("take", OWN_APP, INBOX, None, "page_inbox"),
        ("pass", OWN_APP, OTHER_APP, OWN_APP, "other_app"),
        # Without FB_APP_ID: Meta notifies the receiver of a pass, the loser of a take.
        ("pass", INBOX, OTHER_APP, None, "bridge"),
        ("take", OWN_APP, OTHER_APP, None, "other_app"),
        ("request", None, INBOX, OWN_APP, None),
        # The older shape names no new owner: a take is by someone else (the bridge never
        # takes), a pass is to the bridge, unless the bridge is the one that passed.
        ("take", OWN_APP, None, OWN_APP, "other_app"),
        ("take", None, None, None, "other_app"),
        ("take", INBOX, None, OWN_APP, "other_app"),
        ("pass", None, None, OWN_APP, "bridge"),
        ("pass", INBOX, None, None, "bridge"),
        ("pass", OWN_APP, None, OWN_APP, "other_app"),
    ],
)
def test_owner_of_a_handover(
    action: str, previous: str | None, new_owner: str | None, own: str | None, owner: str | None
) -> None:
    handover = Handover(PAGE, USER, T, action, previous, new_owner)  # type: ignore[arg-type]
    assert owner_of(handover, own) == owner


def test_a_pass_naming_no_owner_under_standby_is_not_to_the_bridge() -> None:
    handover = Handover(PAGE, USER, T, "pass", None, None, standby=True)
    assert owner_of(handover, OWN_APP) == "other_app"


def delivery_of(*items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE, "time": T, "messaging": list(items)}]}


def control(key: str, at: int, **value: str) -> dict[str, Any]:
    return {"sender": {"id": USER}, "recipient": {"id": PAGE}, "timestamp": at, key: value}


@pytest.mark.parametrize("own", [OWN_APP, None], ids=["own-app-id", "no-own-app-id"])
@pytest.mark.parametrize(
    "take",
    [
        pytest.param({"previous_owner_app_id": OWN_APP, "new_owner_app_id": INBOX}, id="current"),
        # Bottender's, Botkit's and the Bot Framework's fixtures: no new_owner_app_id.
        pytest.param({"previous_owner_app_id": OWN_APP, "metadata": "agent"}, id="older"),
    ],
)
def test_a_take_in_either_shape_holds_the_conversation(
    take: dict[str, str], own: str | None
) -> None:
    parsed = parse_webhook(delivery_of(control("take_thread_control", T, **take)), app_id=own)
    [signal_] = signals_from(parsed, own_app_id=own, now_ms=T + 9)
    assert (signal_.kind, signal_.at, signal_.reason) == ("hold", T, "handover")
    assert verdict(state_after(signal_), T + 5, T + 10) is not None  # the bot is not asked


@pytest.mark.parametrize("own", [OWN_APP, None], ids=["own-app-id", "no-own-app-id"])
@pytest.mark.parametrize(
    "give_back",
    [
        pytest.param({"previous_owner_app_id": INBOX, "new_owner_app_id": OWN_APP}, id="current"),
        pytest.param({"new_owner_app_id": OWN_APP, "metadata": "done"}, id="older"),
        pytest.param({"metadata": "back to the bot"}, id="metadata-only"),
    ],
)
def test_a_pass_back_in_either_shape_ends_the_hold(
    give_back: dict[str, str], own: str | None
) -> None:
    body = delivery_of(
        control("take_thread_control", T, previous_owner_app_id=OWN_APP),
        control("pass_thread_control", T + 100, **give_back),
    )
    signals = signals_from(parse_webhook(body, app_id=own), own_app_id=own, now_ms=T + 200)
    assert [s.kind for s in signals] == ["hold", "release"]
    state = state_after(*signals)
    assert verdict(state, T + 50, T + 200) is not None  # written while a person had it
    assert verdict(state, T + 150, T + 200) is None


def test_signals_from_a_parsed_delivery() -> None:
    parsed = ParseResult(
        events=[TextMessage(PAGE, USER, T, "m_1", "hi")],
        skipped=[],
        echoes=[
            Echo(PAGE, USER, T + 1, "m_2", INBOX, "page_inbox"),
            Echo(PAGE, USER, T + 2, "m_3", OWN_APP, "bridge"),
            Echo(PAGE, USER, T + 3, "m_4", OTHER_APP, "other_app"),
        ],
        handovers=[
            Handover(PAGE, USER, T + 4, "pass", INBOX, OWN_APP),
            Handover(PAGE, USER, T + 5, "take", OWN_APP, OTHER_APP),
            Handover(PAGE, USER, T + 6, "request", None, INBOX),
        ],
        standby=[StandbyItem(PAGE, USER, 0)],
    )
    assert signals_from(parsed, own_app_id=OWN_APP, now_ms=T + 99) == [
        signal("inbound", T),
        signal("standby", T + 99),  # no timestamp: now
        hold(T + 1),
        signal("release", T + 4),
        hold(T + 5, "handover", "other_app"),
    ]
