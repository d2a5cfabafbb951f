"""A replay's outcomes and summary as terminal lines or JSON lines; pure.

Replies are shown as ``bridge chat`` shows them (bridge/ops/chat.py ``describe``), sender
actions left out: the point is what the person would read.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from bridge.ops.chat import describe
from bridge.ops.replay.outcomes import Outcome, Summary

KEY_WIDTH = 24


def outcome_json(outcome: Outcome) -> str:
    """One JSON line for a delivery attempt (or a file that was not sent)."""
    return json.dumps(
        {
            "file": outcome.file,
            "attempt": outcome.attempt,
            "status": outcome.status,
            "latency_ms": outcome.latency_ms,
            "error": outcome.error,
            "events": [
                {"key": e.key, "sender": e.sender, "state": e.state} for e in outcome.events
            ],
            "skipped": outcome.skipped,
            "replies": outcome.replies,
            "followed": outcome.followed,
            "timed_out": outcome.timed_out,
        },
        ensure_ascii=False,
    )


def summary_json(summary: Summary) -> str:
    return json.dumps(
        {
            "summary": {
                "sent": summary.sent,
                "accepted": summary.accepted,
                "refused": summary.refused,
                "failed": summary.failed,
                "invalid": summary.invalid,
                "latency_ms": {"p50": summary.p50_ms, "p95": summary.p95_ms, "max": summary.max_ms},
                "states": summary.states,
                "unfinished": summary.unfinished,
                "interrupted": summary.interrupted,
                "ok": summary.ok,
            }
        }
    )


def format_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def short_key(key: str) -> str:
    return key if len(key) <= KEY_WIDTH else key[: KEY_WIDTH - 1] + "…"


def plural(count: int, word: str) -> str:
    """``1 file``, ``2 files``, ``2 deliveries``."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def _skipped_note(reasons: Sequence[str]) -> str:
    counts = Counter(reasons)
    return "skipped: " + ", ".join(
        reason if count == 1 else f"{reason} ×{count}" for reason, count in counts.items()
    )


def format_outcome(outcome: Outcome, *, width: int = 0, repeat: int = 1) -> list[str]:
    """Terminal lines for a delivery attempt: file, attempt (if ``repeat`` > 1), status,
    latency, then (when followed) each sender's jobs and the replies, rendered as
    ``bridge chat`` shows them (sender actions left out)."""
    name = outcome.file.ljust(width)
    if repeat > 1:
        name += f" #{outcome.attempt or '-':<{len(str(repeat))}}"
    status = "---" if outcome.status is None else str(outcome.status)
    head = f"{name}  {status:>3}  {format_ms(outcome.latency_ms):>8}  {_notes(outcome)}"
    if not outcome.followed:
        return [head.rstrip()]
    lines = [head]
    for sender in dict.fromkeys(event.sender for event in outcome.events):
        lines += _sender_lines(outcome, sender)
    if outcome.timed_out:
        lines.append("  (not finished within the --wait time)")
    return lines


def _notes(outcome: Outcome) -> str:
    notes: list[str] = []
    if outcome.error:
        notes.append(outcome.error)
    elif not outcome.accepted:
        notes.append("refused")
    if outcome.events:
        notes.append(plural(len(outcome.events), "event"))
    if outcome.skipped:
        notes.append(_skipped_note(outcome.skipped))
    return "  ".join(notes)


def _sender_lines(outcome: Outcome, sender: str) -> list[str]:
    """One sender's jobs and their final states, then what the bridge sent them."""
    jobs = ", ".join(
        f"{short_key(e.key)} {e.state or '?'}" for e in outcome.events if e.sender == sender
    )
    said = [
        line
        for body in outcome.replies
        if (body.get("recipient") or {}).get("id") == sender and "message" in body
        for line in describe(body)[0]
    ]
    return [f"  {sender}  {jobs}", *(f"    {line}" for line in said or ["(no reply)"])]


def format_summary(summary: Summary) -> list[str]:
    lines = [
        f"sent {summary.sent}: {summary.accepted} accepted, {summary.refused} refused, "
        f"{summary.failed} failed to send"
        + (f"; {plural(summary.invalid, 'file')} not a webhook body" if summary.invalid else "")
    ]
    if summary.p50_ms is not None:
        lines.append(
            f"latency p50 {format_ms(summary.p50_ms)}, p95 {format_ms(summary.p95_ms)}, "
            f"max {format_ms(summary.max_ms)}"
        )
    if summary.states or summary.unfinished:
        states = ", ".join(f"{count} {state}" for state, count in summary.states.items())
        unfinished = (
            f" ({plural(summary.unfinished, 'delivery')} not finished in time)"
            if summary.unfinished
            else ""
        )
        lines.append(f"jobs: {states or 'none'}{unfinished}")
    if summary.interrupted:
        lines.append("interrupted")
    return lines
