"""The replay corpus itself (tests/fixtures/webhooks): every body is raw Meta bytes, and
the bodies between them cover every shape of delivery the bridge must handle. What the app
does with each body is checked in test_replay_corpus.py."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from tests.ops.corpus import (
    CORPUS,
    LIKE_STICKER_ID,
    MIN_PAIRS,
    NOT_OWNER_PSID,
    OWN_APP_ID,
    body_names,
    body_path,
    items,
    millis,
)
from tests.support.ids import PAGE_INBOX_APP_ID


def test_bodies_are_raw_meta_bytes() -> None:
    """Pure ASCII with Meta's escaping, one line, no trailing newline, valid JSON."""
    assert (CORPUS / ".gitattributes").read_text().split() == ["*.json", "-text"]
    problems = []
    for name in body_names():
        raw = body_path(name).read_bytes()
        if not raw.isascii():
            problems.append(f"{name}: not pure ASCII (Meta sends \\uXXXX escapes)")
        if b"\n" in raw or b"\r" in raw:
            problems.append(f"{name}: has a line break (Meta sends one compact line)")
        if re.search(rb"(?<!\\)/", raw) or b"@" in raw:
            problems.append(f"{name}: an unescaped / or @ (Meta sends \\/ and \\u0040)")
        try:
            json.loads(raw)
        except ValueError as exc:
            problems.append(f"{name}: not JSON ({exc})")
    assert not problems, "\n".join(problems)


# The event keys a messaging item is dispatched on (messenger.md §4) and the message keys we
# know; anything else in a body counts as an unknown (future) type or field.
KNOWN_EVENT_KEYS = {
    "message",
    "postback",
    "referral",
    "optin",
    "delivery",
    "read",
    "reaction",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "account_linking",
    "policy_enforcement",
    "policy-enforcement",
    "message_edit",
}
KNOWN_ITEM_KEYS = {"sender", "recipient", "timestamp", *KNOWN_EVENT_KEYS}
KNOWN_ENTRY_KEYS = {"id", "time", "messaging", "standby"}
KNOWN_MESSAGE_KEYS = {
    "mid",
    "text",
    "quick_reply",
    "reply_to",
    "attachments",
    "referral",
    "commands",
    "sticker_id",
    "is_echo",
    "app_id",
    "metadata",
}

Check = Callable[[Any, bytes], bool]


def _messages(body: Any, *, echo: bool = False) -> Iterator[dict[str, Any]]:
    for where, _, item in items(body):
        message = item.get("message")
        if where == "messaging" and isinstance(message, dict):
            if bool(message.get("is_echo")) == echo:
                yield message


def _attachments(body: Any) -> Iterator[dict[str, Any]]:
    for message in _messages(body):
        for attachment in message.get("attachments") or []:
            if isinstance(attachment, dict):
                yield attachment


def _events(body: Any, key: str) -> Iterator[tuple[dict[str, Any], Any]]:
    for where, _, item in items(body):
        if where == "messaging" and key in item:
            yield item, item[key]


def _attachment(kind: str, payload: bool | None = None, sticker: bool = False) -> Check:
    def check(body: Any, raw: bytes) -> bool:
        return any(
            a.get("type") == kind
            and (payload is None or bool(a.get("payload")) == payload)
            and (("sticker_id" in (a.get("payload") or {})) == sticker)
            for a in _attachments(body)
        )

    return check


def _event(key: str, test: Callable[[dict[str, Any], Any], bool] = lambda i, e: True) -> Check:
    return lambda body, raw: any(test(item, event) for item, event in _events(body, key))


def _korean_and_emoji_escaped(body: Any, raw: bytes) -> bool:
    texts = [str(m.get("text", "")) for m in _messages(body)]
    return (
        any(
            re.search("[\uac00-\ud7a3]", t) and re.search("[\U00010000-\U0010ffff]", t)
            for t in texts
        )
        and b"\\/" in raw
        and b"\\u0040" in raw
    )


