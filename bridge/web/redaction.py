"""Pseudonyms for recorded deliveries: only what is Meta's structure is kept (pure).

With ``BRIDGE_RECORD_REDACT=true`` (the default) the recorder (bridge/web/recording.py) passes
each delivery through ``redact`` before writing it. The whole body is walked, and a value is
kept as it is only under a key path known to be structural (``_KEPT`` below: the object, Page
ids and times, message ids, timestamps, what a person chose, attachment types, sticker ids,
reactions, watermarks, the app ids of a handover, a policy action and Meta's reason). Every
other string gets a stand-in: what people wrote (text, edits, titles of what they shared,
account-linking codes, the metadata apps pass with a handover) and anything Meta adds later.
A PSID (a ``sender`` or ``recipient`` id that is not one of the body's Pages) gets a stand-in
of digits, a location's coordinates become 0; other numbers, booleans, nulls, blank strings,
every key and the shape of the body are kept.

Stand-ins are consistent: the same PSID or text always gets the same one, across processes
and restarts (the key is derived from the app secret), so a recording can be shared and
still replays as the same conversations. The choices are kept on purpose: quick-reply,
postback and opt-in payloads, referral refs, and the titles of postbacks and opt-in
requests are what the Page's own buttons and links say (a postback's title is its button's),
so a redacted recording asks the bot the same things. A message's ``text`` is replaced even
when it is a quick reply's title: from the text alone it cannot be told apart from typing.
Redacting a redacted body again changes only the PSIDs: stand-ins of text are kept as they are.

A notification-messages token is a credential: redacted, it gets a stand-in like any text;
unredacted, ``withhold_tokens`` blanks it (a blank token is none, so a replay records none).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

_KEY_LABEL = b"messenger-lex-bridge recording pseudonyms"

# keep: structural, kept as it is; party: a PSID unless a Page's id; zero: a location.
Rule = Literal["keep", "party", "zero"]

# Where a referral object appears: a referral event, a message from an ad, Get Started.
_REFERRAL = (
    "ref",
    "source",
    "type",
    "ad_id",
    "is_guest_user",
    "ads_context_data.post_id",
    "ads_context_data.product_id",
    "ads_context_data.flow_id",
)
# Key paths inside one messaging (or standby) item whose values are structural.
_KEPT = (
    "timestamp",
    "message.mid",
    "message.seq",
    "message.is_echo",
    "message.app_id",
    "message.sticker_id",
    "message.quick_reply.payload",
    "message.reply_to.mid",
    "message.reply_to.is_self_reply",
    "message.attachments.type",
    "message.attachments.payload.sticker_id",
    "message.commands.name",
    *(f"message.referral.{path}" for path in _REFERRAL),
    "postback.mid",
    "postback.title",
    "postback.payload",
    *(f"postback.referral.{path}" for path in _REFERRAL),
    *(f"referral.{path}" for path in _REFERRAL),
    "optin.type",
    "optin.ref",
    "optin.payload",
    "optin.title",
    "optin.notification_messages_status",
    "optin.notification_messages_frequency",
    "optin.token_expiry_timestamp",
    "optin.user_token_status",
    "delivery.mids",
    "delivery.watermark",
    "delivery.seq",
    "read.watermark",
    "read.seq",
    "reaction.reaction",
    "reaction.emoji",
    "reaction.action",
    "reaction.mid",
    "pass_thread_control.previous_owner_app_id",
    "pass_thread_control.new_owner_app_id",
    "take_thread_control.previous_owner_app_id",
    "take_thread_control.new_owner_app_id",
    "request_thread_control.requested_owner_app_id",
    "app_roles.*",  # {"<app id>": ["primary_receiver"]}
    "account_linking.status",
    "policy_enforcement.action",
    "policy_enforcement.reason",  # Meta's words about its policy, never a person's
    "policy-enforcement.action",
    "policy-enforcement.reason",
    "message_edit.mid",
    "message_edit.num_edit",
)
_ITEM_RULES: dict[str, Rule] = {
    **dict.fromkeys(_KEPT, "keep"),
    "sender.id": "party",
    "recipient.id": "party",
    "message.attachments.payload.coordinates": "zero",
}
_BODY_RULES: dict[str, Rule] = {
    "object": "keep",
    "entry.id": "keep",
    "entry.time": "keep",
    "entry.hop_context.app_id": "keep",
    **{
        f"entry.{where}.{path}": rule
        for where in ("messaging", "standby")
        for path, rule in _ITEM_RULES.items()
    },
}
# What a stand-in looks like: never replaced again.
_STAND_IN = re.compile(
    r"redacted-[0-9a-f]{10} \([0-9]+ chars\)|https://redacted\.invalid/[0-9a-f]{16}"
)


@dataclass(slots=True)
class _Node:
    """One key of the rule tree; ``*`` matches any key."""

    rule: Rule | None = None
    children: dict[str, _Node] = field(default_factory=dict)

    def child(self, key: str) -> _Node | None:
        found = self.children.get(key) or self.children.get("*")
        if found is None and self.rule == "zero":
            return self  # everything under a location is zeroed
        return found


def _tree(rules: Mapping[str, Rule]) -> _Node:
    root = _Node()
    for path, rule in rules.items():
        node = root
        for key in path.split("."):
            node = node.children.setdefault(key, _Node())
        node.rule = rule
    return root


_ROOT = _tree(_BODY_RULES)


@dataclass(frozen=True, slots=True)
class _Context:
    key: bytes
    pages: frozenset[str]


def redaction_key(app_secret: str) -> bytes:
    """The pseudonym key: derived from the app secret, so every process agrees, and never
    written into the recording itself."""
    return hmac.new(app_secret.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()


def _digest(key: bytes, kind: str, value: str) -> bytes:
    # surrogatepass: a lone surrogate (a valid JSON escape) gets a stand-in too.
    return hmac.new(
        key, f"{kind}:{value}".encode("utf-8", "surrogatepass"), hashlib.sha256
    ).digest()


def pseudonym_id(key: bytes, value: str) -> str:
    """A stand-in for a PSID: digits, as many as it has (up to 77), never the original."""
    digits = str(int.from_bytes(_digest(key, "id", value), "big"))
    width = min(max(len(value), 1), len(digits))
    # A short id could map onto itself (one digit: 1 in 10); then the next window of digits.
    windows = (digits[end - width : end] for end in range(len(digits), width - 1, -1))
    return next((window for window in windows if window != value), digits)


def pseudonym_text(key: bytes, value: str) -> str:
    """A stand-in for what a person wrote: its length survives, its content does not."""
    return f"redacted-{_digest(key, 'text', value).hex()[:10]} ({len(value)} chars)"


def pseudonym_url(key: bytes, value: str) -> str:
    """A stand-in for a link (an attachment's, a web page's): still a URL, to nowhere."""
    return f"https://redacted.invalid/{_digest(key, 'url', value).hex()[:16]}"


def is_stand_in(value: str) -> bool:
    """A string ``redact`` wrote in place of another one."""
    return _STAND_IN.fullmatch(value) is not None


def rule_for(path: Sequence[str]) -> Rule | None:
    """How ``redact`` treats the value at a key path from the body's root (list positions
    left out, e.g. ``("entry", "messaging", "message", "mid")``): ``keep`` (structural),
    ``party`` (a PSID unless a Page's id), ``zero`` (a location), None (replaced)."""
    node: _Node | None = _ROOT
    for key in path:
        node = node.child(key) if node is not None else None
    return node.rule if node is not None else None


def redact(body: object, key: bytes) -> object:
    """A copy of a decoded webhook body in which only structural values are left as they
    were (see the module docstring); RecursionError for a body nested too deep."""
    return _walk(body, _ROOT, "", _Context(key, _page_ids(body)))


def _page_ids(body: object) -> frozenset[str]:
    entries = body.get("entry") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return frozenset()
    return frozenset(str(e["id"]) for e in entries if isinstance(e, dict) and "id" in e)


def _walk(value: object, node: _Node | None, name: str, context: _Context) -> object:
    if isinstance(value, dict):
        return {
            k: _walk(v, node.child(str(k)) if node is not None else None, str(k), context)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(v, node, name, context) for v in value]
    return _leaf(value, node.rule if node is not None else None, name, context)


def _leaf(value: object, rule: Rule | None, name: str, context: _Context) -> object:
    if rule == "keep" or value is None or isinstance(value, bool):
        return value
    if rule == "party":
        return _party(value, context)
    if isinstance(value, int | float):
        return _zeroed(value) if rule == "zero" else value
    if isinstance(value, str):
        return _replaced(value, name, context.key)
    return value


def _party(value: object, context: _Context) -> object:
    """A sender or recipient id: a Page's stays, a person's gets a stand-in (a string, as
    Meta sends ids, even where it sent a number)."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value)
        if not text.strip() or text in context.pages:
            return value
        return pseudonym_id(context.key, text)
    if isinstance(value, float):
        return 0.0 if math.isfinite(value) else value  # no id Meta sends; none to keep
    return value


def _zeroed(value: int | float) -> int | float:
    """0 for a coordinate; a value that is no number (NaN, past a float) stays, as no one's."""
    try:
        finite = math.isfinite(value)
    except OverflowError:
        return value
    return (0 if isinstance(value, int) else 0.0) if finite else value


def _replaced(value: str, name: str, key: bytes) -> str:
    """The stand-in for a string that is not structural: a URL for a link, else a text."""
    if not value.strip() or is_stand_in(value):
        return value
    if name == "url" or name.endswith(("_url", "_uri")):
        return pseudonym_url(key, value)
    return pseudonym_text(key, value)


TOKEN_KEY = "notification_messages_token"


def withhold_tokens(body: object) -> tuple[object, bool]:
    """A copy of a decoded body with every notification-messages token blanked, and whether
    there was one (a body without one is given back as it is)."""
    if isinstance(body, dict):
        found = False
        copy: dict[object, object] = {}
        for key, value in body.items():
            if key == TOKEN_KEY and isinstance(value, str) and value:
                copy[key], found = "", True
            else:
                copy[key], inner = withhold_tokens(value)
                found = found or inner
        return (copy, True) if found else (body, False)
    if isinstance(body, list):
        items = [withhold_tokens(value) for value in body]
        if any(inner for _, inner in items):
            return [value for value, _ in items], True
    return body, False
