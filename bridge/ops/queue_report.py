"""Text and JSON reports for ``python -m bridge queue``; pure formatting of queue data."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from bridge.messenger import events
from bridge.obs.logs import hash_id
from bridge.outbound.jobs import from_payload, is_outbound_key
from bridge.queue import DeadLetter, PageState, Worker


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [headers, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def stats_report(
    stats: dict[str, Any],
    pages: list[PageState],
    workers: list[Worker],
    *,
    now: float,
    as_json: bool = False,
) -> str:
    """Counts by state, the oldest unfinished job, per-Page counts, Page holds, workers."""
    if as_json:
        return json.dumps(
            {
                **stats,
                "page_states": [asdict(p) for p in pages],
                "workers": [asdict(w) for w in workers],
            },
            indent=2,
        )
    parts = [_jobs_table(stats)]
    if stats["pages"]:
        rows = [[page, str(n)] for page, n in sorted(stats["pages"].items())]
        parts.append(table(["page", "unfinished"], rows))
    held = [p for p in pages if p.paused or p.blocked_until > now]
    if held:
        parts.append(_holds_table(held, now))
    if workers:
        rows = [[w.process, f"{max(0.0, now - w.heartbeat):.0f} s ago"] for w in workers]
        parts.append(table(["worker", "last heartbeat"], rows))
    return "\n\n".join(parts)


def _jobs_table(stats: dict[str, Any]) -> str:
    ready = stats["queued"] - stats["retrying"]
    rows = [
        ["pending", str(ready)],
        ["retrying", str(stats["retrying"])],
        ["in flight", str(stats["running"])],
        ["done", str(stats["done"])],
        ["dropped", str(stats["dropped"])],
        ["dead letters", str(stats["dead"])],
        ["oldest unfinished", f"{stats['oldest_age']:.1f} s"],
    ]
    return table(["jobs", "count"], rows)


def _holds_table(held: list[PageState], now: float) -> str:
    """The Pages delivery holds back: throttled until a time, or paused until a probe works."""
    rows = [
        [
            p.page,
            "paused" if p.paused else f"throttled {p.blocked_until - now:.0f} s more",
            _when(p.since),
            p.reason or "",
        ]
        for p in held
    ]
    return table(["page", "state", "since", "reason"], rows)


def dead_report(
    letters: list[DeadLetter], *, show_text: bool = False, as_json: bool = False
) -> str:
    """Dead letters with their reasons; what the person wrote only if asked."""
    records = [_letter_record(letter, show_text) for letter in letters]
    if as_json:
        return json.dumps(records, indent=2, ensure_ascii=False)
    if not records:
        return "no dead letters"
    headers = ["id", "state", "mid", "page", "user", "attempts", "finished", "reason"]
    if show_text:
        headers.append("text")
    rows = [[str(r[h]) for h in headers] for r in records]
    return table(headers, rows)


def _letter_record(letter: DeadLetter, show_text: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": letter.id,
        "state": letter.state,
        "mid": letter.key,
        "page": letter.page,
        "user": hash_id(letter.conversation),
        "attempts": letter.attempts,
        "finished": _when(letter.finished_at),
        "reason": letter.reason or "",
    }
    if show_text:
        try:
            record["text"] = _text_of(letter)
        except (ValueError, TypeError, AttributeError, KeyError):
            record["text"] = "(unreadable)"
    return record


def _text_of(letter: DeadLetter) -> str:
    """What the person wrote; for an outbound API message, what it was to say (or ask)."""
    if not is_outbound_key(letter.key):
        return events.bot_input(events.from_json(letter.payload))
    spec = from_payload(letter.payload)
    if spec.lex_text is not None:
        return f"(lex) {spec.lex_text}"
    return " ".join(str(m.get("text", "<message>")) for m in spec.messages)
