"""What the server's log says about a fuzz run: pure, over the log's text.

The bridge writes JSON lines by default (``LOG_FORMAT=json``) or text lines
(``<time> <LEVEL> <logger>: …``); anything else on its stderr (a crash's bare traceback) is
read as text. Counted: lines by level, tracebacks (``Traceback (most recent call last)``,
in a JSON line's ``exception`` or bare), ERROR and CRITICAL lines (grouped by what they say:
logger, message and error, without the time and ids), gunicorn's worker boots (more than the
server's workers means one died and was replaced) and any secret that shows in the log as it
is or as JSON escapes it. Lines end at ``\\n`` only: a JSON line may hold U+2028 and the like.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TRACEBACK = "Traceback (most recent call last)"
BOOT = "Booting worker with pid"
_TEXT_LEVEL = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
_SHOWN = 300  # characters of a quoted line


@dataclass
class LogReport:
    lines: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    tracebacks: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # ERROR and CRITICAL, by what
    boots: int = 0
    leaks: list[str] = field(default_factory=list)  # the names of secrets found


def scan_log(text: str, secrets: Mapping[str, str]) -> LogReport:
    """Read the log; ``secrets`` maps a name (``FB_APP_SECRET``) to a value never to show."""
    report = LogReport()
    for line in text.split("\n"):
        if not line.strip():
            continue
        report.lines += 1
        decoded = _json(line)
        level = line_level(line, decoded)
        report.levels[level] += 1
        if TRACEBACK in line:
            report.tracebacks.append(line[:_SHOWN])
        if level in ("ERROR", "CRITICAL"):
            report.errors[_what(line, decoded)] += 1
        if BOOT in line:
            report.boots += 1
    report.leaks = [name for name, value in secrets.items() if value and leaked(text, value)]
    return report


def _json(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        decoded = json.loads(line)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def line_level(line: str, decoded: dict[str, Any] | None) -> str:
    """A line's level: a JSON line's ``level``, a text line's, else ``other``."""
    if decoded is not None:
        level = decoded.get("level")
        return level if isinstance(level, str) else "other"
    match = _TEXT_LEVEL.match(line)
    return match[1] if match else "other"


def _what(line: str, decoded: dict[str, Any] | None) -> str:
    """What an ERROR line says, the same for every line that says it: a JSON line's logger,
    message and error (an exception's last line), a text line without its time."""
    if decoded is None:
        return line.split(" ", 2)[-1][:_SHOWN]
    what = f"{decoded.get('logger')}: {decoded.get('message')}"
    exception = decoded.get("exception")
    error = str(exception).strip().splitlines()[-1] if exception else decoded.get("error")
    return (f"{what} ({error})" if error else what)[:_SHOWN]


def leaked(text: str, secret: str) -> bool:
    """Whether ``secret`` is in ``text``, as it is or as a JSON string writes it."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return any(form in text for form in forms)
