"""Redaction over generated deliveries: random JSON under messaging items, with the keys Meta
uses and any others. No string outside the allow-list survives, every key and the shape stay,
the same body always gets the same stand-ins, a second pass changes only the PSIDs, and what
the body says to the parser stays the same."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.messenger.events import parse_webhook
from bridge.web.redaction import is_stand_in, redact, redaction_key, rule_for
from tests.conftest import TEST_SECRET
from tests.support.ids import PAGE_ID
from tests.web.test_redaction import KEY, leaves, shape
from tests.web.test_webhook_properties import deliveries

# Keys of Meta's payloads, structural or not, so generated paths hit the allow-list.
META_KEYS = (
    "message mid text attachments payload type url title sticker_id coordinates lat long "
    "quick_reply postback referral ref source ad_id ads_context_data photo_url referer_uri "
    "optin user_ref notification_messages_token sender recipient id timestamp metadata "
    "take_thread_control pass_thread_control previous_owner_app_id new_owner_app_id "
    "message_edit account_linking authorization_code status policy_enforcement "
    "policy-enforcement action reason reaction emoji delivery mids watermark read app_roles "
    "is_echo app_id hop_context"
).split()
keys = st.one_of(st.sampled_from(META_KEYS), st.text(max_size=6))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "  ", "\ud800", "안녕", PAGE_ID, "6789012345678901", "https://x.y/z"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=16,
)
items = st.dictionaries(keys, values, max_size=5)
bodies = st.builds(
    lambda messaging, standby, time: {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": time, "messaging": messaging, "standby": standby}],
    },
    st.lists(items, max_size=3),
    st.lists(items, max_size=2),
    values,
)
EXAMPLES = settings(max_examples=200, deadline=None)


def same(before: object, after: object) -> bool:
    """Equal and of one type (NaN is the same as NaN)."""
    if isinstance(before, float) and isinstance(after, float) and math.isnan(before):
        return math.isnan(after)
    return type(before) is type(after) and before == after


def is_person(value: object) -> bool:
    """A sender or recipient id that is a person's: a non-blank id other than the Page's."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    return bool(str(value).strip()) and str(value) != PAGE_ID


def pairs(body: Any) -> list[tuple[tuple[str, ...], Any, Any]]:
    original, redacted = list(leaves(body)), list(leaves(redact(body, KEY)))
    assert [path for path, _ in original] == [path for path, _ in redacted]
    return [(path, a, b) for (path, a), (_, b) in zip(original, redacted, strict=True)]


@given(bodies)
@EXAMPLES
def test_no_string_outside_the_allow_list_survives(body: Any) -> None:
    stand_ins: dict[tuple[str, bool], str] = {}
    for path, before, after in pairs(body):
        rule = rule_for(path)
        if rule == "keep":
            assert same(before, after)
        elif rule == "party" and is_person(before):
            assert isinstance(after, str) and after.isdigit() and after != str(before)
        elif rule == "party":  # the Page's id, a blank one, or no id at all
            assert same(before, after) or (isinstance(before, float) and after == 0.0)
        elif isinstance(before, str) and before.strip() and not is_stand_in(before):
            assert is_stand_in(after) and after != before, (path, before, after)
            seen = stand_ins.setdefault((before, after.startswith("https://")), after)
            assert seen == after  # the same words, the same stand-in
        elif rule == "zero" and isinstance(before, int | float) and not isinstance(before, bool):
            assert after == 0 or same(before, after)  # what is no number stays no number
        else:
            assert same(before, after), (path, before, after)


@given(bodies)
@EXAMPLES
def test_every_key_and_the_shape_of_the_body_stay(body: Any) -> None:
    def skeleton(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: skeleton(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [skeleton(inner) for inner in value]
        return None

    assert skeleton(redact(body, KEY)) == skeleton(body)
    for path, before, after in pairs(body):
        if rule_for(path) != "party":
            assert type(after) is type(before)  # numbers stay numbers, strings strings


@given(bodies)
@EXAMPLES
def test_redaction_is_deterministic_and_a_second_pass_changes_only_psids(body: Any) -> None:
    once = redact(body, KEY)
    again = redact(json.loads(json.dumps(body)), redaction_key(TEST_SECRET))
    assert json.dumps(again) == json.dumps(once)  # NaN compares as text
    for (path, before), (_, after) in zip(leaves(once), leaves(redact(once, KEY)), strict=True):
        if rule_for(path) != "party":
            assert same(before, after), path


@given(deliveries)
@settings(max_examples=300, deadline=None)
def test_a_redacted_delivery_says_the_same_to_the_parser(body: Any) -> None:
    assert shape(parse_webhook(redact(body, KEY))) == shape(parse_webhook(body))
