"""What a fuzz run prints: pure, from its outcomes, the log's report and the server's state.

``status_table`` counts the statuses, ``kind_table`` the statuses of each kind of mutation,
``failure_lines`` names each case that got a status it should not have (a 5xx, no answer,
a 200 for an unsigned body …) with what to run to send it again, and ``problems`` is the
verdict: empty when the run met its target (no failed case, no traceback, no worker
restarted, no secret in the log, the server alive and answering ``/healthz``). ERROR lines
are shown, grouped by what they say, for a reader to judge: they fail no run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.fuzz.cases import WEIGHTS
from bench.fuzz.logscan import LogReport
from bench.fuzz.sender import NO_ANSWER, Outcome

SHOWN_FAILURES = 20
SHOWN_LINES = 5


@dataclass(frozen=True)
class Server:
    """The server after the run: its ``/healthz`` status (``NO_ANSWER``: none), whether its
    process is alive (None: not ours to see) and how many workers it was started with (None:
    unknown, so any boot during the run is a restart)."""

    healthz: int
    alive: bool | None
    workers: int | None


def status_name(status: int) -> str:
    return "no answer" if status == NO_ANSWER else str(status)


def status_table(outcomes: Sequence[Outcome]) -> list[str]:
    counts = Counter(o.status for o in outcomes)
    lines = [f"{'status':<10}{'count':>10}{'share':>9}"]
    for status in sorted(counts):
        share = counts[status] / len(outcomes)
        lines.append(f"{status_name(status):<10}{counts[status]:>10,}{share:>9.2%}")
    return lines


def kind_table(outcomes: Sequence[Outcome]) -> list[str]:
    """A row per kind of mutation (in ``WEIGHTS`` order), a column per status seen."""
    statuses = sorted({o.status for o in outcomes})
    counts = Counter((o.kind, o.status) for o in outcomes)
    kinds = [kind for kind in WEIGHTS if any(o.kind == kind for o in outcomes)]
    header = f"{'kind':<15}" + "".join(f"{status_name(s):>10}" for s in statuses)
    lines = [header]
    for kind in kinds:
        cells = "".join(
            f"{counts[kind, s]:>10,}" if counts[kind, s] else f"{'·':>10}" for s in statuses
        )
        lines.append(f"{kind:<15}{cells}")
    return lines


def failure_lines(
    outcomes: Sequence[Outcome], again: Callable[[int], str], shown: int = SHOWN_FAILURES
) -> list[str]:
    """``case_lines`` of the first ``shown`` failed cases, and how many more there are."""
    failed = [o for o in outcomes if o.failed]
    lines = case_lines(failed[:shown], again)
    if len(failed) > shown:
        lines.append(f"… and {len(failed) - shown:,} more")
    return lines


def case_lines(outcomes: Sequence[Outcome], again: Callable[[int], str]) -> list[str]:
    """Two lines per case: its index, kind, status against the statuses expected, size, the
    corpus file and what was done to it; then the command that sends it again."""
    lines = []
    for outcome in outcomes:
        expected = "/".join(str(s) for s in sorted(outcome.expected))
        lines.append(
            f"#{outcome.index} {outcome.kind}: {status_name(outcome.status)} (expected"
            f" {expected}), {outcome.size:,} bytes from {outcome.source}: {outcome.note}"
        )
        lines.append(f"    again: {again(outcome.index)}")
    return lines


def log_lines(log: LogReport) -> list[str]:
    """The log's summary, the first few tracebacks, and what its ERROR lines say."""
    levels = ", ".join(f"{level} {count:,}" for level, count in log.levels.most_common())
    lines = [
        f"log: {log.lines:,} lines ({levels or 'none'}); {len(log.tracebacks)} tracebacks,"
        f" {log.errors.total():,} ERROR lines, {log.boots} worker boots,"
        f" secrets in it: {', '.join(log.leaks) or 'none'}"
    ]
    lines += [f"  traceback: {line}" for line in log.tracebacks[:SHOWN_LINES]]
    lines += [f"  ERROR × {n:,}: {what}" for what, n in log.errors.most_common(SHOWN_LINES)]
    return lines


def problems(outcomes: Sequence[Outcome], log: LogReport | None, server: Server) -> list[str]:
    """Why the run missed its target; empty if it met it."""
    found: list[str] = []
    fives = sum(1 for o in outcomes if o.status >= 500)
    if fives:
        found.append(f"{fives:,} answers were 5xx")
    others = sum(1 for o in outcomes if o.failed and o.status < 500)
    if others:
        found.append(f"{others:,} answers were not what their case expects")
    if log is not None:
        found += _log_problems(log, server.workers)
    if server.alive is False:
        found.append("the server process is not running")
    if server.healthz != 200:
        found.append(f"/healthz answered {status_name(server.healthz)}")
    return found


def _log_problems(log: LogReport, workers: int | None) -> list[str]:
    found = []
    if log.tracebacks:
        found.append(f"{len(log.tracebacks)} tracebacks in the log")
    restarts = log.boots - (workers or 0)
    if restarts > 0:
        found.append(f"{restarts} workers restarted ({log.boots} boots)")
    if log.leaks:
        found.append(f"secrets in the log: {', '.join(log.leaks)}")
    return found
