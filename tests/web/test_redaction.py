"""Redacting recorded deliveries: consistent stand-ins for PSIDs and words, replayable."""

from __future__ import annotations

import json
from typing import Any

from bridge.messenger.events import parse_webhook
from bridge.web.redaction import pseudonym_id, redact, redaction_key
from tests.conftest import TEST_SECRET
from tests.support.ids import PAGE_ID

KEY = redaction_key(TEST_SECRET)


def body_with(
    *items: dict[str, Any], standby: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": PAGE_ID, "time": 1, "messaging": list(items)}
    if standby is not None:
        entry["standby"] = standby
    return {"object": "page", "entry": [entry]}


def item(psid: str, message: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": 1}
    if message is not None:
        base["message"] = message
    return {**base, **fields}


def test_psids_get_consistent_stand_ins_and_pages_keep_their_ids() -> None:
    body = body_with(
        item("1234567890123456", {"mid": "m_1", "text": "I live at 5 Elm Street"}),
        item("1234567890123456", {"mid": "m_2", "text": "I live at 5 Elm Street"}),
        item("6543210987654321", {"mid": "m_3", "text": "other person"}),
    )
    redacted = redact(body, KEY)
    assert isinstance(redacted, dict)
    items = redacted["entry"][0]["messaging"]
    first, second, third = (i["sender"]["id"] for i in items)
    assert first == second != third
    assert first != "1234567890123456" and len(first) == 16 and first.isdigit()
    assert all(i["recipient"]["id"] == PAGE_ID for i in items)
    assert items[0]["message"]["text"] == items[1]["message"]["text"]
    assert "Elm" not in json.dumps(redacted)
    assert "(22 chars)" in items[0]["message"]["text"]
    assert [i["message"]["mid"] for i in items] == ["m_1", "m_2", "m_3"]
    # Another deployment (another app secret) gets other stand-ins.
    assert pseudonym_id(redaction_key("other"), "1234567890123456") != first
    assert redact(body, KEY) == redacted  # deterministic


def test_choices_stay_replayable_and_personal_fields_go() -> None:
    body = body_with(
        item("111", {"mid": "m_q", "text": "Yes please", "quick_reply": {"payload": "YES"}}),
        item("111", postback={"mid": "m_p", "title": "Get Started", "payload": "GET_STARTED"}),
        item(
            "111",
            {
                "mid": "m_a",
                "attachments": [
                    {"type": "image", "payload": {"url": "https://cdn.fb/photo-of-me.jpg"}},
                    {
                        "type": "fallback",
                        "payload": {"url": "https://example.com/x", "title": "My page"},
                    },
                    {"type": "location", "payload": {"coordinates": {"lat": 37.5, "long": 127.0}}},
                ],
            },
        ),
        {
            "recipient": {"id": PAGE_ID},
            "timestamp": 1,
            "optin": {"ref": "campaign-7", "user_ref": "secret-user-ref"},
        },
        item(
            "111",
            optin={
                "type": "notification_messages",
                "payload": "DEALS",
                "notification_messages_token": "TOKEN123",
            },
        ),
        standby=[item("111", {"mid": "m_s", "text": "to the human agent"})],
    )
    redacted = redact(body, KEY)
    text = json.dumps(redacted)
    for gone in (
        "Yes please",
        "photo-of-me",
        "My page",
        "37.5",
        "secret-user-ref",
        "TOKEN123",
        "to the human agent",
        '"111"',
    ):
        assert gone not in text
    for kept in ("YES", "GET_STARTED", "Get Started", "campaign-7", "DEALS", "m_s"):
        assert kept in text
    events = parse_webhook(redacted).events
    assert [e.kind for e in events] == ["quick_reply", "postback", "attachment", "optin"]