def _duplicate_mid(body: Any, raw: bytes) -> bool:
    mids = Counter(str(m.get("mid")) for m in _messages(body) if m.get("mid"))
    return any(count > 1 for count in mids.values())


def _out_of_order(body: Any, raw: bytes) -> bool:
    seen: dict[str, int] = {}
    for _, _, item in items(body):
        sender, ms = str((item.get("sender") or {}).get("id")), millis(item.get("timestamp"))
        if ms is None:
            continue
        if sender in seen and ms < seen[sender]:
            return True
        seen[sender] = max(ms, seen.get(sender, 0))
    return False


def _inbox_echo_then_message(body: Any, raw: bytes) -> bool:
    """A Page Inbox echo to a person, and a later message of that person."""
    echoed: dict[str, int] = {}
    for _, _, item in items(body):
        message = item.get("message") or {}
        ms = millis(item.get("timestamp")) or 0
        if message.get("is_echo") and message.get("app_id") == PAGE_INBOX_APP_ID:
            echoed[str((item.get("recipient") or {}).get("id"))] = ms
        elif "message" in item and not message.get("is_echo"):
            sender = str((item.get("sender") or {}).get("id"))
            if sender in echoed and ms > echoed[sender]:
                return True
    return False


def _standby_then_messaging(body: Any, raw: bytes) -> bool:
    standby = {
        str((item.get("sender") or {}).get("id"))
        for where, _, item in items(body)
        if where == "standby" and "message" in item
    }
    return any(
        str((item.get("sender") or {}).get("id")) in standby
        for where, _, item in items(body)
        if where == "messaging" and "message" in item
    )


