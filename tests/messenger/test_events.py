"""bridge.messenger.events: recorded webhook bodies parse to exactly the expected events, echoes and
skips; what the bot gets for each kind; keys; queue serialisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.config.patterns import NO_TEXT_KINDS
from bridge.messenger.events import (
    Attachment,
    Echo,
    Event,
    Handover,
    Media,
    Optin,
    ParseResult,
    PolicyEnforcement,
    Postback,
    QuickReply,
    Referral,
    ReferralData,
    ReplyTo,
    Skipped,
    StandbyItem,
    TextMessage,
    TokenUpdate,
    bot_input,
    conversation_key,
    dedupe_key,
    from_json,
    is_like,
    no_text_kind,
    parse_webhook,
    to_json,
)
from bridge.messenger.events.inputs import attachment_kind
from bridge.messenger.events.thread import echo_origin, is_echo, is_page_inbox_echo
from tests.support.ids import CORPUS_PAGE_ID as PAGE
from tests.support.ids import CORPUS_PSID as PSID

CORPUS = Path(__file__).parents[1] / "fixtures" / "webhooks"

PAGE_2 = "231764905812337"
PSID_2 = "7190356284417823"
PSID_ON_PAGE_2 = "8034417259962214"

TS = 1717180000123
OWN_APP = "1517776481860111"
PAGE_INBOX = "263902037430900"
LIKE = "369239263222822"
STICKER_URL = (
    "https://scontent.xx.fbcdn.net/v/t39.1997-6/851557_369239266556155_759568595_n.png"
    "?_nc_sid=ac3552"
)
MME = ReferralData("SHORTLINK", "OPEN_THREAD", "flu-season-2024")
ADS = ReferralData(
    "ADS",
    "OPEN_THREAD",
    "winter_campaign",
    "120214455667788990",
    ads_context=(
        ("ad_title", "Flu shots near you"),
        (
            "photo_url",
            "https://scontent.xx.fbcdn.net/v/t45.1600-4/471122334_120214455667788990_n.png"
            "?stp=cp0_dst-jpg&_nc_cat=1&ccb=1-7&_nc_sid=528f85",
        ),
        ("video_url", "https://video.xx.fbcdn.net/v/t42.1790-2/471122335_n.mp4?_nc_cat=1"),
        ("post_id", "104859375629481_122145678901234567"),
    ),
)

POLICY_WARNING = (
    "The bot violated our Platform Policies (https://developers.facebook.com/policy/"
    "#messengerplatform). Please fix within 24 hours."
)
POLICY_BLOCK = (
    "The bot violated our Platform Policies (https://developers.facebook.com/policy/"
    "#messengerplatform). Common violations include sending out excessive spammy messages or"
    " being non-functional."
)
KOREAN_TEXT = "안녕하세요 \N{GRINNING FACE} https://example.com/flu help@example.com"
BATCH_MID = "m_Ba1tC7hE1iT3mA4bB5cC6dD7eE8fF9gG0hH1iI2jJ3kK4lL5mM6nN7oO8pP9"
TS_MID = "m_Ts5tR1nG2sT3rI4nG5tI6mE7sT8aM9pS0aA1bB2cC3dD4eE5fF6gG7hH8iI9"


def load(name: str) -> Any:
    return json.loads((CORPUS / name).read_bytes())


def events_only(*events: Event) -> ParseResult:
    return ParseResult(list(events), [])


def skipped_only(*reasons: str) -> ParseResult:
    return ParseResult([], [Skipped(reason) for reason in reasons])


def echoes_only(*echoes: Echo, skipped: tuple[str, ...] = ()) -> ParseResult:
    return ParseResult([], [Skipped(reason) for reason in skipped], echoes=list(echoes))


EXPECTED: dict[str, ParseResult] = {
    "text.json": events_only(
        TextMessage(
            PAGE,
            PSID,
            1795004234517,
            "m_mC2ePrmW9VnmM_TRlN7zdh2Qn1o7ZH0ahR_q1nwyydH27C1tnMj9xu0JmdqUqmPGESsR59Oqy83y9ItZL-r2ww",
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
            reply_to=ReplyTo(
                "m_Ec4hO7bR2iD5gE8rE1pL4yN7oW0aB3cD6eF9gH2iJ5kL8mN1oP4qR7sT0uV3w", False
            ),
        )
    ),
    "text_with_link.json": events_only(
        TextMessage(
            PAGE,
            PSID,
            1717171765555,
            "m_Li9nK2wT5hT8eX1tA4tT7aC0hM3eN6tZ9xC2vB5nM8qW1eR4tY7uI0oP3aS6d",
            "Is this right? https://www.example.com/flu-season-guide",
            (Media("fallback", "https://www.example.com/flu-season-guide", "Flu season guide"),),
        )
    ),
    "reply_to.json": events_only(
        TextMessage(
            PAGE,
            PSID,
            1795022110653,
            "m_V4Kxhofmz4pIL8MtLbWxltiCHEWKDAacas85U0Rue7VrkJTJZvx9d4XpdHfmd9-Lyzqb_UEWZ2PVZpQQ-xuLCw",
            "Does that apply to kids too?",
            reply_to=ReplyTo(
                "m_EqoDpqi54BE4fYzR2IPTGMkBJMUC-aQALYCXeNGPLH1HJRt128kCorvC9uhLNhlcv9dkvCGZhI_0UuqIvgoHtQ",
                False,
            ),
        )
    ),
    "quick_reply.json": events_only(
        QuickReply(
            PAGE,
            PSID,
            1795017641619,
            "m_2Ees97qxtvdhd585lcaT4l64mdzuph75BDUy0a6ZI6YW0NswcIjfKeo1Q8-kzb4H50G0sySe8pKysuX9eg74zQ",
            "Fever",
            "SYMPTOM_FEVER",
        )
    ),
    "postback.json": events_only(
        Postback(
            PAGE,
            PSID,
            1795031048721,
            "m_MxX0TaSnqq-NhDgsdYMjP2l3h_WHEpTtSc1BIH9zdaDmu4cb6r1-ncvreNpOkjWJ3mT5UCZHG0RS-tDr5HWisQ",
            "Check symptoms",
            "CHECK_SYMPTOMS",
        )
    ),
    "postback_without_mid.json": events_only(
        Postback(PAGE, PSID, 1795039986789, None, "Talk to a nurse", "TALK_TO_NURSE")
    ),
    "get_started_referral.json": events_only(
        Postback(
            PAGE,
            PSID_2,
            1717171600123,
            "m_Gs9tR2eW5qA8zX1cV4bN7mK0lJ3hG6fD9sA2pO5iU8yT1rE4wQ7zX0cV3bN6m",
            "Get Started",
            "GET_STARTED",
            MME,
        )
    ),
    "image_attachment.json": events_only(
        Attachment(
            PAGE,
            PSID,
            1717171740111,
            "m_Im4gE7aT2tA5cH8mE1nT4oN7lY0rA3sH6iN9gZ2xC5vB8nM1qW4eR7tY0uI3o",
            (
                Media(
                    "image",
                    "https://scontent.xx.fbcdn.net/v/t1.15752-9/441234567_1234567890123456_n.jpg"
                    "?_nc_cat=101&ccb=1-7&oh=00_AYB&oe=6682F1A0",
                ),
            ),
        )
    ),
    # Old style: an image with a sticker_id is a sticker.
    "sticker_image.json": events_only(
        Attachment(
            PAGE,
            PSID,
            1717171750222,
            "m_St1cK3rO1dS7yL3aB4cD5eF6gH7iJ8kL9mN0oP1qR2sT3uV4wX5yZ6aB7cD8e",
            (Media("sticker", STICKER_URL, sticker_id=LIKE),),
        )
    ),
    "sticker.json": events_only(
        Attachment(
            PAGE,
            PSID,
            1785000000333,
            "m_St1cK3rN3wT9pE2aB4cD5eF6gH7iJ8kL9mN0oP1qR2sT3uV4wX5yZ6aB7cD8f",
            (Media("sticker", STICKER_URL, sticker_id=LIKE),),
        )
    ),
    "fallback.json": events_only(
        Attachment(
            PAGE,
            PSID,
            1717171760444,
            "m_Fa1lB4cK7sH2aR5eD8lI1nK4oN7lY0xC3vB6nM9qW2eR5tY8uI1oP4aS7dF0g",
            (Media("fallback", "https://www.example.com/flu-season-guide", "Flu season guide"),),
        )
    ),
    # Unreadable attachments are left out; the readable ones keep their order.
    "attachments_mixed.json": events_only(
        Attachment(
            PAGE,
            PSID,
            1717171770888,
            "m_Mx7aU2dI5oV8iD3eO6fI9lE2sA5bC8dE1fG4hI7jK0lM3nO6pQ9rS2tU5vW8x",
            (
                Media("audio", "https://cdn.fbsbx.com/v/t59.3654-21/voice_clip.mp4?_nc_cat=1"),
                Media("video", "https://video.xx.fbcdn.net/v/t42.3356-2/rash.mp4?_nc_cat=2"),
                Media("file", "https://cdn.fbsbx.com/v/t59.2708-21/lab_results.pdf?_nc_cat=3"),
            ),
        )
    ),
    # Location: url and title beside the payload, as Messenger sent them.
    "location.json": events_only(
        Attachment(
            PAGE,
            PSID,
            1717171780888,
            "m_Lo6cA9tI2oN5wH8eR1eA4mI7aT0cL3iN6iC9zX2cV5bN8mQ1wE4rT7yU0iO3p",
            (
                Media(
                    "location",
                    "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.bing.com%2Fmaps",
                    "Pinned Location",
                    latitude=37.566535,
                    longitude=126.977969,
                ),
            ),
        )
    ),
    "echo.json": echoes_only(
        Echo(
            PAGE,
            PSID,
            1717171718400,
            "m_Ec4hO7bR2iD5gE8rE1pL4yN7oW0aB3cD6eF9gH2iJ5kL8mN1oP4qR7sT0uV3w",
            OWN_APP,
            "unknown_app",  # parse_webhook was not told the bridge's own app id
            "bridge:job=42:part=0",
        ),
        skipped=("echo",),
    ),
    "echo_page_inbox.json": echoes_only(
        Echo(
            PAGE,
            PSID_2,
            1795089146163,
            "m_ske3LPdxdCGjw6lloKcPHPfZFp21uiKciMERrALFpl8rz_s-ErPzAvedFGxgitQYtvQbXexZraiUmDa48TNI2Q",
            PAGE_INBOX,
            "page_inbox",
        ),
        skipped=("echo",),
    ),
    "echo_page_inbox_standby.json": echoes_only(
        Echo(
            PAGE,
            PSID,
            1717172500200,
            "m_In8bO1xE4cH7oA0bC3dE6fG9hI2jK5lM8nO1pQ4rS7tU0vW3xY6zA9bC2dE5f",
            PAGE_INBOX,
            "page_inbox",
        ),
        Echo(
            PAGE,
            PSID,
            1717172500350,
            "m_In8bO1xE4cH7oA0bC3dE6fG9hI2jK5lM8nO1pQ4rS7tU0vW3xY6zA9bC2dE5g",
            PAGE_INBOX,
            "page_inbox",
            standby=True,
        ),
        skipped=("echo", "standby"),
    ),
    "delivery.json": skipped_only("delivery", "delivery"),
    "read.json": skipped_only("read"),
    "reaction.json": skipped_only("reaction", "reaction"),
    "standby.json": ParseResult(
        [],
        [Skipped("standby")] * 4,
        echoes=[
            Echo(
                PAGE,
                PSID_2,
                1795091383080,
                "m_E_UtClrnXBTPpyeyIm3LTEML4Kz8bDOsQhizhqwYbaUJEjyRlGwfjNWDiE8Q1azyLsHyb4-vpy5AGaS0CqZ_yA",
                PAGE_INBOX,
                "page_inbox",
                standby=True,
            )
        ],
        standby=[
            StandbyItem(PAGE, PSID_2, 1795091380680),
            StandbyItem(PAGE, PSID_2, 1795091381580),
        ],
    ),
    "pass_thread_control.json": ParseResult(
        [],
        [Skipped("pass_thread_control")],
        handovers=[
            Handover(
                PAGE,
                PSID_2,
                1795093615197,
                "pass",
                previous_owner=PAGE_INBOX,
                new_owner=OWN_APP,
                metadata="Nurse is done, back to the bot",
            )
        ],
    ),
    "policy_enforcement.json": ParseResult(
        [],
        [Skipped("policy_enforcement")],
        policy=[PolicyEnforcement(PAGE, 1795107022299, "warning", POLICY_WARNING)],
    ),
    "policy_enforcement_hyphenated_block_and_unblock.json": ParseResult(
        [],
        [Skipped("policy_enforcement")] * 2,
        policy=[
            PolicyEnforcement(PAGE, 1795107122299, "block", POLICY_BLOCK),
            PolicyEnforcement(PAGE, 1795107922299, "unblock"),
        ],
    ),
    "referral.json": events_only(Referral(PAGE, PSID, 1717174000100, MME)),
    "referral_ads.json": events_only(Referral(PAGE, PSID_2, 1795073504544, ADS)),
    # The notification_messages_token is a credential: not in the event, only in its update.
    "optin.json": ParseResult(
        [
            Optin(
                PAGE,
                PSID,
                1717175000100,
                optin_type="notification_messages",
                payload="FLU_ALERTS",
                title="Flu alerts",
                status="RESUME NOTIFICATIONS",
                frequency="WEEKLY",
                timezone="Asia/Seoul",
                token_expiry=1732727000000,
            )
        ],
        [],
        tokens=[
            TokenUpdate(
                PAGE,
                PSID,
                "7385628101237754021",
                topic="FLU_ALERTS",
                frequency="WEEKLY",
                timezone="Asia/Seoul",
                expires_at=1732727000000,
                status="active",
                updated_at=1717175000100,
            )
        ],
    ),
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


def test_every_expected_result_names_a_body_of_the_corpus() -> None:
    bodies = {
        path.name for path in CORPUS.glob("*.json") if not path.name.endswith(".expected.json")
    }
    assert set(EXPECTED) <= bodies


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_payload_files_are_shaped_like_meta_sends_them(name: str) -> None:
    body = load(name)
    assert body["object"] == "page"
    assert isinstance(body["entry"], list) and body["entry"]
    for entry in body["entry"]:
        assert entry["id"].isdigit()
        for item in entry.get("messaging", []) + entry.get("standby", []):
            parties = [item["recipient"], *([item["sender"]] if "sender" in item else [])]
            assert all(party["id"].isdigit() for party in parties)  # policy items: no sender
            if "message" in item:
                assert item["message"]["mid"].startswith("m_")


def test_unicode_payload_is_pure_ascii_on_the_wire_and_decodes_escapes() -> None:
    raw = (CORPUS / "text_unicode_escapes.json").read_bytes()
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
        ("unknown_event.json", "unknown"),
    ],
)
def test_items_not_for_the_bot_never_become_events(name: str, reason: str) -> None:
    result = parse_webhook(load(name))
    assert result.events == []
    assert result.skipped and {s.reason for s in result.skipped} == {reason}
    assert result.well_formed


def test_an_echo_in_standby_is_classified_and_counted_as_standby() -> None:
    result = parse_webhook(load("echo_page_inbox_standby.json"), app_id=OWN_APP)
    assert [(echo.standby, echo.origin) for echo in result.echoes] == [
        (False, "page_inbox"),
        (True, "page_inbox"),
    ]
    assert sorted(skip.reason for skip in result.skipped) == ["echo", "standby"]


def test_standby_user_message_is_skipped_even_though_it_looks_like_a_message() -> None:
    body = load("standby.json")
    standby_message = body["entry"][0]["standby"][0]
    # The same item under messaging[] would be an event for the bot.
    body["entry"][0]["messaging"] = [standby_message]
    result = parse_webhook(body)
    assert [type(event) for event in result.events] == [TextMessage]
    assert result.skipped == [Skipped("standby")] * 4  # the body's four standby items


@pytest.mark.parametrize(
    ("echo_app", "own_app", "origin"),
    [
        pytest.param(OWN_APP, OWN_APP, "bridge", id="own-app"),
        pytest.param("987654321", OWN_APP, "other_app", id="other-app"),
        pytest.param(PAGE_INBOX, OWN_APP, "page_inbox", id="page-inbox"),
        pytest.param(PAGE_INBOX, None, "page_inbox", id="page-inbox-without-own-id"),
        pytest.param(OWN_APP, None, "unknown_app", id="own-id-not-configured"),
        pytest.param(None, OWN_APP, "unknown_app", id="no-app-id-in-echo"),
    ],
)
def test_echo_is_classified_by_app_id_and_never_an_event(
    echo_app: str | None, own_app: str | None, origin: str
) -> None:
    body = load("echo.json")
    message = body["entry"][0]["messaging"][0]["message"]
    message.pop("app_id")
    if echo_app is not None:
        message["app_id"] = int(echo_app)  # Meta sends it as a number
    result = parse_webhook(body, app_id=own_app)
    assert result.events == []
    assert result.skipped == [Skipped("echo")]
    [echo] = result.echoes
    assert (echo.app_id, echo.origin) == (echo_app, origin)
    assert is_page_inbox_echo(echo) == (origin == "page_inbox")
    assert echo_origin(echo_app, own_app) == origin


def test_echo_with_attachments_or_a_quick_reply_is_still_only_an_echo() -> None:
    base = message_item({"mid": "m_e", "is_echo": True, "app_id": 1})
    for extra in (
        {"attachments": [{"type": "image", "payload": {"url": "https://x"}}]},
        {"quick_reply": {"payload": "P"}, "text": "t"},
    ):
        item = {**base, "message": {**base["message"], **extra}}
        assert is_echo(item)
        result = parse_webhook(body_with(item))
        assert (result.events, [e.mid for e in result.echoes]) == ([], ["m_e"])


@pytest.mark.parametrize(
    "item",
    [
        message_item({"mid": "m_1", "text": "hi"}),
        message_item({"mid": "m_1", "text": "hi", "is_echo": False}),
        {"sender": {"id": PSID}, "read": {"watermark": 1}},
        {"message": "TEST_MESSAGE"},
        "not an item",
    ],
)
def test_is_echo_is_false_for_everything_else(item: object) -> None:
    assert not is_echo(item)


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


def test_text_with_attachment_keeps_the_text_for_the_bot() -> None:
    [event] = parse_webhook(load("text_with_link.json")).events
    assert isinstance(event, TextMessage)
    assert bot_input(event) == "Is this right? https://www.example.com/flu-season-guide"
    assert [media.type for media in event.attachments] == ["fallback"]
    assert no_text_kind(event) is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("image_attachment.json", "image"),
        ("sticker_image.json", "like"),
        ("sticker.json", "like"),
        ("fallback.json", "fallback"),
        ("attachments_mixed.json", "audio"),
        ("location.json", "location"),
        ("referral.json", "referral"),
        ("referral_ads.json", "referral"),
        ("optin.json", "optin"),
    ],
)
def test_an_event_without_text_gives_the_bot_the_text_for_its_kind(name: str, kind: str) -> None:
    [event] = parse_webhook(load(name)).events
    assert no_text_kind(event) == kind
    assert bot_input(event) == kind  # by default, the kind's name
    assert bot_input(event, {kind: "something I cannot read"}) == "something I cannot read"
    assert bot_input(event, {"other": "x"}) == kind


@pytest.mark.parametrize(
    ("types", "kind"),
    [
        (["image", "image"], "image"),
        (["video", "image"], "video"),
        (["reel"], "other"),
        (["ig_post"], "other"),
        (["appointment_booking"], "other"),
        (["template"], "other"),
        (["something_new"], "other"),
        (["sticker"], "sticker"),
    ],
)
def test_attachment_kind_is_the_first_attachments_type(types: list[str], kind: str) -> None:
    assert attachment_kind(tuple(Media(t) for t in types)) == kind
    assert kind in NO_TEXT_KINDS


@pytest.mark.parametrize("sticker_id", ["369239263222822", "369239343222814", "369239383222810"])
def test_every_size_of_the_like_sticker_is_a_like(sticker_id: str) -> None:
    for media_type in ("sticker", "image"):
        item = message_item(
            {
                "mid": "m_like",
                "attachments": [{"type": media_type, "payload": {"sticker_id": int(sticker_id)}}],
            }
        )
        [event] = parse_webhook(body_with(item)).events
        assert isinstance(event, Attachment)
        [media] = event.attachments
        assert is_like(media) and media == Media("sticker", sticker_id=sticker_id)
        assert no_text_kind(event) == "like"


def test_another_sticker_is_a_sticker_and_a_like_beside_it_does_not_make_a_like() -> None:
    other = Media("sticker", sticker_id="126361874215276")
    like = Media("sticker", sticker_id=LIKE)
    assert not is_like(other)
    assert attachment_kind((other,)) == "sticker"
    assert attachment_kind((like, other)) == "sticker"
    assert attachment_kind((like, like)) == "like"


def test_one_sticker_sent_both_ways_during_the_transition_is_kept_once() -> None:
    both = [
        {"type": "image", "payload": {"url": STICKER_URL, "sticker_id": int(LIKE)}},
        {"type": "sticker", "payload": {"url": STICKER_URL, "sticker_id": int(LIKE)}},
    ]
    item = message_item({"mid": "m_both", "sticker_id": int(LIKE), "attachments": both})
    [event] = parse_webhook(body_with(item)).events
    assert isinstance(event, Attachment)
    assert event.attachments == (Media("sticker", STICKER_URL, sticker_id=LIKE),)


@pytest.mark.parametrize(
    ("attachment", "media"),
    [
        pytest.param({"type": "fallback"}, Media("fallback"), id="fallback-without-payload"),
        pytest.param(
            {"type": "fallback", "payload": None, "title": "Shared a post", "url": None},
            Media("fallback", title="Shared a post"),
            id="fallback-title-beside-payload",
        ),
        pytest.param(
            {"type": "location", "payload": {"coordinates": {"lat": "37.5", "long": 127}}},
            Media("location"),
            id="coordinates-not-numbers",
        ),
        pytest.param(
            {"type": "location", "payload": {"coordinates": {"lat": 0, "long": -0.5}}},
            Media("location", latitude=0.0, longitude=-0.5),
            id="coordinates-at-zero",
        ),
        pytest.param(
            {"type": "reel", "payload": {"url": "https://r", "title": "", "reel_video_id": "1"}},
            Media("reel", "https://r"),
            id="reel",
        ),
        pytest.param(
            {"type": "image", "payload": {"url": "https://x/\ud800.jpg"}},
            Media("image", "https://x/\ufffd.jpg"),
            id="lone-surrogate-replaced",
        ),
    ],
)
def test_attachments_are_read_defensively(attachment: dict[str, Any], media: Media) -> None:
    item = message_item({"mid": "m_a", "attachments": [attachment]})
    [event] = parse_webhook(body_with(item)).events
    assert isinstance(event, Attachment)
    assert event.attachments == (media,)


def test_a_message_from_an_ad_carries_its_referral() -> None:
    referral = {
        "ref": "winter",
        "ad_id": 120214455667788990,
        "source": "ADS",
        "type": "OPEN_THREAD",
    }
    item = message_item({"mid": "m_ad", "text": "Where?", "referral": referral})
    [event] = parse_webhook(body_with(item)).events
    assert event == TextMessage(
        PAGE,
        PSID,
        1717180000123,
        "m_ad",
        "Where?",
        referral=ReferralData("ADS", "OPEN_THREAD", "winter", "120214455667788990"),
    )


def test_get_started_from_an_ad_carries_the_ad() -> None:
    referral = {
        "source": "ADS",
        "type": "OPEN_THREAD",
        "ad_id": "120214455667788990",
        "ads_context_data": {"ad_title": "Flu shots", "photo_url": None, "flow_id": 7},
    }
    item = postback_item(payload="GET_STARTED", title="Get Started", referral=referral)
    [event] = parse_webhook(body_with(item)).events
    assert isinstance(event, Postback)
    assert bot_input(event) == "GET_STARTED"
    assert event.referral == ReferralData(
        "ADS",
        "OPEN_THREAD",
        ad_id="120214455667788990",
        ads_context=(("ad_title", "Flu shots"), ("flow_id", "7")),
    )


def test_a_referral_from_the_chat_plugin_keeps_its_page_address() -> None:
    item = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE},
        "timestamp": 1717180000001,
        "referral": {
            "ref": "pricing",
            "source": "CUSTOMER_CHAT_PLUGIN",
            "type": "OPEN_THREAD",
            "referer_uri": "https://clinic.example.com/pricing",
        },
    }
    [event] = parse_webhook(body_with(item)).events
    assert event == Referral(
        PAGE,
        PSID,
        1717180000001,
        ReferralData(
            "CUSTOMER_CHAT_PLUGIN",
            "OPEN_THREAD",
            "pricing",
            referer_uri="https://clinic.example.com/pricing",
        ),
    )


def test_a_stop_notifications_optin_and_a_classic_optin_are_events() -> None:
    stop = {
        "type": "notification_messages",
        "payload": "FLU_ALERTS",
        "notification_messages_token": "TOKEN-never-kept",
        "notification_messages_status": "STOP NOTIFICATIONS",
        "token_expiry_timestamp": "1732727000",
    }
    classic = {"ref": "send-to-messenger-7"}
    result = parse_webhook(
        body_with(
            {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": TS, "optin": stop},
            {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": TS, "optin": classic},
        )
    )
    assert result.events == [
        Optin(
            PAGE,
            PSID,
            TS,
            "notification_messages",
            payload="FLU_ALERTS",
            status="STOP NOTIFICATIONS",
            token_expiry=1732727000000,  # seconds, read as milliseconds like every time
        ),
        Optin(PAGE, PSID, TS, ref="send-to-messenger-7"),
    ]
    assert "TOKEN-never-kept" not in "".join(to_json(event) for event in result.events)


# --- page filter -------------------------------------------------------------------------------


def test_page_filter_keeps_only_that_page() -> None:
    body = load("two_pages.json")
    first = parse_webhook(body, page_id=PAGE)
    second = parse_webhook(body, page_id=PAGE_2)
    assert [event.page_id for event in first.events] == [PAGE]
    assert [event.page_id for event in second.events] == [PAGE_2]
    assert first.skipped == second.skipped == [Skipped("other_page")]


def test_page_filter_for_an_unknown_page_drops_every_entry() -> None:
    result = parse_webhook(load("batch.json"), page_id="999999999999999")
    assert result.events == [] and result.skipped == [Skipped("other_page")] * 2
    # Each Page not served, with how many items its entries held (for a warning metric).
    assert result.other_pages == {PAGE: 6}


def test_a_set_of_pages_keeps_their_entries_and_names_the_others() -> None:
    body = load("batch.json")
    body["entry"][1]["id"] = PAGE_2
    result = parse_webhook(body, pages={PAGE_2})
    assert [type(event) for event in result.events] == [Postback, TextMessage]
    assert result.other_pages == {PAGE: 3}
    both = parse_webhook(body, pages={PAGE, PAGE_2})
    assert both.other_pages == {} and both == parse_webhook(body)


def test_page_filter_matches_a_numeric_entry_id() -> None:
    item = message_item({"mid": "m_num", "text": "hi"})
    result = parse_webhook(body_with(item, entry_id=int(PAGE)), page_id=PAGE)
    assert [event.mid for event in result.events] == ["m_num"]


def test_page_filter_applies_to_standby_entries_too() -> None:
    assert parse_webhook(load("standby.json"), page_id=PAGE_2) == ParseResult(
        [], [Skipped("other_page")], other_pages={PAGE: 4}
    )


# --- thread control --------------------------------------------------------------------------


def handover_item(key: str, value: dict[str, Any], ts: int = 1717173000100) -> dict[str, Any]:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": ts, key: value}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        pytest.param(
            "take_thread_control",
            {"previous_owner_app_id": OWN_APP, "new_owner_app_id": PAGE_INBOX, "metadata": "x"},
            Handover(PAGE, PSID, 1717173000100, "take", OWN_APP, PAGE_INBOX, "x"),
            id="take",
        ),
        pytest.param(
            "request_thread_control",
            {"requested_owner_app_id": 263902037430900, "metadata": "a person asks"},
            Handover(PAGE, PSID, 1717173000100, "request", None, PAGE_INBOX, "a person asks"),
            id="request-numeric-app-id",
        ),
        pytest.param(
            "pass_thread_control",
            {"previous_owner_app_id": None, "new_owner_app_id": OWN_APP},
            Handover(PAGE, PSID, 1717173000100, "pass", None, OWN_APP),
            id="pass-from-idle",
        ),
    ],
)
def test_thread_control_items_are_handovers_not_events(
    key: str, value: dict[str, Any], expected: Handover
) -> None:
    result = parse_webhook(body_with(handover_item(key, value)))
    assert result.events == [] and result.handovers == [expected]
    assert result.skipped == [Skipped(key)]


def test_a_handover_in_standby_is_kept_and_counted_as_standby() -> None:
    body = body_with(handover_item("pass_thread_control", {"new_owner_app_id": PAGE_INBOX}))
    body["entry"][0]["standby"] = body["entry"][0].pop("messaging")
    result = parse_webhook(body)
    assert result.handovers == [
        Handover(PAGE, PSID, 1717173000100, "pass", None, PAGE_INBOX, standby=True)
    ]
    assert result.skipped == [Skipped("standby")] and result.standby == []


def test_a_handover_without_sender_is_skipped() -> None:
    item = handover_item("take_thread_control", {"new_owner_app_id": PAGE_INBOX})
    del item["sender"]
    assert parse_webhook(body_with(item)).skipped == [Skipped("no_sender")]


def test_thread_control_in_the_older_shape_names_only_one_app() -> None:
    # Bottender's, Botkit's and the Bot Framework's fixtures; app ids as strings or numbers.
    take = {"previous_owner_app_id": int(OWN_APP), "metadata": "agent"}
    give_back = {"new_owner_app_id": OWN_APP, "metadata": "bot"}
    body = body_with(
        handover_item("take_thread_control", take),
        handover_item("pass_thread_control", give_back, ts=1717173000200),
        handover_item("pass_thread_control", {"metadata": "only metadata"}, ts=1717173000300),
    )
    assert parse_webhook(body).handovers == [
        Handover(PAGE, PSID, 1717173000100, "take", OWN_APP, None, "agent"),
        Handover(PAGE, PSID, 1717173000200, "pass", None, OWN_APP, "bot"),
        Handover(PAGE, PSID, 1717173000300, "pass", None, None, "only metadata"),
    ]


def policy_item(key: str, value: object, ts: int = 1717175000100) -> dict[str, Any]:
    return {"recipient": {"id": PAGE}, "timestamp": ts, key: value}


@pytest.mark.parametrize("key", ["policy_enforcement", "policy-enforcement"])
def test_a_policy_action_is_read_in_either_spelling(key: str) -> None:
    result = parse_webhook(
        body_with(
            policy_item(key, {"action": "block", "reason": POLICY_BLOCK}),
            policy_item(key, {"action": "unblock"}, ts=1717175000200),
        )
    )
    assert result.policy == [
        PolicyEnforcement(PAGE, 1717175000100, "block", POLICY_BLOCK),
        PolicyEnforcement(PAGE, 1717175000200, "unblock"),
    ]
    assert result.events == [] and result.skipped == [Skipped("policy_enforcement")] * 2


@pytest.mark.parametrize(
    ("value", "action", "reason"),
    [
        pytest.param({"action": "block", "reason": "x" * 5000}, "block", "x" * 299 + "\u2026"),
        pytest.param({"action": "  ", "reason": "  "}, "unknown", None, id="blank"),
        pytest.param({"action": 7, "reason": ["no"]}, "7", None, id="odd-types"),
        pytest.param("block", "unknown", None, id="not-an-object"),
        pytest.param({"action": "a" * 100}, "a" * 40, None, id="long-action"),
    ],
)
def test_a_policy_action_is_cut_short_and_never_fails(
    value: object, action: str, reason: str | None
) -> None:
    [found] = parse_webhook(body_with(policy_item("policy_enforcement", value))).policy
    assert (found.action, found.reason) == (action, reason)


def test_a_policy_action_under_standby_is_kept() -> None:
    body = body_with(policy_item("policy-enforcement", {"action": "warning", "reason": "r"}))
    body["entry"][0]["standby"] = body["entry"][0].pop("messaging")
    result = parse_webhook(body)
    assert result.policy == [PolicyEnforcement(PAGE, 1717175000100, "warning", "r")]
    assert result.skipped == [Skipped("standby")] and result.standby == []


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
            message_item({"mid": "m_1", "text": "", "attachments": [{"payload": {}}, "x"]}),
            "bad_attachment",
            id="attachments-without-type",
        ),
        pytest.param(
            message_item({"mid": "m_1", "attachments": [{"type": "x" * 41}]}),
            "bad_attachment",
            id="attachment-type-too-long",
        ),
        pytest.param(message_item({"mid": "m_1", "attachments": []}), "no_text", id="no-items"),
        pytest.param(
            {"recipient": {"id": PAGE}, "timestamp": 1, "optin": {"ref": "r", "user_ref": "u"}},
            "no_sender",
            id="checkbox-optin-user-ref",
        ),
        pytest.param(
            {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "referral": {"type": "OPEN"}},
            "empty_referral",
            id="referral-saying-nothing",
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


@pytest.mark.parametrize("name", ["referral.json", "referral_ads.json", "optin.json"])
def test_events_without_a_mid_get_a_stable_derived_key(name: str) -> None:
    [first] = parse_webhook(load(name)).events
    redelivered = load(name)
    redelivered["entry"][0]["time"] += 60_000
    [again] = parse_webhook(redelivered).events
    assert dedupe_key(first) == dedupe_key(again)
    assert dedupe_key(first).startswith("derived:")


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(Referral(PAGE, PSID, 1717174000101, MME), id="referral-later"),
        pytest.param(
            Referral(PAGE, PSID, 1717174000100, ReferralData("SHORTLINK", "OPEN_THREAD", "other")),
            id="referral-other-ref",
        ),
        pytest.param(Optin(PAGE, PSID, 1717174000100, "notification_messages"), id="optin"),
        pytest.param(
            Postback(PAGE, PSID, 1717174000100, None, "", "flu-season-2024"), id="postback"
        ),
    ],
)
def test_derived_keys_of_different_events_differ(other: Event) -> None:
    assert dedupe_key(other) != dedupe_key(Referral(PAGE, PSID, 1717174000100, MME))


def test_derived_dedupe_key_is_stable_across_redeliveries() -> None:
    first = parse_webhook(load("postback_without_mid.json")).events[0]
    redelivered_body = load("postback_without_mid.json")
    redelivered_body["entry"][0]["time"] += 60_000  # a later delivery attempt
    redelivered_body["entry"][0]["messaging"][0]["timestamp"] = str(first.timestamp)
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
    Attachment(
        PAGE,
        PSID,
        1,
        "m_att",
        (
            Media("sticker", STICKER_URL, sticker_id=LIKE),
            Media("location", None, "Home", None, 1, 2),
        ),
        ReplyTo("m_prev", True),
        ADS,
    ),
    TextMessage(PAGE, PSID, 1, "m_ad", "from an ad", referral=ADS),
    Optin(PAGE, PSID, 1),
    TextMessage(PAGE, PSID, 1, "m_ko", "감기 증상이 뭐예요? \N{FACE WITH THERMOMETER}"),
    TextMessage(PAGE, PSID, 1, "m_ctl", 'quotes " and \\ and \n newlines \u2028'),
    Postback(PAGE, PSID, 1, None, "", "ONLY_PAYLOAD"),
    QuickReply(PAGE, PSID, 1, "m_qr", "Überweisung", "REFERRAL_ÄÖÜ"),
]


@pytest.mark.parametrize("event", ROUND_TRIP, ids=lambda e: f"{e.kind}-{dedupe_key(e)}")
def test_to_json_from_json_round_trip(event: Event) -> None:
    stored = to_json(event)
    assert json.loads(stored)["kind"] == event.kind
    rebuilt = from_json(stored)
    assert type(rebuilt) is type(event)
    assert rebuilt == event


def test_plain_events_are_stored_exactly_as_before_attachments_were_read() -> None:
    # Jobs written by this version stay readable by the previous one during a rolling deploy,
    # and jobs written by the previous one are read back unchanged.
    text = TextMessage(PAGE, PSID, 1717171717171, "m_t", "hi")
    postback = Postback(PAGE, PSID, 1717171717171, None, "Start", "GET_STARTED")
    assert to_json(text) == (
        f'{{"page_id":"{PAGE}","sender_id":"{PSID}","timestamp":1717171717171,'
        '"mid":"m_t","text":"hi","kind":"text"}'
    )
    assert to_json(postback) == (
        f'{{"page_id":"{PAGE}","sender_id":"{PSID}","timestamp":1717171717171,'
        '"mid":null,"title":"Start","payload":"GET_STARTED","kind":"postback"}'
    )
    assert from_json(to_json(text)) == text and from_json(to_json(postback)) == postback


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
