"""Webhook deliveries as Meta sends them (bridge/messenger/deliveries.py): the bytes, the
signature over them, and the items for typed text and tapped choices."""

from __future__ import annotations

import json

from bridge.messenger.deliveries import (
    Choice,
    build_delivery,
    choice_item,
    delivery_headers,
    new_mid,
    text_item,
)
from bridge.messenger.events import Postback, QuickReply, TextMessage, parse_webhook
from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature, sign
from tests.conftest import TEST_SECRET
from tests.support.ids import PAGE_ID, PSID

NOW_MS = 1_700_000_000_123
GRINNING = "\U0001f600"
TEXT = f"héllo / 안녕 {GRINNING} </script> 100% a@b"


# --- build_delivery, text_item, choice_item ----------------------------------------------------


def test_build_delivery_is_ascii_with_escapes_like_meta() -> None:
    body = build_delivery(PAGE_ID, PSID, text_item(TEXT, "m_1"), NOW_MS)
    raw = body.decode("ascii")  # raises if any byte is not ASCII
    assert "\\u00e9" in raw
    assert "\\uc548\\ub155" in raw  # 안녕
    assert "\\ud83d\\ude00" in raw  # the emoji as a surrogate pair
    assert "\\u003C\\/script>" in raw
    assert "100\\u0025 a\\u0040b" in raw
    assert "/" not in raw.replace("\\/", "")
    assert not {"<", "%", "@"} & set(raw)
    assert ": " not in raw and ", " not in raw  # compact separators


def test_build_delivery_parses_back_to_one_messaging_item() -> None:
    body = build_delivery(PAGE_ID, PSID, text_item(TEXT, "m_1"), NOW_MS)
    assert json.loads(body) == {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": NOW_MS,
                "messaging": [
                    {
                        "sender": {"id": PSID},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": NOW_MS,
                        "message": {"mid": "m_1", "text": TEXT},
                    }
                ],
            }
        ],
    }
    assert parse_webhook(json.loads(body), page_id=PAGE_ID).events == [
        TextMessage(PAGE_ID, PSID, NOW_MS, "m_1", TEXT)
    ]


def test_the_signature_covers_the_exact_bytes() -> None:
    body = build_delivery(PAGE_ID, PSID, text_item(TEXT, "m_1"), NOW_MS)
    assert is_valid_signature(TEST_SECRET, body, sign(TEST_SECRET, body))
    same_json = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":"))
    assert same_json.encode() != body
    assert not is_valid_signature(TEST_SECRET, same_json.encode(), sign(TEST_SECRET, body))


def test_text_item() -> None:
    assert text_item("hi there", "m_2") == {"message": {"mid": "m_2", "text": "hi there"}}


def test_choice_item_for_a_quick_reply() -> None:
    item = choice_item(Choice("List conditions", "list", "quick_reply"), "m_3")
    assert item == {
        "message": {"mid": "m_3", "text": "List conditions", "quick_reply": {"payload": "list"}}
    }
    body = build_delivery(PAGE_ID, PSID, item, NOW_MS)
    assert parse_webhook(json.loads(body)).events == [
        QuickReply(PAGE_ID, PSID, NOW_MS, "m_3", "List conditions", "list")
    ]


def test_choice_item_for_a_postback() -> None:
    item = choice_item(Choice("Get Started", "GET_STARTED", "postback"), "m_4")
    assert item == {"postback": {"mid": "m_4", "title": "Get Started", "payload": "GET_STARTED"}}
    body = build_delivery(PAGE_ID, PSID, item, NOW_MS)
    assert parse_webhook(json.loads(body)).events == [
        Postback(PAGE_ID, PSID, NOW_MS, "m_4", "Get Started", "GET_STARTED")
    ]


def test_the_headers_are_json_and_the_signature_over_the_bytes() -> None:
    body = build_delivery(PAGE_ID, PSID, text_item(TEXT, "m_5"), NOW_MS)
    assert delivery_headers(body, TEST_SECRET) == {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(TEST_SECRET, body),
    }


def test_each_new_mid_is_new_and_shaped_like_meta_s() -> None:
    first, second = new_mid(), new_mid()
    assert first != second
    assert first.startswith("m_") and first.isascii()
