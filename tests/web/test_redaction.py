"""Redacting recorded deliveries: only structural values kept, consistent stand-ins for
PSIDs and words, the same events when replayed; over the whole webhook corpus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.messenger.events import ParseResult, TextMessage, bot_input, meta_bytes, parse_webhook
from bridge.web.redaction import pseudonym_id, redact, redaction_key, rule_for
from tests.conftest import TEST_SECRET
from tests.ops.corpus import OWN_APP_ID as OWN_APP
from tests.ops.corpus import body_names, body_path
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


# --- what was missed by a list of fields to replace ------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "written"),
    [
        pytest.param(
            "message_edit",
            {"mid": "m_e", "text": "my new address is 9 Oak Lane", "num_edit": 1},
            "9 Oak Lane",
            id="message-edit-text",
        ),
        pytest.param(
            "account_linking",
            {"status": "linked", "authorization_code": "AUTH-7731-secret"},
            "AUTH-7731-secret",
            id="account-linking-code",
        ),
        pytest.param(
            "take_thread_control",
            {"previous_owner_app_id": OWN_APP, "metadata": "Customer Jane Roe, card 4111"},
            "Jane Roe",
            id="handover-metadata",
        ),
        pytest.param(
            "pass_thread_control",
            {"new_owner_app_id": OWN_APP, "metadata": "she said: call me at 555-0100"},
            "555-0100",
            id="pass-metadata",
        ),
    ],
)
def test_what_a_deny_list_missed_is_replaced(
    field: str, value: dict[str, Any], written: str
) -> None:
    redacted = redact(body_with(item("4455667788990011", **{field: value})), KEY)
    assert written not in json.dumps(redacted)
    kept = redacted["entry"][0]["messaging"][0][field]  # type: ignore[index]
    assert set(kept) == set(value)  # the shape stays; app ids, status and mids too
    for name in ("mid", "status", "previous_owner_app_id", "new_owner_app_id", "num_edit"):
        assert kept.get(name) == value.get(name)


def test_fields_meta_adds_later_are_replaced_and_keys_stay() -> None:
    body = body_with(
        item("111", {"mid": "m_n", "text": "hi", "nlp": {"entities": {"name": ["Ana Silva"]}}}),
        item("111", future_event={"summary": "Ana asked about her test results", "score": 3}),
    )
    body["entry"][0]["hop_context"] = [{"app_id": 42, "metadata": "lead: Ana Silva, Lisbon"}]
    redacted = redact(body, KEY)
    text = json.dumps(redacted)
    assert "Ana" not in text and "Lisbon" not in text
    entry = redacted["entry"][0]  # type: ignore[index]
    assert entry["messaging"][1]["future_event"]["score"] == 3  # numbers stay
    assert entry["hop_context"][0]["app_id"] == 42
    assert list(entry["messaging"][0]["message"]["nlp"]["entities"]) == ["name"]


@pytest.mark.parametrize(
    "path",
    [
        "message.text",
        "message.metadata",
        "message.attachments.payload.url",
        "message.attachments.payload.title",
        "message.attachments.title",
        "message.attachments.payload.coordinates.lat",
        "message_edit.text",
        "account_linking.authorization_code",
        "pass_thread_control.metadata",
        "take_thread_control.metadata",
        "request_thread_control.metadata",
        "optin.user_ref",
        "optin.notification_messages_token",
        "optin.notification_messages_timezone",
        "referral.referer_uri",
        "referral.ads_context_data.ad_title",
        "sender.user_ref",
        "sender.id",
        "recipient.id",
        "response_feedback.feedback",
    ],
)
def test_what_people_write_or_identifies_them_is_not_structural(path: str) -> None:
    for where in ("messaging", "standby"):
        assert rule_for(("entry", where, *path.split("."))) != "keep"


# --- the whole corpus ------------------------------------------------------------------------


def leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every scalar of a decoded body with its key path (list positions left out)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, (*path, str(key)))
    elif isinstance(value, list):
        for inner in value:
            yield from leaves(inner, path)
    else:
        yield path, value


@pytest.mark.parametrize("name", body_names())
def test_no_string_outside_the_allow_list_survives_in_the_corpus(name: str) -> None:
    original = json.loads(body_path(name).read_bytes())
    redacted = redact(original, KEY)
    strings = [(p, v) for p, v in leaves(original) if isinstance(v, str) and v.strip()]
    allowed = [v for p, v in strings if rule_for(p) == "keep"]
    out_strings = {v for _, v in leaves(redacted) if isinstance(v, str)}
    for path, value in strings:
        if rule_for(path) == "keep" or any(value in kept for kept in allowed):
            continue  # kept as structural here or elsewhere in the body (a Page id, say)
        assert value not in out_strings, f"{'.'.join(path)} survived: {value!r}"
        if len(value) >= 4:  # nor inside another value (keys are kept: "csat_q1")
            inside = [out for out in out_strings if value in out]
            assert not inside, f"{'.'.join(path)} survived in {inside}: {value!r}"
    assert [p for p, _ in leaves(redacted)] == [p for p, _ in leaves(original)]


def shape(parsed: ParseResult) -> tuple[Any, ...]:
    """What a parse says, with ids by order of appearance (stand-ins are other ids) and
    without what people wrote."""
    ids: dict[str, int] = {}

    def who(value: str) -> int:
        return ids.setdefault(value, len(ids))

    events = [
        (e.kind, who(e.page_id), who(e.sender_id), e.timestamp, e.mid)
        + (() if isinstance(e, TextMessage) else (bot_input(e),))
        for e in parsed.events
    ]
    echoes = [
        (who(e.page_id), who(e.recipient_id), e.timestamp, e.mid, e.app_id, e.origin, e.standby)
        for e in parsed.echoes
    ]
    handovers = [
        (who(h.page_id), who(h.user_id), h.timestamp, h.action, h.previous_owner, h.new_owner)
        for h in parsed.handovers
    ]
    standby = [(who(s.page_id), who(s.user_id), s.timestamp) for s in parsed.standby]
    skipped = sorted(s.reason for s in parsed.skipped)
    return events, echoes, handovers, standby, skipped, parsed.well_formed


@pytest.mark.parametrize("name", body_names())
def test_a_redacted_corpus_body_parses_as_the_same_events(name: str) -> None:
    original = json.loads(body_path(name).read_bytes())
    redacted = json.loads(meta_bytes(redact(original, KEY)))  # as the recording holds it
    assert shape(parse_webhook(redacted, app_id=OWN_APP)) == shape(
        parse_webhook(original, app_id=OWN_APP)
    )
