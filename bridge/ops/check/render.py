"""The verdicts for a person (✓/✗ lines, a fix under each failure, a summary) or for a
program (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bridge.ops.check.result import CheckResult


def render_text(results: Sequence[CheckResult]) -> str:
    """A ✓/✗ line per check (– when not run), the fix under each failure, then a summary;
    with several Pages, each Page's checks under its name."""
    lines = []
    page: str | None = None
    for result in results:
        if result.page != page:
            page = result.page
            lines.append(f"Page {page}:" if page is not None else "")
        mark = "–" if result.skipped else "✓" if result.ok else "✗"
        lines.append(f"{mark} {result.title}: {result.detail}")
        if not result.ok and result.fix:
            lines.append(f"    fix: {result.fix}")
    failed = [r for r in results if not r.ok and not r.skipped]
    not_run = [r for r in results if not r.ok and r.skipped]
    if not failed and not not_run:
        lines.append(f"\nAll {len(results)} checks passed.")
    else:
        summary = f"{len(failed)} of {len(results)} checks failed"
        if not_run:
            summary += f", {len(not_run)} could not run"
        lines.append(f"\n{summary}.")
    return "\n".join(lines)


def render_json(results: Sequence[CheckResult]) -> str:
    return json.dumps([result.to_json() for result in results], indent=2, ensure_ascii=False)
