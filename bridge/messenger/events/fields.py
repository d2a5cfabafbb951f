"""Defensive readers of webhook JSON fields: a field of the wrong type reads as empty, never
raises (Meta's payloads vary between versions and products)."""

from __future__ import annotations

import re

_SECONDS_BEFORE = 10**11  # an epoch below this is in seconds (ms would be before 1973)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def read_id(party: object) -> str:
    """The ``id`` of a ``sender`` or ``recipient`` object."""
    return read_str(party.get("id")) if isinstance(party, dict) else ""


def read_str(value: object) -> str:
    """A string or an id field (Meta sends some ids as numbers)."""
    if isinstance(value, str):
        return read_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def read_optional(value: object) -> str | None:
    """A non-blank string field, else None."""
    text = read_text(value)
    return text if text.strip() else None


def read_number(value: object) -> float | None:
    """A number field (a bool is not one)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def read_text(value: object) -> str:
    """A string field, with lone surrogates (valid JSON escapes, invalid Unicode) replaced."""
    if not isinstance(value, str):
        return ""
    return _LONE_SURROGATE.sub("\ufffd", value)


def read_millis(value: object, fallback: object = None) -> int:
    """Messenger timestamps are epoch milliseconds, sometimes sent as strings."""
    for candidate in (value, fallback):
        if isinstance(candidate, bool):
            continue
        number: int | None = None
        if isinstance(candidate, int):
            number = candidate
        elif isinstance(candidate, str) and candidate.isascii() and candidate.isdigit():
            number = int(candidate)
        elif isinstance(candidate, float):
            number = int(candidate)
        if number is not None:
            # Meta's postback reference shows 10-digit (seconds) strings; everything else is ms.
            return number * 1000 if 0 < number < _SECONDS_BEFORE else number
    return 0
