"""The setup plans as lines for the terminal: the subscription's fields now and what is added,
and one line per profile field with a unified diff of its JSON under each change."""

from __future__ import annotations

import difflib
import json
import textwrap
from typing import Any

from bridge.ops.setup.plan import FieldChange, ProfilePlan, SubscriptionPlan, normalize

_MARKS = {"add": "+", "change": "~", "same": "=", "delete": "-", "keep": "·"}
_WORDS = {
    "add": "set (not set on the Page now)",
    "change": "changed",
    "same": "unchanged",
    "delete": "on the Page, not in the file: deleted (--delete-missing)",
    "keep": "on the Page, not in the file: kept (--delete-missing would delete it)",
}


def render_subscription(plan: SubscriptionPlan) -> list[str]:
    def wrapped(label: str, text: str) -> list[str]:
        return textwrap.wrap(
            text, width=92, initial_indent=f"  {label:<8}", subsequent_indent=" " * 10
        )

    lines = wrapped("now:", ", ".join(plan.current) if plan.subscribed else "not subscribed")
    if plan.missing:
        lines += wrapped("adds:", ", ".join(plan.missing))
    if plan.kept:
        lines += wrapped("keeps:", ", ".join(plan.kept) + " (not used by the bridge; left as is)")
    return lines


def render_profile(plan: ProfilePlan) -> list[str]:
    """One line per field, with a diff under each added, changed or deleted field."""
    lines: list[str] = []
    width = max((len(change.name) for change in plan.changes), default=0)
    for change in plan.changes:
        lines.append(f"  {_MARKS[change.kind]} {change.name.ljust(width)}  {_WORDS[change.kind]}")
        if change.kind in ("add", "change", "delete"):
            lines.extend(f"      {line}" for line in _diff(change))
    if not plan.changes:
        lines.append("  (no profile fields to consider)")
    return lines


def _pretty(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    return json.dumps(normalize(name, value), indent=2, ensure_ascii=False).splitlines()


def _diff(change: FieldChange) -> list[str]:
    """A unified diff of the field's JSON: whole when short, else hunks separated by "…"."""
    before = _pretty(change.name, change.current)
    after = [] if change.kind == "delete" else _pretty(change.name, change.desired)
    whole = len(before) + len(after) <= 60
    context = max(len(before), len(after)) if whole else 3
    lines = []
    for line in difflib.unified_diff(before, after, lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            if not whole:
                lines.append("…")
            continue
        lines.append(line)
    return lines
