"""What the bridge tells the bot about an event beyond its text, as Lex request attributes.

Lex hands request attributes to the Lambda code hook on every turn; they do not persist. Keys
that start with ``x-amz-lex:`` are reserved for Lex; the bridge's own start with ``x-bridge:``
and each value is JSON (attributes are string→string maps):

- ``x-bridge:attachments``: ``[{"type": "image", "url": …}, {"type": "sticker", "sticker_id":
  "369239263222822", "like": true}, {"type": "location", "coordinates": {"lat": …, "long": …}},
  …]`` (``url``, ``title``, ``sticker_id``, ``like``, ``coordinates`` only when known)
- ``x-bridge:no-text``: the kind (``"image"``, ``"like"``, ``"referral"``…) of an event that
  had no text: the ``text`` Lex got is the bridge's stand-in, not the person's words
- ``x-bridge:reply-to``: ``{"mid": …, "is_self_reply": false}``
- ``x-bridge:referral``: ``{"source", "type", "ref", "ad_id", "referer_uri", "ads_context_data"}``
- ``x-bridge:optin``: ``{"type", "ref", "payload", "title", "notification_messages_status", …}``
- ``x-bridge:truncated``: the names of the attributes above that were cut to fit

Lex limits request and session attributes together to 12 KB, and a code hook's whole input to
12 KB; the session attributes are the Lambda's. So the bridge keeps its own attributes under
``BUDGET`` bytes: it drops trailing attachments first, then the longest strings (URLs,
titles), then whole attributes, and names what it cut in ``x-bridge:truncated``.
https://docs.aws.amazon.com/lexv2/latest/dg/context-mgmt-request-attribs.html
"""

from __future__ import annotations

import json
from typing import Any

from bridge.messenger.events import (
    Attachment,
    Event,
    Media,
    Optin,
    Postback,
    Referral,
    ReferralData,
    TextMessage,
    is_like,
    no_text_kind,
)

PREFIX = "x-bridge:"
BUDGET = 4096  # UTF-8 bytes of the bridge's keys and values together
TRUNCATED = "truncated"
# Dropped whole, in this order, when cutting strings was not enough.
_DROP_ORDER = ("attachments", "optin", "referral", "reply-to", "no-text")


def bridge_attributes(event: Event, *, budget: int = BUDGET) -> dict[str, str]:
    """The ``x-bridge:`` request attributes for ``event`` (empty for plain text and taps)."""
    return encode(describe(event), budget=budget)


def describe(event: Event) -> dict[str, Any]:
    """Attribute name (without the prefix) → JSON-ready value; only what the event has."""
    described: dict[str, Any] = {}
    kind = no_text_kind(event)
    if kind is not None:
        described["no-text"] = kind
    if isinstance(event, TextMessage | Attachment):
        if event.attachments:
            described["attachments"] = [describe_media(media) for media in event.attachments]
        if event.reply_to is not None:
            described["reply-to"] = {
                "mid": event.reply_to.mid,
                "is_self_reply": event.reply_to.is_self_reply,
            }
    if isinstance(event, TextMessage | Attachment | Postback | Referral):
        if event.referral is not None:
            described["referral"] = describe_referral(event.referral)
    if isinstance(event, Optin):
        described["optin"] = _without_none(
            {
                "type": event.optin_type or None,
                "ref": event.ref,
                "payload": event.payload,
                "title": event.title,
                "notification_messages_status": event.status,
                "notification_messages_frequency": event.frequency,
                "notification_messages_timezone": event.timezone,
                "token_expiry_timestamp": event.token_expiry,
            }
        )
    return described


def describe_media(media: Media) -> dict[str, Any]:
    described = _without_none(
        {"type": media.type, "url": media.url, "title": media.title, "sticker_id": media.sticker_id}
    )
    if is_like(media):
        described["like"] = True
    if media.latitude is not None and media.longitude is not None:
        described["coordinates"] = {"lat": media.latitude, "long": media.longitude}
    return described


def describe_referral(referral: ReferralData) -> dict[str, Any]:
    described = _without_none(
        {
            "source": referral.source or None,
            "type": referral.type or None,
            "ref": referral.ref,
            "ad_id": referral.ad_id,
            "referer_uri": referral.referer_uri,
        }
    )
    if referral.ads_context:
        described["ads_context_data"] = dict(referral.ads_context)
    return described


def encode(described: dict[str, Any], *, budget: int = BUDGET) -> dict[str, str]:
    """Prefixed keys and JSON values, cut to fit ``budget`` bytes (see the module docstring)."""
    values = json.loads(json.dumps(described))  # a deep copy to cut
    cut: list[str] = []
    _keep_fitting_attachments(values, budget, cut)
    while _size(values, cut) > budget:
        name = _drop_longest_string(values) or _drop_attribute(values)
        if name is None:
            break  # nothing left to cut; only a budget below a few bytes gets here
        if name not in cut:
            cut.append(name)
    return _encoded(values, cut)


def _keep_fitting_attachments(values: dict[str, Any], budget: int, cut: list[str]) -> None:
    """Keep the longest run of leading attachments that fits (at least one)."""
    attachments = values.get("attachments")
    if not attachments or _size(values, cut) <= budget:
        return
    cut.append("attachments")
    values["attachments"] = []
    room = budget - _size(values, cut)
    kept = 0
    for media in attachments:
        # Each further item costs its JSON plus a comma.
        room -= len(_json(media).encode()) + (1 if kept else 0)
        if room < 0 and kept:
            break
        kept += 1
    values["attachments"] = attachments[:kept]
    if kept == len(attachments):
        cut.remove("attachments")  # something else is too long


def _drop_longest_string(values: dict[str, Any]) -> str | None:
    """Remove the longest string field inside any attribute's object; its attribute's name."""
    longest: tuple[int, str, dict[str, Any], str] | None = None
    for name, value in values.items():
        for holder, key in _string_fields(value):
            size = len(holder[key])
            if longest is None or size > longest[0]:
                longest = (size, name, holder, key)
    if longest is None:
        return None
    _, name, holder, key = longest
    del holder[key]
    return name


def _string_fields(value: object) -> list[tuple[dict[str, Any], str]]:
    """(object, key) of every string field nested in ``value``, except attachment types."""
    found: list[tuple[dict[str, Any], str]] = []
    if isinstance(value, list):
        for item in value:
            found.extend(_string_fields(item))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key not in ("type", "mid"):
                found.append((value, key))
            else:
                found.extend(_string_fields(item))
    return found


def _drop_attribute(values: dict[str, Any]) -> str | None:
    for name in _DROP_ORDER:
        if name in values:
            del values[name]
            return name
    return None


def _encoded(values: dict[str, Any], cut: list[str]) -> dict[str, str]:
    attributes = {PREFIX + name: _json(value) for name, value in values.items()}
    if cut:
        attributes[PREFIX + TRUNCATED] = _json([PREFIX + name for name in cut])
    return attributes


def _size(values: dict[str, Any], cut: list[str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in _encoded(values, cut).items())


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
