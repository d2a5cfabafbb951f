"""The Messenger Profile API's call budget: Meta allows ``PROFILE_BUDGET`` calls per
``PROFILE_WINDOW`` seconds per Page, and going over makes Graph refuse profile calls (error 613)
for a while. ``setup`` counts its calls in a small file beside the queue database and refuses a
run that would go over before it starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PROFILE_BUDGET = 10  # Messenger Profile API calls ...
PROFILE_WINDOW = 600.0  # ... per this many seconds, per Page


@dataclass(frozen=True)
class Budget:
    """Profile API calls left for a Page now, and when the oldest counted call stops counting."""

    used: int
    left: int
    frees_at: float | None


def budget(calls: Sequence[float], now: float) -> Budget:
    """Meta allows ``PROFILE_BUDGET`` calls per ``PROFILE_WINDOW`` seconds per Page."""
    recent = sorted(t for t in calls if now - PROFILE_WINDOW < t <= now)
    frees_at = recent[0] + PROFILE_WINDOW if recent else None
    return Budget(len(recent), max(0, PROFILE_BUDGET - len(recent)), frees_at)


class CallLog:
    """When this machine called the Profile API, per Page, in a small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def calls(self, page_id: str) -> list[float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        times = data.get(page_id) if isinstance(data, dict) else None
        if not isinstance(times, list):
            return []
        return [float(t) for t in times if isinstance(t, int | float) and not isinstance(t, bool)]

    def record(self, page_id: str, when: float) -> None:
        """Add a call (best effort: a log that cannot be written only loses the count)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        times = [t for t in self.calls(page_id) if when - t < PROFILE_WINDOW] + [when]
        data[page_id] = times
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_name(self.path.name + ".tmp")
            scratch.write_text(json.dumps(data), encoding="utf-8")
            os.replace(scratch, self.path)
        except OSError:
            pass


def call_log_path(db_path: Path) -> Path:
    """Beside the queue database: ``var/bridge.db`` → ``var/bridge-profile-calls.json``."""
    return db_path.with_name(db_path.stem + "-profile-calls.json")
