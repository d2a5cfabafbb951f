"""Text and JSON reports for ``python -m bridge notifications``; pure formatting.

A token is a credential for messaging a person: no report shows any of it. People are shown by
the hash the log lines use (``bridge.obs.logs.hash_id``), so a row can be matched with logs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bridge.obs.logs import hash_id
from bridge.ops.queue_report import table
from bridge.queue import NotificationToken

HEADERS = ["page", "person", "topic", "frequency", "status", "expiry", "updated"]
TOPIC_SHOWN = 40  # characters of a topic in the table (JSON has it whole)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry(token: NotificationToken, now_ms: int) -> str:
    """When the token expires (ISO UTC), ``expired`` when past, ``-`` when Meta gave none."""
    if token.expires_at is None:
        return "-"
    return "expired" if token.expires_at <= now_ms else _iso(token.expires_at)


def to_row(token: NotificationToken, now_ms: int) -> dict[str, str | None]:
    """One token as the report shows it: never the token itself."""
    return {
        "page": token.page,
        "person": hash_id(token.user),
        "topic": token.topic,
        "frequency": token.frequency,
        "status": token.status,
        "expiry": expiry(token, now_ms),
        "updated": _iso(token.updated_at),
    }


def tokens_report(tokens: list[NotificationToken], *, now_ms: int, as_json: bool = False) -> str:
    """The tokens as a table (or JSON), one row each."""
    rows = [to_row(token, now_ms) for token in tokens]
    if as_json:
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if not rows:
        return "no notification-messages tokens"
    cells = [[_cell(row[name], name) for name in HEADERS] for row in rows]
    return table(HEADERS, cells)


def _cell(value: str | None, name: str) -> str:
    text = " ".join((value or "").split()) or "-"  # one line, whatever the Page's payload held
    if name == "topic" and len(text) > TOPIC_SHOWN:
        return text[: TOPIC_SHOWN - 1] + "\u2026"
    return text