COVERAGE: dict[str, Check] = {
    "text": lambda b, r: any(m.get("text") and "quick_reply" not in m for m in _messages(b)),
    "text: Korean + emoji, \\uXXXX \\/ \\u0040 kept": _korean_and_emoji_escaped,
    "quick_reply": lambda b, r: any("quick_reply" in m for m in _messages(b)),
    "postback": _event("postback", lambda i, e: "referral" not in e and e.get("mid")),
    "postback with referral": _event("postback", lambda i, e: "referral" in e),
    "postback: Get Started": _event("postback", lambda i, e: e.get("payload") == "GET_STARTED"),
    "postback without mid": _event("postback", lambda i, e: "mid" not in e),
    "attachment: image": _attachment("image"),
    "attachment: audio": _attachment("audio"),
    "attachment: video": _attachment("video"),
    "attachment: file": _attachment("file"),
    "attachment: fallback with payload": _attachment("fallback", payload=True),
    "attachment: fallback without payload": _attachment("fallback", payload=False),
    "sticker, old style (image with sticker_id)": lambda b, r: any(
        a.get("type") == "image" and (a.get("payload") or {}).get("sticker_id") == LIKE_STICKER_ID
        for a in _attachments(b)
    ),
    "sticker, new style": _attachment("sticker", sticker=True),
    "attachment: location": _attachment("location"),
    "reply_to": lambda b, r: any("reply_to" in m for m in _messages(b)),
    "referral (m.me)": _event("referral", lambda i, e: e.get("source") == "SHORTLINK"),
    "referral (ads)": _event("referral", lambda i, e: e.get("source") == "ADS"),
    "optin: classic, user_ref, no sender": _event(
        "optin", lambda i, e: "user_ref" in e and "sender" not in i
    ),
    "optin: notification_messages": _event(
        "optin", lambda i, e: e.get("type") == "notification_messages"
    ),
    "delivery": _event("delivery"),
    "read": _event("read"),
    "reaction": _event("reaction"),
    "echo (own app)": lambda b, r: any(
        m.get("app_id") != PAGE_INBOX_APP_ID for m in _messages(b, echo=True)
    ),
    "echo (Page Inbox app)": lambda b, r: any(
        m.get("app_id") == PAGE_INBOX_APP_ID for m in _messages(b, echo=True)
    ),
    "standby": lambda b, r: any(where == "standby" for where, _, _ in items(b)),
    "pass_thread_control": _event("pass_thread_control"),
    "take_thread_control": _event("take_thread_control"),
    "request_thread_control": _event("request_thread_control"),
    "app_roles": _event("app_roles"),
    "account_linking": _event("account_linking"),
    "policy_enforcement": _event("policy_enforcement"),
    "policy-enforcement (the hyphenated key), block and unblock": lambda b, r: (
        {str(e.get("action")) for _, e in _events(b, "policy-enforcement")} >= {"block", "unblock"}
    ),
    "message_edit": _event("message_edit"),
    "message from an ad (message.referral)": lambda b, r: any(
        "referral" in m for m in _messages(b)
    ),
    "postback from a chat plugin (sender.user_ref)": _event(
        "postback", lambda i, e: "user_ref" in (i.get("sender") or {})
    ),
    "several entries": lambda b, r: len(b.get("entry") or []) > 1,
    "several items in one entry": lambda b, r: any(
        len(e.get("messaging") or []) > 1 for e in b.get("entry") or []
    ),
    "several pages": lambda b, r: len({str(e.get("id")) for e in b.get("entry") or []}) > 1,
    "unknown event type": lambda b, r: any(
        not KNOWN_EVENT_KEYS & item.keys() for where, _, item in items(b) if where == "messaging"
    ),
    "unknown fields": lambda b, r: (
        any(m.keys() - KNOWN_MESSAGE_KEYS for m in _messages(b))
        and any(
            KNOWN_EVENT_KEYS & item.keys() and item.keys() - KNOWN_ITEM_KEYS
            for _, _, item in items(b)
        )
        and any(e.keys() - KNOWN_ENTRY_KEYS for e in b.get("entry") or [])
    ),
    "duplicate mid in one delivery": _duplicate_mid,
    "timestamps as strings": lambda b, r: any(
        isinstance(item.get("timestamp"), str) for _, _, item in items(b)
    ),
    "Page Inbox echo, then the person writes": _inbox_echo_then_message,
    "standby, then the same person in messaging": _standby_then_messaging,
    "thread control passed back to the bridge's app": _event(
        "pass_thread_control", lambda i, e: str(e.get("new_owner_app_id")) == OWN_APP_ID
    ),
    "thread control taken, older shape (no new_owner_app_id)": _event(
        "take_thread_control", lambda i, e: "new_owner_app_id" not in e
    ),
    "thread control passed back, older shape (no previous_owner_app_id)": _event(
        "pass_thread_control", lambda i, e: "previous_owner_app_id" not in e
    ),
    "thread control taken by the Page Inbox": _event(
        "take_thread_control", lambda i, e: str(e.get("new_owner_app_id")) == str(PAGE_INBOX_APP_ID)
    ),
    "the bot asks for a person (scripted: human)": lambda b, r: any(
        m.get("text") == "human" for m in _messages(b)
    ),
    "sends refused: another app owns the thread": lambda b, r: any(
        (item.get("sender") or {}).get("id") == NOT_OWNER_PSID for _, _, item in items(b)
    ),
    "out-of-order timestamps for one user": _out_of_order,
}


def test_corpus_covers_every_shape() -> None:
    names = body_names()
    assert len(names) >= MIN_PAIRS, f"the corpus has {len(names)} deliveries, wants {MIN_PAIRS}"
    bodies = {name: body_path(name).read_bytes() for name in names}
    decoded = {name: json.loads(raw) for name, raw in bodies.items()}
    covered = {
        shape: [name for name in names if check(decoded[name], bodies[name])]
        for shape, check in COVERAGE.items()
    }
    missing = [shape for shape, where in covered.items() if not where]
    assert not missing, f"no fixture covers: {missing}"
