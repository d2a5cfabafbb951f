"""Defensive readers of webhook JSON fields: a field of the wrong type reads as empty, never
raises (Meta's payloads vary between versions and products)."""

from __future__ import annotations

import math
import re

_SECONDS_BEFORE = 10**11  # an epoch below this is in seconds (ms would be before 1973)
# Later than this is no timestamp (the year 287,396; SQLite's integers end at 2**63).
MILLIS_MAX = 2**53
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
    """A finite number field (a bool is not one; NaN, infinities and integers too large for a
    float are none)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def read_text(value: object) -> str:
    """A string field, with lone surrogates (valid JSON escapes, invalid Unicode) replaced."""
    if not isinstance(value, str):
        return ""
    return _LONE_SURROGATE.sub("\ufffd", value)


def read_millis(value: object, fallback: object = None) -> int:
    """Messenger timestamps are epoch milliseconds, sometimes sent as strings; a value that is
    no timestamp (negative, NaN, infinite, past ``MILLIS_MAX``) reads as absent: 0."""
    for candidate in (value, fallback):
        number = _whole_number(candidate)
        if number is not None and 0 < number < MILLIS_MAX:
            # Meta's postback reference shows 10-digit (seconds) strings; everything else is ms.
            return number * 1000 if number < _SECONDS_BEFORE else number
    return 0


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None
