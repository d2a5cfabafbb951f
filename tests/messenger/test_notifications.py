"""Notification-messages tokens out of opt-ins (bridge/messenger/events/notifications.py): the
token goes into a ``TokenUpdate`` only, never into the event, its JSON or a repr."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bridge.messenger.events import Optin, TokenUpdate, parse_webhook, to_json
from bridge.messenger.events.notifications import (
    TOKEN_MAX,
    dated,
    is_token,
    latest_per_token,
    token_status,
)

PAGE, PSID = "104859375629481", "6723491837465921"
# "#": a token cannot be mistaken for another field's value (payloads here are letters).
TOKENS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=60
).map(lambda text: f"NM#{text}")
ANY_VALUE = st.none() | st.booleans() | st.integers() | st.text(max_size=30) | st.floats()


def body(optin: dict[str, Any], *, standby: bool = False, ts: object = 1717175000100) -> object:
    item = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": ts, "optin": optin}
    return {
        "object": "page",
        "entry": [{"id": PAGE, "time": 1, "standby" if standby else "messaging": [item]}],
    }


def notification(token: object, **fields: object) -> dict[str, Any]:
    return {"type": "notification_messages", "notification_messages_token": token, **fields}


@given(
    token=TOKENS,
    status=st.sampled_from(
        [
            None,
            "STOP_NOTIFICATIONS",
            "STOP NOTIFICATIONS",
            "stop_notifications",
            "RESUME_NOTIFICATIONS",
            "RESUME NOTIFICATIONS",
            "ODD",
        ]
    ),
    expiry=st.integers(min_value=10**12, max_value=2 * 10**12),
    payload=st.text(alphabet="abcdefgh ", max_size=50),
    frequency=st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]),
)
def test_an_opt_in_gives_its_token_apart_from_the_event(
    token: str, status: str | None, expiry: int, payload: str, frequency: str
) -> None:
    fields: dict[str, Any] = {
        "payload": payload,
        "token_expiry_timestamp": expiry,
        "notification_messages_frequency": frequency,
        "notification_messages_timezone": "UTC",
    }
    if status is not None:
        fields["notification_messages_status"] = status
    parsed = parse_webhook(body(notification(token, **fields)))
    [event] = parsed.events
    assert isinstance(event, Optin)
    assert token not in to_json(event) and token not in repr(event)
    [update] = parsed.tokens
    assert update.token == token and token not in repr(update) and token not in repr(parsed)
    stopped = status is not None and status.upper().startswith("STOP")
    assert update.status == ("stopped" if stopped else "active")
    assert (update.page_id, update.user_id, update.updated_at) == (PAGE, PSID, 1717175000100)
    assert update.expires_at == expiry and update.frequency == frequency
    assert update.topic == payload


@given(
    optin=st.dictionaries(
        st.sampled_from(
            [
                "type",
                "notification_messages_token",
                "payload",
                "token_expiry_timestamp",
                "notification_messages_status",
                "notification_messages_frequency",
                "ref",
            ]
        ),
        ANY_VALUE,
    )
)
def test_any_opt_in_parses_without_raising_and_keeps_no_token_in_events(
    optin: dict[str, Any],
) -> None:
    parsed = parse_webhook(body(optin))
    token = optin.get("notification_messages_token")
    for event in parsed.events:
        assert "token" not in json.loads(to_json(event))
    for update in parsed.tokens:
        assert optin.get("type") == "notification_messages" and update.token == token
        assert is_token(update.token)


def test_a_standby_opt_in_gives_its_token_too() -> None:
    parsed = parse_webhook(body(notification("abcdefgh"), standby=True))
    assert parsed.events == [] and [u.token for u in parsed.tokens] == ["abcdefgh"]


def test_what_is_no_token_gives_no_update() -> None:
    for odd in [
        "",
        "   ",
        "has space",
        "redacted-0123456789 (19 chars)",
        "é" * 9,
        "x" * (TOKEN_MAX + 1),
        12345,
        None,
    ]:
        parsed = parse_webhook(body(notification(odd)))
        assert len(parsed.events) == 1 and parsed.tokens == [], odd
    classic = parse_webhook(body({"ref": "r", "notification_messages_token": "abcdefgh"}))
    assert classic.tokens == []  # not a notification-messages opt-in


def test_statuses() -> None:
    assert token_status("STOP NOTIFICATIONS") == token_status("STOP_NOTIFICATIONS") == "stopped"
    assert token_status("RESUME_NOTIFICATIONS") == token_status(None) == token_status(3) == "active"


@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 5)), max_size=12))
def test_the_latest_update_of_each_token_wins(pairs: list[tuple[str, int]]) -> None:
    updates = [
        TokenUpdate(PAGE, PSID, t, topic=str(i), updated_at=at) for i, (t, at) in enumerate(pairs)
    ]
    latest = latest_per_token(updates)
    for token in {t for t, _ in pairs}:
        newest = max(at for t, at in pairs if t == token)
        last = [u for u in updates if u.token == token and u.updated_at == newest][-1]
        assert latest[(PAGE, token)] == last


def test_an_update_without_a_timestamp_is_dated_now() -> None:
    updates = [TokenUpdate(PAGE, PSID, "abcdefgh"), TokenUpdate(PAGE, PSID, "b", updated_at=7)]
    assert [u.updated_at for u in dated(updates, 42)] == [42, 7]
