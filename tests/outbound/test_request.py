"""Reading an outbound request: every rule of the body, and never anything but a clear
``InvalidRequest`` for any JSON a client may send."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import InvalidRequest
from bridge.messenger.limits import TEXT_MAX
from bridge.outbound.request import MAX_PARTS, parse_request, resolve_page

PSID = "2000000000000001"


def body(**fields: Any) -> dict[str, Any]:
    return {"recipient": {"id": PSID}, "text": "How are you feeling today?", **fields}


def invalid(value: object) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_request(value)
    return caught.value


def test_a_text_to_a_psid_is_a_response_by_default() -> None:
    request = parse_request(body())
    assert request.psid == PSID and request.token is None
    assert request.messages == ({"text": "How are you feeling today?"},)
    assert (request.messaging_type, request.tag, request.lex_text) == ("RESPONSE", None, None)


def test_a_long_text_is_split_like_a_bot_reply() -> None:
    words = "word " * 900  # 4500 characters
    request = parse_request(body(text=words))
    assert len(request.messages) == 3
    assert all(len(m["text"]) < TEXT_MAX for m in request.messages)


def test_a_text_of_too_many_parts_is_refused() -> None:
    problem = invalid(body(text="word " * (TEXT_MAX * MAX_PARTS // 4)))
    assert problem.field == "text" and "at most 10" in problem.message


def test_a_message_object_is_checked_against_the_send_api_limits() -> None:
    replies = [{"content_type": "text", "title": f"t{i}", "payload": "p"} for i in range(14)]
    problem = invalid(
        {"recipient": {"id": PSID}, "message": {"text": "pick", "quick_replies": replies}}
    )
    assert problem.field == "message" and "13" in problem.message
    fine = parse_request({"recipient": {"id": PSID}, "message": {"text": "hi"}})
    assert fine.messages == ({"text": "hi"},)


def test_lex_takes_a_text_of_lex_size() -> None:
    request = parse_request({"recipient": {"id": PSID}, "lex": {"text": "remind me"}})
    assert request.lex_text == "remind me" and request.messages == ()
    assert invalid({"recipient": {"id": PSID}, "lex": {"text": "x" * 1025}}).field == "lex.text"
    assert invalid({"recipient": {"id": PSID}, "lex": "hi"}).field == "lex"


@pytest.mark.parametrize(
    "content",
    [{}, {"text": "a", "lex": {"text": "b"}}, {"text": "a", "message": {"text": "b"}}],
)
def test_exactly_one_content(content: dict[str, Any]) -> None:
    problem = invalid({"recipient": {"id": PSID}, **content})
    assert "exactly one of text, message, lex" in problem.message


def test_human_agent_is_the_one_tag() -> None:
    request = parse_request(body(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT"))
    assert (request.messaging_type, request.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert parse_request(body(messaging_type="UPDATE")).messaging_type == "UPDATE"


@pytest.mark.parametrize(
    "tag", ["ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"]
)
def test_retired_tags_are_refused_with_the_reason(tag: str) -> None:
    problem = invalid(body(messaging_type="MESSAGE_TAG", tag=tag))
    assert (
        problem.field == "tag" and "retired" in problem.message and "27 Apr 2026" in problem.message
    )


@pytest.mark.parametrize("tag", ["CUSTOMER_FEEDBACK", "SHIPPING_UPDATE", "", 7, None])
def test_other_tags_are_refused(tag: object) -> None:
    problem = invalid(body(messaging_type="MESSAGE_TAG", tag=tag))
    assert problem.field == "tag" and "HUMAN_AGENT" in problem.message


def test_a_tag_needs_message_tag_and_a_bot_answer_may_not_use_human_agent() -> None:
    assert invalid(body(tag="HUMAN_AGENT")).field == "tag"
    assert invalid(body(messaging_type="response")).field == "messaging_type"
    problem = invalid(
        {
            "recipient": {"id": PSID},
            "lex": {"text": "hi"},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
        }
    )
    assert problem.field == "tag" and "person" in problem.message


def test_a_token_recipient_takes_no_messaging_type() -> None:
    request = parse_request(
        {"recipient": {"notification_messages_token": "tok-123"}, "text": "Offer inside"}
    )
    assert request.token == "tok-123" and request.psid is None and request.messaging_type == ""
    assert "tok-123" not in repr(request) and "Offer" not in repr(request)
    problem = invalid(
        {"recipient": {"notification_messages_token": "t"}, "text": "x", "messaging_type": "UPDATE"}
    )
    assert problem.field == "messaging_type"


@pytest.mark.parametrize(
    ("recipient", "field"),
    [
        (None, "recipient"),
        ("2000", "recipient"),
        ({}, "recipient"),
        ({"id": PSID, "notification_messages_token": "t"}, "recipient"),
        ({"id": "abc"}, "recipient.id"),
        ({"id": 2000}, "recipient.id"),
        ({"notification_messages_token": ""}, "recipient.notification_messages_token"),
    ],
)
def test_bad_recipients_name_the_field(recipient: object, field: str) -> None:
    assert invalid({"recipient": recipient, "text": "x"}).field == field


def test_unknown_fields_and_odd_bodies_are_named() -> None:
    assert invalid(body(txet="typo")).field == "txet"
    assert invalid([1, 2]).field == ""
    assert invalid(body(idempotency_key="k" * 201)).field == "idempotency_key"
    assert invalid(body(page_id="12a")).field == "page_id"
    assert parse_request(body(idempotency_key="k" * 200)).idempotency_key == "k" * 200


def test_the_page_is_the_only_one_or_named() -> None:
    assert resolve_page(None, ["111"]) == "111"
    assert resolve_page("222", ["111", "222"]) == "222"
    with pytest.raises(InvalidRequest, match="several Pages"):
        resolve_page(None, ["111", "222"])
    with pytest.raises(InvalidRequest, match="not a Page this bridge serves"):
        resolve_page("333", ["111"])
    with pytest.raises(InvalidRequest, match="FB_PAGE_ID"):
        resolve_page(None, [])
    assert resolve_page("333", []) == "333"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
KNOWN = st.sampled_from(
    ["recipient", "page_id", "text", "message", "lex", "messaging_type", "tag", "idempotency_key"]
)


@given(st.dictionaries(KNOWN, JSON, max_size=8) | JSON)
def test_any_json_is_read_or_refused_with_a_field(value: object) -> None:
    try:
        request = parse_request(value)
    except InvalidRequest as problem:
        assert isinstance(problem.field, str) and problem.message
    else:
        assert (request.psid is None) != (request.token is None)
        assert bool(request.messages) != (request.lex_text is not None)


@given(
    st.text(min_size=1, max_size=6000).filter(lambda t: t.strip()),
    st.sampled_from(["RESPONSE", "UPDATE", "MESSAGE_TAG"]),
)
def test_a_valid_text_becomes_parts_within_the_limits(text: str, messaging_type: str) -> None:
    extra = {"tag": "HUMAN_AGENT"} if messaging_type == "MESSAGE_TAG" else {}
    try:
        request = parse_request(body(text=text, messaging_type=messaging_type, **extra))
    except InvalidRequest as problem:
        assert problem.field == "text"
        return
    assert 1 <= len(request.messages) <= MAX_PARTS
    assert all(0 < len(m["text"]) < TEXT_MAX for m in request.messages)
