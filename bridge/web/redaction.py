"""Pseudonyms for recorded deliveries: what people wrote and their ids, replaced (pure).

With ``BRIDGE_RECORD_REDACT=true`` (the default) the recorder (bridge/web/recording.py) passes
each delivery through ``redact`` before writing it. Replacements are consistent: the same PSID
or text always gets the same stand-in, across processes and restarts (the key is derived from
the app secret), so a recording can be shared and still replays as the same conversations;
Page ids, payloads and choices are kept, so it stays replayable.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

_KEY_LABEL = b"messenger-lex-bridge recording pseudonyms"
# Fields people write (or that identify them), by where they appear in a messaging item.
_PERSONAL_MESSAGE_FIELDS = ("text",)
_PERSONAL_OPTIN_FIELDS = ("user_ref", "notification_messages_token")


def redaction_key(app_secret: str) -> bytes:
    """The pseudonym key: derived from the app secret, so every process agrees, and never
    written into the recording itself."""
    return hmac.new(app_secret.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()


def _digest(key: bytes, kind: str, value: str) -> bytes:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest()


def pseudonym_id(key: bytes, value: str) -> str:
    """A stand-in for a PSID: digits, the same length, never the original."""
    digits = str(int.from_bytes(_digest(key, "id", value), "big"))
    return digits[-max(len(value), 1) :]


def pseudonym_text(key: bytes, value: str) -> str:
    """A stand-in for what a person wrote: its length survives, its content does not."""
    return f"redacted-{_digest(key, 'text', value).hex()[:10]} ({len(value)} chars)"


def redact(body: object, key: bytes) -> object:
    """A copy of a decoded webhook body with PSIDs and people's words replaced."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        return body
    entries = []
    for entry in body["entry"]:
        if not isinstance(entry, dict):
            entries.append(entry)
            continue
        page = str(entry.get("id", ""))
        copy = dict(entry)
        for field in ("messaging", "standby"):
            if isinstance(entry.get(field), list):
                copy[field] = [_redact_item(item, page, key) for item in entry[field]]
        entries.append(copy)
    return {**body, "entry": entries}


def _redact_item(item: object, page: str, key: bytes) -> object:
    if not isinstance(item, dict):
        return item
    copy: dict[str, Any] = dict(item)
    for party in ("sender", "recipient"):
        value = item.get(party)
        if isinstance(value, dict) and "id" in value and str(value["id"]) != page:
            copy[party] = {**value, "id": pseudonym_id(key, str(value["id"]))}
        elif isinstance(value, dict) and "user_ref" in value:
            copy[party] = {**value, "user_ref": pseudonym_text(key, str(value["user_ref"]))}
    message = item.get("message")
    if isinstance(message, dict):
        copy["message"] = _redact_message(message, key)
    optin = item.get("optin")
    if isinstance(optin, dict):
        copy["optin"] = {
            k: pseudonym_text(key, str(v)) if k in _PERSONAL_OPTIN_FIELDS else v
            for k, v in optin.items()
        }
    return copy


def _redact_message(message: dict[str, Any], key: bytes) -> dict[str, Any]:
    copy = {
        k: pseudonym_text(key, v) if k in _PERSONAL_MESSAGE_FIELDS and isinstance(v, str) else v
        for k, v in message.items()
    }
    if isinstance(message.get("attachments"), list):
        copy["attachments"] = [_redact_attachment(a, key) for a in message["attachments"]]
    return copy


def _redact_attachment(attachment: object, key: bytes) -> object:
    if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
        return attachment
    payload = dict(attachment["payload"])
    if isinstance(payload.get("url"), str):
        payload["url"] = (
            f"https://redacted.invalid/{_digest(key, 'url', payload['url']).hex()[:16]}"
        )
    if isinstance(payload.get("title"), str):
        payload["title"] = pseudonym_text(key, payload["title"])
    if "coordinates" in payload:  # a shared location
        payload["coordinates"] = {"lat": 0.0, "long": 0.0}
    return {**attachment, "payload": payload}
