"""``to_json`` writes what ``json.dumps(asdict(event))`` wrote (less fields at their default),
for any event: a property test over generated events of every kind."""

from __future__ import annotations

import json
import typing
from dataclasses import MISSING, asdict, fields
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

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
    from_json,
    to_json,
)


def asdict_json(event: Event) -> str:
    """The serialisation ``to_json`` replaced: ``asdict``, then fields at their default
    (but ``kind``) left out."""
    stored = asdict(event)
    for item in fields(event):
        if item.name != "kind" and item.default is not MISSING:
            if getattr(event, item.name) == item.default:
                del stored[item.name]
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


def values_of(cls: type) -> Any:
    """Instances of a record with every field drawn from its type hint, and each field with a
    default at that default half of the time (the values ``to_json`` leaves out)."""
    hints = typing.get_type_hints(cls)
    drawn: dict[str, Any] = {}
    for item in fields(cls):
        if item.name == "kind":
            continue
        inferred = st.from_type(hints[item.name])
        has_default = item.default is not MISSING
        drawn[item.name] = st.one_of(st.just(item.default), inferred) if has_default else inferred
    return st.builds(cls, **drawn)


for _nested in (Media, ReplyTo, ReferralData):
    st.register_type_strategy(_nested, values_of(_nested))

EVENTS = st.one_of(
    *(values_of(cls) for cls in (TextMessage, QuickReply, Postback, Attachment, Referral, Optin))
)


@given(EVENTS)
@settings(max_examples=400, deadline=None)
def test_to_json_is_what_asdict_wrote(event: Event) -> None:
    assert to_json(event) == asdict_json(event)


@given(EVENTS)
@settings(max_examples=200, deadline=None)
def test_what_to_json_wrote_reads_back(event: Event) -> None:
    assume(not _has_nan(event))
    assert from_json(to_json(event)) == event


def _has_nan(event: Event) -> bool:
    return "NaN" in asdict_json(event)
