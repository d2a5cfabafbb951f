"""bridge.bots.attributes: how events are described to the bot in ``x-bridge:`` request
attributes, and how the description is kept within Lex's size limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.bots.attributes import BUDGET, PREFIX, bridge_attributes, describe, encode
from bridge.messenger.events import (
    Attachment,
    Event,
    Media,
    Optin,
    Postback,
    QuickReply,
    Referral,
    ReferralData,
    ReplyTo,
    TextMessage,
    parse_webhook,
)
from tests.support.ids import CORPUS_PAGE_ID as PAGE
from tests.support.ids import CORPUS_PSID as PSID

CORPUS = Path(__file__).parents[1] / "fixtures" / "webhooks"
LIKE = "369239263222822"
ADS = ReferralData(
    "ADS",
    "OPEN_THREAD",
    "winter",
    "120214455667788990",
    ads_context=(("ad_title", "Flu shots near you"), ("post_id", "1_2")),
)


def size(attributes: dict[str, str]) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in attributes.items())


def decoded(attributes: dict[str, str]) -> dict[str, Any]:
    assert all(key.startswith(PREFIX) for key in attributes)
    return {key[len(PREFIX) :]: json.loads(value) for key, value in attributes.items()}


def images(count: int, url_length: int = 300) -> Attachment:
    media = tuple(
        Media("image", f"https://scontent.xx.fbcdn.net/{n:02d}/" + "p" * url_length)
        for n in range(count)
    )
    return Attachment(PAGE, PSID, 1, "m_imgs", media)


# --- what is described -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        TextMessage(PAGE, PSID, 1, "m_t", "hello"),
        QuickReply(PAGE, PSID, 1, "m_q", "Fever", "FEVER"),
        Postback(PAGE, PSID, 1, None, "Get Started", "GET_STARTED"),
    ],
)
def test_plain_text_and_taps_add_nothing(event: Event) -> None:
    assert bridge_attributes(event) == {}


def test_an_attachment_only_message() -> None:
    event = Attachment(
        PAGE,
        PSID,
        1,
        "m_a",
        (
            Media("sticker", "https://x/like.png", sticker_id=LIKE),
            Media("location", "https://maps", "Pinned", latitude=37.5, longitude=127.0),
            Media("fallback", title="Shared a post"),
        ),
        ReplyTo("m_prev", True),
        ADS,
    )
    assert decoded(bridge_attributes(event)) == {
        "no-text": "sticker",
        "attachments": [
            {"type": "sticker", "url": "https://x/like.png", "sticker_id": LIKE, "like": True},
            {
                "type": "location",
                "url": "https://maps",
                "title": "Pinned",
                "coordinates": {"lat": 37.5, "long": 127.0},
            },
            {"type": "fallback", "title": "Shared a post"},
        ],
        "reply-to": {"mid": "m_prev", "is_self_reply": True},
        "referral": {
            "source": "ADS",
            "type": "OPEN_THREAD",
            "ref": "winter",
            "ad_id": "120214455667788990",
            "ads_context_data": {"ad_title": "Flu shots near you", "post_id": "1_2"},
        },
    }


def test_typed_text_with_a_link_preview_says_nothing_about_missing_text() -> None:
    event = TextMessage(PAGE, PSID, 1, "m_t", "see https://x", (Media("fallback", "https://x"),))
    assert decoded(bridge_attributes(event)) == {
        "attachments": [{"type": "fallback", "url": "https://x"}]
    }


def test_get_started_from_a_link_carries_the_ref() -> None:
    event = Postback(
        PAGE,
        PSID,
        1,
        "m_p",
        "Get Started",
        "GET_STARTED",
        ReferralData("SHORTLINK", "OPEN_THREAD", "flu"),
    )
    assert decoded(bridge_attributes(event)) == {
        "referral": {"source": "SHORTLINK", "type": "OPEN_THREAD", "ref": "flu"}
    }


def test_a_referral_and_an_optin() -> None:
    referral = Referral(PAGE, PSID, 1, ReferralData("SHORTLINK", "OPEN_THREAD", "flu"))
    assert decoded(bridge_attributes(referral)) == {
        "no-text": "referral",
        "referral": {"source": "SHORTLINK", "type": "OPEN_THREAD", "ref": "flu"},
    }
    optin = Optin(
        PAGE,
        PSID,
        1,
        "notification_messages",
        payload="FLU_ALERTS",
        status="STOP NOTIFICATIONS",
        token_expiry=1732727000000,
    )
    assert decoded(bridge_attributes(optin)) == {
        "no-text": "optin",
        "optin": {
            "type": "notification_messages",
            "payload": "FLU_ALERTS",
            "notification_messages_status": "STOP NOTIFICATIONS",
            "token_expiry_timestamp": 1732727000000,
        },
    }


def test_values_are_compact_json_that_keeps_non_ascii_text() -> None:
    event = Attachment(PAGE, PSID, 1, "m_k", (Media("fallback", title="독감 안내 \N{MICROBE}"),))
    attributes = bridge_attributes(event)
    assert attributes["x-bridge:attachments"] == '[{"type":"fallback","title":"독감 안내 🦠"}]'


# --- within Lex's limits -----------------------------------------------------------------------


def test_a_small_description_is_not_cut() -> None:
    attributes = bridge_attributes(images(3))
    assert "x-bridge:truncated" not in attributes
    assert len(decoded(attributes)["attachments"]) == 3


def test_thirty_images_keep_the_leading_ones_whole_within_the_budget() -> None:
    attributes = bridge_attributes(images(30))
    assert size(attributes) <= BUDGET
    values = decoded(attributes)
    kept = values["attachments"]
    assert 5 < len(kept) < 30
    assert kept == describe(images(30))["attachments"][: len(kept)]  # leading, whole, URLs kept
    assert values["truncated"] == ["x-bridge:attachments"]
    assert values["no-text"] == "image"
    # One more image (with its comma) would not have fitted.
    one_more = len(json.dumps(kept[0], separators=(",", ":"))) + 1
    assert BUDGET - size(attributes) < one_more


def test_an_attachment_too_big_on_its_own_loses_its_longest_strings() -> None:
    event = Attachment(
        PAGE,
        PSID,
        1,
        "m_big",
        (Media("fallback", "https://example.com/" + "u" * 5000, "A title"),),
        ReplyTo("m_prev"),
    )
    attributes = bridge_attributes(event)
    assert size(attributes) <= BUDGET
    assert decoded(attributes) == {
        "no-text": "fallback",
        "attachments": [{"type": "fallback", "title": "A title"}],
        "reply-to": {"mid": "m_prev", "is_self_reply": None},
        "truncated": ["x-bridge:attachments"],
    }


def test_sizes_are_counted_in_utf8_bytes() -> None:
    title = "독" * 1500  # 1500 characters, 4500 bytes
    event = Attachment(PAGE, PSID, 1, "m_ko", (Media("fallback", title=title),))
    attributes = bridge_attributes(event)
    assert size(attributes) <= BUDGET
    assert decoded(attributes)["attachments"] == [{"type": "fallback"}]


def test_a_tiny_budget_drops_whole_attributes_least_useful_first() -> None:
    described = describe(
        Attachment(PAGE, PSID, 1, "m_a", (Media("image", "https://x/1.jpg"),), None, ADS)
    )
    attributes = encode(described, budget=150)
    assert size(attributes) <= 150
    values = decoded(attributes)
    assert "attachments" not in values
    assert values["no-text"] == "image"
    assert "x-bridge:attachments" in values["truncated"]


def test_a_budget_too_small_for_anything_still_returns() -> None:
    attributes = encode(describe(images(2)), budget=10)
    assert decoded(attributes) == {
        "truncated": ["x-bridge:attachments", "x-bridge:no-text"],
    }


def test_every_corpus_event_is_described_within_the_budget() -> None:
    described = 0
    for path in sorted(CORPUS.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        for event in parse_webhook(json.loads(path.read_bytes())).events:
            attributes = bridge_attributes(event)
            assert size(attributes) <= BUDGET, path.name
            decoded(attributes)  # every key prefixed, every value JSON
            described += bool(attributes)
    assert described >= 15
