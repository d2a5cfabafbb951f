"""Recording verified webhook deliveries, to replay them later (``python -m bridge replay``).

With ``BRIDGE_RECORD_DIR`` set, every delivery whose signature checked out is written there,
one file each, plus a line in ``index.jsonl``. By default (``BRIDGE_RECORD_REDACT=true``)
what people wrote and their page-scoped ids are replaced first, consistently (the same PSID
or text always gets the same stand-in, across processes and restarts), so a recording can be
shared; the body is then serialised the way Meta does (escaped, compact) and replay signs it
anew. With redaction off the raw bytes are written unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.messenger.events import meta_bytes

log = logging.getLogger(__name__)

INDEX = "index.jsonl"
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


class Recorder:
    """Writes verified deliveries to a folder; never lets a failure reach the webhook."""

    def __init__(self, directory: Path, *, redact_with: bytes | None) -> None:
        self.directory = directory
        self._key = redact_with
        self._lock = threading.Lock()
        self._count = 0
        directory.mkdir(parents=True, exist_ok=True)

    def record(self, body: bytes, *, received_at: float | None = None) -> Path | None:
        """Write one delivery and its index line; returns the file, or None if it failed."""
        moment = time.time() if received_at is None else received_at
        try:
            data = self._prepare(body)
            with self._lock:
                self._count += 1
                name = f"{time.time_ns()}-{os.getpid()}-{self._count}.json"
            path = self.directory / name
            path.write_bytes(data)
            self._index(
                {
                    "file": name,
                    "received_at": datetime.fromtimestamp(moment, UTC).isoformat(
                        timespec="milliseconds"
                    ),
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "redacted": self._key is not None,
                }
            )
            return path
        except (OSError, ValueError) as exc:
            log.warning("could not record a delivery", extra={"error": type(exc).__name__})
            return None

    def _prepare(self, body: bytes) -> bytes:
        if self._key is None:
            return body
        return meta_bytes(redact(json.loads(body), self._key))

    def _index(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        # One append of a short line: atomic with respect to the other server processes.
        descriptor = os.open(self.directory / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)
