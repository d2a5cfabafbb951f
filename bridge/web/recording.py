"""Recording verified webhook deliveries, to replay them later (``python -m bridge replay``).

With ``BRIDGE_RECORD_DIR`` set, every delivery whose signature checked out is written there,
one file each, plus a line in ``index.jsonl``. By default (``BRIDGE_RECORD_REDACT=true``)
what people wrote and their page-scoped ids are replaced first (bridge/web/redaction.py), so
a recording can be shared; the body is then serialised the way Meta does (escaped, compact)
and replay signs it anew. With redaction off the raw bytes are written unchanged, but for a
delivery holding a notification-messages token, a credential: it is blanked, and the body
serialised anew.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.config.private import FILE_MODE, private_file, private_folder
from bridge.messenger.events import meta_bytes
from bridge.web.redaction import redact, withhold_tokens

log = logging.getLogger(__name__)

INDEX = "index.jsonl"


class Recorder:
    """Writes verified deliveries to a folder; never lets a failure reach the webhook."""

    def __init__(self, directory: Path, *, redact_with: bytes | None) -> None:
        self.directory = directory
        self._key = redact_with
        self._lock = threading.Lock()
        self._count = 0
        private_folder(directory)
        if (directory / INDEX).exists():
            private_file(directory / INDEX)  # written by an earlier version, 0640

    def record(self, body: bytes, *, received_at: float | None = None) -> Path | None:
        """Write one delivery and its index line; returns the file, or None if it failed."""
        moment = time.time() if received_at is None else received_at
        try:
            data = self._prepare(body)
            with self._lock:
                self._count += 1
                name = f"{time.time_ns()}-{os.getpid()}-{self._count}.json"
            path = self.directory / name
            _write_private(path, data)
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
        except (OSError, ValueError, RecursionError) as exc:  # too deep to redact, say
            log.warning("could not record a delivery", extra={"error": type(exc).__name__})
            return None

    def _prepare(self, body: bytes) -> bytes:
        if self._key is None:
            return _without_tokens(body)
        return meta_bytes(redact(json.loads(body), self._key))

    def _index(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        # One append of a short line: atomic with respect to the other server processes.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        descriptor = os.open(self.directory / INDEX, flags, FILE_MODE)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)


def _without_tokens(body: bytes) -> bytes:
    """The raw body, or, if it holds a notification-messages token, the body without it. (A
    key may be written with ``\\u`` escapes: such a body is decoded to look.)"""
    if b"notification_messages_token" not in body and b"\\u" not in body:
        return body
    try:
        withheld, found = withhold_tokens(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body  # not JSON (or too deep): the webhook reads no token from it either
    return meta_bytes(withheld) if found else body


def _write_private(path: Path, data: bytes) -> None:
    """A new owner-only file holding ``data`` (what people wrote, even when redacted)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    with os.fdopen(descriptor, "wb") as out:
        os.fchmod(descriptor, FILE_MODE)  # an umask may take more than group and others
        out.write(data)
