"""bridge.events: recorded webhook bodies parse to exactly the expected events and skips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.events import (
    Event,
    ParseResult,
    Postback,
    QuickReply,
    Skipped,
    TextMessage,
    bot_input,
    conversation_key,
    dedupe_key,
    from_json,
    parse_webhook,
    to_json,
)

PAYLOADS = Path(__file__).parent / "payloads"

PAGE = "104859375629481"
PAGE_2 = "231764905812337"
PSID = "6723491837465921"
PSID_2 = "7190356284417823"
PSID_ON_PAGE_2 = "8034417259962214"

KOREAN_TEXT = "안녕하세요 \N{GRINNING FACE} https://example.com/flu help@example.com"
BATCH_MID = "m_Ba1tC7hE1iT3mA4bB5cC6dD7eE8fF9gG0hH1iI2jJ3kK4lL5mM6nN7oO8pP9"
TS_MID = "m_Ts5tR1nG2sT3rI4nG5tI6mE7sT8aM9pS0aA1bB2cC3dD4eE5fF6gG7hH8iI9"


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_bytes())


def events_only(*events: Event) -> ParseResult:
    return ParseResult(list(events), [])


def skipped_only(*reasons: str) -> ParseResult:
    return ParseResult([], [Skipped(reason) for reason in reasons])


EXPECTED: dict[str, ParseResult] = {
    "text.json": events_only(
        TextMessage(
            PAGE,
            PSID,
            1717171717171,
            "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplw",
            "What are the symptoms of flu?",
        )
    ),
    "text_unicode_escapes.json": events_only(
        TextMessage(
            PAGE,
            PSID,
            1717171801000,
            "m_kR2uN8wE5tY1oP4aS7dF0gH3jK6lZ9xCvB2nM5qW8eR1tY4uI7oP0aS3dF6g",
            KOREAN_TEXT,
        )
    ),
    "text_extra_keys.json": events_only(
        TextMessage(
            PAGE,
            PSID,
            1717176100100,
            "m_Ex7tR4aK1eY8sQ5wE2rT9yU6iO3pA0sD7fG4hJ1kL8zX5cV2bN9mQ6wE3rT0y",
            "And what about kids?",
        )
    ),
    "text_with_link.json": events_only(
        TextMessage(
            PAGE,
            PSID,
            1717171765555,
            "m_Li9nK2wT5hT8eX1tA4tT7aC0hM3eN6tZ9xC2vB5nM8qW1eR4tY7uI0oP3aS6d",
            "Is this right? https://www.example.com/flu-season-guide",
        )
    ),
    "quick_reply.json": events_only(
        QuickReply(
            PAGE,
            PSID,
            1717171720321,
            "m_QxB7nT3vK9pL2wR6yH1jF5dS8aZ4cX0mN7bV3gU6tE9iO2pK5lJ8hG1fD4sA7q",
            "Fever",
            "SYMPTOM_FEVER",
        )
    ),
    "postback.json": events_only(
        Postback(
            PAGE,
            PSID,
            1717171730777,
            "m_Pb3kW8nQ1vT6yR4uE9oI2aS5dF7gH0jL3zX6cV9bN2mQ5wE8rT1yU4iO7pA0s",
            "Check symptoms",
            "CHECK_SYMPTOMS",
        )
    ),
    "postback_without_mid.json": events_only(
        Postback(PAGE, PSID, 1623456789012, None, "Talk to a nurse", "TALK_TO_NURSE")
    ),
    "get_started_referral.json": events_only(
        Postback(
            PAGE,
            PSID_2,
            1717171600123,
            "m_Gs9tR2eW5qA8zX1cV4bN7mK0lJ3hG6fD9sA2pO5iU8yT1rE4wQ7zX0cV3bN6m",
            "Get Started",
            "GET_STARTED",
        )
    ),
    "image_attachment.json": skipped_only("attachment"),
    "sticker_image.json": skipped_only("attachment"),
    "sticker.json": skipped_only("attachment"),
    "fallback.json": skipped_only("attachment"),
    "echo.json": skipped_only("echo"),
    "delivery.json": skipped_only("delivery"),
    "read.json": skipped_only("read"),
    "reaction.json": skipped_only("reaction"),
    "standby.json": skipped_only("standby", "standby"),
    "pass_thread_control.json": skipped_only("pass_thread_control"),
    "referral.json": skipped_only("referral"),
    "optin.json": skipped_only("optin"),
    "unknown_event.json": skipped_only("unknown"),
    "batch.json": ParseResult(
        [
            TextMessage(PAGE, PSID, 1717177000100, BATCH_MID + "q", "I have a headache"),
            QuickReply(PAGE, PSID_2, 1717177000300, BATCH_MID + "r", "Cough", "SYMPTOM_COUGH"),
            Postback(PAGE, PSID_2, 1717177001100, BATCH_MID + "s", "Yes", "CONFIRM_YES"),
            TextMessage(PAGE, PSID, 1717177001300, BATCH_MID + "t", "and a sore throat"),
        ],
        [Skipped("read"), Skipped("delivery")],
    ),
    "two_pages.json": events_only(
        TextMessage(
            PAGE,
            PSID,
            1717178000100,
            "m_Tw0pA9gE1sA2bB3cC4dD5eE6fF7gG8hH9iI0jJ1kK2lL3mM4nN5oO6pP7qQ8r",
            "hello clinic",
        ),
        TextMessage(
            PAGE_2,
            PSID_ON_PAGE_2,
            1717178000200,
            "m_Tw0pA9gE2sA2bB3cC4dD5eE6fF7gG8hH9iI0jJ1kK2lL3mM4nN5oO6pP7qQ8s",
            "hello pharmacy",
        ),
    ),
    "string_timestamps.json": events_only(
        Postback(PAGE, PSID, 1717179000100, TS_MID + "j", "Check symptoms", "CHECK_SYMPTOMS"),
        # No item timestamp: falls back to the entry's (string) time.
        TextMessage(PAGE, PSID, 1717179000900, TS_MID + "k", "no timestamp on this item"),
    ),
}

ALL_EVENTS = [event for result in EXPECTED.values() for event in result.events]


def body_with(*items: object, entry_id: object = PAGE, time: object = 1717180000000) -> Any:
    """A one-entry page delivery holding the given messaging items."""
    return {"object": "page", "entry": [{"id": entry_id, "time": time, "messaging": list(items)}]}


def message_item(message: object, *, timestamp: object = 1717180000123) -> dict[str, Any]:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE},
        "timestamp": timestamp,
        "message": message,
    }


def postback_item(
    *, payload: str | None, title: str | None, timestamp: object = 1717180000123, **extra: Any
) -> dict[str, Any]:
    postback: dict[str, Any] = dict(extra)
    if payload is not None:
        postback["payload"] = payload
    if title is not None:
        postback["title"] = title
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE},
        "timestamp": timestamp,
        "postback": postback,
    }


# --- recorded payloads -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_payload_parses_to_exact_result(name: str) -> None:
    assert parse_webhook(load(name)) == EXPECTED[name]


def test_every_payload_file_has_an_expected_result() -> None:
    assert {path.name for path in PAYLOADS.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_payload_files_are_shaped_like_meta_sends_them(name: str) -> None:
    body = load(name)
    assert body["object"] == "page"
    assert isinstance(body["entry"], list) and body["entry"]
    for entry in body["entry"]:
        assert entry["id"].isdigit()
        for item in entry.get("messaging", []) + entry.get("standby", []):
            assert item["sender"]["id"].isdigit() and item["recipient"]["id"].isdigit()
            if "message" in item:
                assert item["message"]["mid"].startswith("m_")


def test_unicode_payload_is_pure_ascii_on_the_wire_and_decodes_escapes() -> None:
    raw = (PAYLOADS / "text_unicode_escapes.json").read_bytes()
    assert raw.isascii()
    assert b"\\u0040" in raw and b"\\/" in raw and b"\\ud83d\\ude00" in raw
    [event] = parse_webhook(json.loads(raw)).events
    assert isinstance(event, TextMessage)
    assert event.text == KOREAN_TEXT
    assert "@" in event.text and "https://" in event.text


def test_every_entry_and_every_item_is_read() -> None:
    result = parse_webhook(load("batch.json"))
    assert len(result.events) + len(result.skipped) == 6
    assert [dedupe_key(event) for event in result.events] == [
        BATCH_MID + suffix for suffix in "qrst"
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("echo.json", "echo"),
        ("delivery.json", "delivery"),
        ("read.json", "read"),
        ("reaction.json", "reaction"),
        ("standby.json", "standby"),
        ("pass_thread_control.json", "pass_thread_control"),
        ("referral.json", "referral"),
        ("optin.json", "optin"),
        ("unknown_event.json", "unknown"),
    ],
)
def test_items_not_for_the_bot_never_become_events(name: str, reason: str) -> None:
    result = parse_webhook(load(name))
    assert result.events == []
    assert result.skipped and {s.reason for s in result.skipped} == {reason}
    assert result.well_formed


def test_standby_user_message_is_skipped_even_though_it_looks_like_a_message() -> None:
    body = load("standby.json")
    standby_message = body["entry"][0]["standby"][0]
    # The same item under messaging[] would be an event for the bot.
    body["entry"][0]["messaging"] = [standby_message]
    result = parse_webhook(body)
    assert [type(event) for event in result.events] == [TextMessage]
    assert result.skipped == [Skipped("standby"), Skipped("standby")]


def test_echo_is_skipped_whatever_app_sent_it() -> None:
    body = load("echo.json")
    body["entry"][0]["messaging"][0]["message"]["app_id"] = 263902037430900  # Page Inbox
    assert parse_webhook(body) == skipped_only("echo")


# --- what the bot receives ---------------------------------------------------------------------


def test_quick_reply_gives_the_bot_its_payload_not_its_title() -> None:
    [event] = parse_webhook(load("quick_reply.json")).events
    assert isinstance(event, QuickReply)
    assert (event.text, event.payload) == ("Fever", "SYMPTOM_FEVER")
    assert bot_input(event) == "SYMPTOM_FEVER"


def test_quick_reply_without_payload_is_plain_text() -> None:
    item = message_item({"mid": "m_qr0", "text": "Fever", "quick_reply": {"payload": ""}})
    assert parse_webhook(body_with(item)).events == [
        TextMessage(PAGE, PSID, 1717180000123, "m_qr0", "Fever")
    ]


def test_text_gives_the_bot_the_text() -> None:
    [event] = parse_webhook(load("text_unicode_escapes.json")).events
    assert bot_input(event) == KOREAN_TEXT


@pytest.mark.parametrize(
    "name", ["postback.json", "postback_without_mid.json", "get_started_referral.json"]
)
def test_postback_gives_the_bot_its_payload(name: str) -> None:
    [event] = parse_webhook(load(name)).events
    assert isinstance(event, Postback)
    assert bot_input(event) == event.payload != event.title


@pytest.mark.parametrize("payload", [None, "", "   "])
def test_postback_without_payload_gives_the_bot_its_title(payload: str | None) -> None:
    item = postback_item(payload=payload, title="Check symptoms", mid="m_pb0")
    [event] = parse_webhook(body_with(item)).events
    assert event == Postback(PAGE, PSID, 1717180000123, "m_pb0", "Check symptoms", payload or "")
    assert bot_input(event) == "Check symptoms"


def test_postback_with_payload_but_no_title_is_an_event() -> None:
    item = postback_item(payload="MENU_HELP", title=None)
    [event] = parse_webhook(body_with(item)).events
    assert event == Postback(PAGE, PSID, 1717180000123, None, "", "MENU_HELP")
    assert bot_input(event) == "MENU_HELP"


def test_text_with_attachment_keeps_the_text() -> None:
    [event] = parse_webhook(load("text_with_link.json")).events
    assert isinstance(event, TextMessage)
    assert event.text == "Is this right? https://www.example.com/flu-season-guide"


@pytest.mark.parametrize(
    "name", ["image_attachment.json", "sticker_image.json", "sticker.json", "fallback.json"]
)
def test_attachment_only_message_is_skipped_as_attachment(name: str) -> None:
    assert parse_webhook(load(name)) == skipped_only("attachment")


# --- page filter -------------------------------------------------------------------------------


def test_page_filter_keeps_only_that_page() -> None:
    body = load("two_pages.json")
    first = parse_webhook(body, page_id=PAGE)
    second = parse_webhook(body, page_id=PAGE_2)
    assert [event.page_id for event in first.events] == [PAGE]
    assert [event.page_id for event in second.events] == [PAGE_2]
    assert first.skipped == second.skipped == [Skipped("other_page")]


def test_page_filter_for_an_unknown_page_drops_every_entry() -> None:
    assert parse_webhook(load("batch.json"), page_id="999999999999999") == skipped_only(
        "other_page", "other_page"
    )


def test_page_filter_matches_a_numeric_entry_id() -> None:
    item = message_item({"mid": "m_num", "text": "hi"})
    result = parse_webhook(body_with(item, entry_id=int(PAGE)), page_id=PAGE)
    assert [event.mid for event in result.events] == ["m_num"]


def test_page_filter_applies_to_standby_entries_too() -> None:
    assert parse_webhook(load("standby.json"), page_id=PAGE_2) == skipped_only("other_page")


# --- wrong shapes: no events, no exception -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reasons", "well_formed"),
    [
        pytest.param(
            {"object": "instagram", "entry": load("text.json")["entry"]},
            ["not_page_object"],
            False,
            id="instagram-object",
        ),
        pytest.param([load("text.json")], ["not_page_object"], False, id="list-body"),
        pytest.param(None, ["not_page_object"], False, id="null-body"),
        pytest.param('{"object":"page"}', ["not_page_object"], False, id="undecoded-string"),
        pytest.param({"entry": []}, ["not_page_object"], False, id="no-object"),
        pytest.param({"object": "page"}, ["no_entry_list"], False, id="no-entry"),
        pytest.param({"object": "page", "entry": {}}, ["no_entry_list"], False, id="entry-dict"),
        pytest.param({"object": "page", "entry": None}, ["no_entry_list"], False, id="entry-null"),
        pytest.param({"object": "page", "entry": []}, [], True, id="entry-empty"),
        pytest.param(
            {"object": "page", "entry": ["x", 1, None, []]},
            ["malformed_entry"] * 4,
            True,
            id="entries-not-dicts",
        ),
        pytest.param(
            {"object": "page", "entry": [{"id": PAGE, "messaging": ["hello", "m_1", 7, None]}]},
            ["malformed_item"] * 4,
            True,
            id="items-not-dicts",
        ),
        pytest.param(
            {"object": "page", "entry": [{"id": PAGE, "messaging": {}}]},
            ["malformed_entry"],
            True,
            id="messaging-dict",
        ),
        pytest.param(
            {"object": "page", "entry": [{"id": PAGE, "time": 1717180000000}]},
            ["no_messaging"],
            True,
            id="entry-without-messaging",
        ),
        pytest.param(
            {"object": "page", "entry": [{"id": PAGE, "changes": [{"field": "feed"}]}]},
            ["no_messaging"],
            True,
            id="changes-entry",
        ),
        pytest.param(
            # Meta's own curl example from the webhooks page.
            {"object": "page", "entry": [{"messaging": [{"message": "TEST_MESSAGE"}]}]},
            ["unknown"],
            True,
            id="meta-curl-test-body",
        ),
    ],
)
def test_wrong_shapes_give_no_events_and_never_raise(
    body: object, reasons: list[str], well_formed: bool
) -> None:
    assert parse_webhook(body) == ParseResult(
        [], [Skipped(reason) for reason in reasons], well_formed=well_formed
    )


def test_bad_entries_do_not_hide_good_ones() -> None:
    body = load("text.json")
    body["entry"] = ["junk", {"id": PAGE, "messaging": "junk"}, *body["entry"], None]
    result = parse_webhook(body)
    assert result.events == EXPECTED["text.json"].events
    assert result.skipped == [Skipped("malformed_entry")] * 3
    assert result.well_formed


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        pytest.param(
            {"recipient": {"id": PAGE}, "timestamp": 1, "message": {"mid": "m_1", "text": "x"}},
            "no_sender",
            id="no-sender",
        ),
        pytest.param(
            {
                "sender": {"user_ref": "4567890123"},
                "recipient": {"id": PAGE},
                "message": {"mid": "m_1", "text": "x"},
            },
            "no_sender",
            id="chat-plugin-user-ref",
        ),
        pytest.param(
            {"recipient": {"id": PAGE}, "postback": {"payload": "P", "title": "T"}},
            "no_sender",
            id="postback-no-sender",
        ),
        pytest.param(message_item({"text": "no mid"}), "no_mid", id="no-mid"),
        pytest.param(message_item({"mid": "m_1"}), "no_text", id="no-text"),
        pytest.param(message_item({"mid": "m_1", "text": " \n "}), "no_text", id="blank-text"),
        pytest.param(message_item({"mid": "m_1", "text": 42}), "no_text", id="text-not-str"),
        pytest.param(
            message_item({"mid": "m_1", "text": "", "attachments": [{"type": "audio"}]}),
            "attachment",
            id="empty-text-with-attachment",
        ),
        pytest.param(postback_item(payload="", title=""), "empty_postback", id="empty-postback"),
        pytest.param(
            {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "message_edit": {"mid": "m_1"}},
            "message_edit",
            id="message-edit",
        ),
        pytest.param(
            {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "app_roles": {"1": ["x"]}},
            "app_roles",
            id="app-roles",
        ),
    ],
)
def test_unusable_items_are_skipped_with_a_reason(item: dict[str, Any], reason: str) -> None:
    assert parse_webhook(body_with(item)) == skipped_only(reason)


def test_missing_recipient_falls_back_to_the_entry_page_id() -> None:
    item = {"sender": {"id": int(PSID)}, "timestamp": 5, "message": {"mid": "m_r", "text": "hi"}}
    [event] = parse_webhook(body_with(item, entry_id=int(PAGE))).events
    assert (event.page_id, event.sender_id) == (PAGE, PSID)


@pytest.mark.parametrize(
    ("timestamp", "entry_time", "expected"),
    [
        pytest.param(1717180000123, 1, 1717180000123, id="int"),
        pytest.param("1717180000123", 1, 1717180000123, id="digit-string"),
        pytest.param(1717180000123.0, 1, 1717180000123, id="float"),
        pytest.param(None, 1717180000999, 1717180000999, id="missing-uses-entry-time"),
        pytest.param("soon", "1717180000999", 1717180000999, id="garbage-uses-entry-time"),
        pytest.param(True, 1717180000999, 1717180000999, id="bool-is-not-a-time"),
        pytest.param(None, None, 0, id="no-time-at-all"),
    ],
)
def test_timestamps_are_read_defensively(
    timestamp: object, entry_time: object, expected: int
) -> None:
    item = message_item({"mid": "m_t", "text": "hi"}, timestamp=timestamp)
    [event] = parse_webhook(body_with(item, time=entry_time)).events
    assert event.timestamp == expected


def test_timestamp_with_a_non_ascii_digit_does_not_raise() -> None:
    item = message_item({"mid": "m_t", "text": "hi"}, timestamp="\u00b2")
    result = parse_webhook(body_with(item, time=1717180000999))
    assert [event.timestamp for event in result.events] == [1717180000999]


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", [e for e in ALL_EVENTS if e.mid], ids=lambda e: e.mid)
def test_dedupe_key_is_the_mid_when_there_is_one(event: Event) -> None:
    assert dedupe_key(event) == event.mid


def test_derived_dedupe_key_is_stable_across_redeliveries() -> None:
    first = parse_webhook(load("postback_without_mid.json")).events[0]
    redelivered_body = load("postback_without_mid.json")
    redelivered_body["entry"][0]["time"] += 60_000  # a later delivery attempt
    redelivered_body["entry"][0]["messaging"][0]["timestamp"] = "1623456789012"
    again = parse_webhook(redelivered_body).events[0]
    assert dedupe_key(first) == dedupe_key(again)
    assert dedupe_key(first)
    assert not dedupe_key(first).startswith("m_")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"timestamp": 1623456789013}, id="timestamp"),
        pytest.param({"payload": "TALK_TO_DOCTOR"}, id="payload"),
        pytest.param({"sender_id": PSID_2}, id="sender"),
        pytest.param({"page_id": PAGE_2}, id="page"),
    ],
)
def test_derived_dedupe_key_differs_for_a_different_postback(changes: dict[str, Any]) -> None:
    base = Postback(PAGE, PSID, 1623456789012, None, "Talk to a nurse", "TALK_TO_NURSE")
    fields = {
        "page_id": base.page_id,
        "sender_id": base.sender_id,
        "timestamp": base.timestamp,
        "mid": None,
        "title": base.title,
        "payload": base.payload,
    }
    other = Postback(**{**fields, **changes})
    assert dedupe_key(other) != dedupe_key(base)


def test_conversation_key_is_page_and_person() -> None:
    clinic, pharmacy = parse_webhook(load("two_pages.json")).events
    assert conversation_key(clinic) == f"{PAGE}:{PSID}"
    assert conversation_key(pharmacy) == f"{PAGE_2}:{PSID_ON_PAGE_2}"


def test_conversation_key_is_shared_by_all_kinds_of_one_persons_events() -> None:
    batch = parse_webhook(load("batch.json")).events
    keys = [conversation_key(event) for event in batch]
    assert keys == [f"{PAGE}:{PSID}", f"{PAGE}:{PSID_2}", f"{PAGE}:{PSID_2}", f"{PAGE}:{PSID}"]


# --- queue serialisation -----------------------------------------------------------------------


ROUND_TRIP = [
    *ALL_EVENTS,
    TextMessage(PAGE, PSID, 1, "m_ko", "감기 증상이 뭐예요? \N{FACE WITH THERMOMETER}"),
    TextMessage(PAGE, PSID, 1, "m_ctl", 'quotes " and \\ and \n newlines \u2028'),
    Postback(PAGE, PSID, 1, None, "", "ONLY_PAYLOAD"),
    QuickReply(PAGE, PSID, 1, "m_qr", "Überweisung", "REFERRAL_ÄÖÜ"),
]


@pytest.mark.parametrize("event", ROUND_TRIP, ids=lambda e: f"{e.kind}-{e.mid}")
def test_to_json_from_json_round_trip(event: Event) -> None:
    stored = to_json(event)
    assert json.loads(stored)["kind"] == event.kind
    rebuilt = from_json(stored)
    assert type(rebuilt) is type(event)
    assert rebuilt == event


@pytest.mark.parametrize(
    "stored",
    [
        '{"kind":"image","page_id":"1"}',
        '{"kind":"TEXT","page_id":"1"}',
        '{"kind":null}',
        "{}",
    ],
)
def test_from_json_with_an_unknown_kind_raises_value_error(stored: str) -> None:
    with pytest.raises(ValueError, match="unknown stored event kind"):
        from_json(stored)


def test_a_quick_reply_without_text_still_carries_its_payload() -> None:
    item = message_item({"mid": "m_q", "quick_reply": {"payload": "PICK_A"}})
    [event] = parse_webhook(body_with(item, time=1)).events
    assert isinstance(event, QuickReply)
    assert bot_input(event) == "PICK_A"
