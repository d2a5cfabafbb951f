"""What the soak prints: the faults it caused, the figures, each duplicate judged, the targets.

``report`` renders a run (the tally and what was observed besides) as lines; ``targets``
judges it. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.soak.tally import AT_KILL, KILL_WINDOW, Outage, Repeat, Tally


@dataclass(frozen=True)
class Observed:
    """What the run saw besides the replies: the webhook's answers, the fakes' fault counts,
    the outages, the queue after the drain and the server's logs."""

    statuses: dict[int, int]  # webhook answers by HTTP status
    failures: dict[str, int]  # posts with no answer: refused, reset, timeout
    redelivered: int
    graph_sends: int  # Send API message calls
    graph_5xx: int
    graph_held: int
    lex_calls: int
    lex_throttled: int
    outages: list[Outage]
    started: float  # time.time() when the load began
    load_seconds: float
    drained: float | None  # seconds after the load until the queue was idle (None: not in time)
    queue: dict[str, int] = field(default_factory=dict)  # `bridge queue stats --json` counts
    tracebacks: int = 0
    error_lines: int = 0  # server log lines at ERROR or above

    @property
    def webhook_5xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def webhook_other(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200 and status < 500)


def targets(tally: Tally, seen: Observed) -> list[tuple[str, bool]]:
    """Each target and whether the run met it."""
    return [
        ("every delivery acked", not tally.unacked),
        ("0 lost", not tally.lost),
        ("0 out of order", not tally.out_of_order),
        ("0 webhook 5xx", seen.webhook_5xx == 0),
        ("duplicates only for ambiguous sends", all(d.ambiguous for d in tally.duplicates)),
        ("Lex turns run twice only at the kill -9", all(r.ambiguous for r in tally.repeated_turns)),
        ("no stray replies", not tally.unexpected),
        ("queue drained", seen.drained is not None),
    ]


def _n(count: int) -> str:
    return f"{count:,}"


def _outage(outage: Outage, started: float) -> str:
    at = outage.at - started
    back = f"serving again {outage.up - outage.at:.1f} s later"
    return f"{outage.kind} at {at:.1f} s: stopped in {outage.stopped - outage.at:.1f} s, {back}"


def _judged(repeats: list[Repeat]) -> str:
    ambiguous = [r for r in repeats if r.ambiguous]
    causes: dict[str, int] = {}
    for repeat in ambiguous:
        for cause in repeat.causes:
            causes[cause] = causes.get(cause, 0) + 1
    detail = ", ".join(f"{_n(n)} {cause}" for cause, n in causes.items())
    return (
        f"{_n(len(repeats))} ({_n(len(ambiguous))} ambiguous{': ' + detail if detail else ''};"
        f" {_n(len(repeats) - len(ambiguous))} not ambiguous)"
    )


def _why(repeat: Repeat) -> str:
    if not repeat.ambiguous:
        return "NOT ambiguous"
    causes = list(repeat.causes)
    if repeat.before_kill is not None:
        lead = repeat.before_kill
        when = f"{lead:.2f} s before it" if lead >= 0 else f"{-lead:.2f} s after it, in flight"
        causes = [f"{c} ({when})" if c == AT_KILL else c for c in causes]
    return f"ambiguous: {', '.join(causes)}"


def _each(repeats: list[Repeat], what: str) -> list[str]:
    return [f"  {r.text}: {r.copies} {what}, {_why(r)}" for r in repeats]


def _faults(seen: Observed) -> list[str]:
    posts = sum(seen.statuses.values()) + sum(seen.failures.values())
    failed = ", ".join(f"{kind} {_n(n)}" for kind, n in sorted(seen.failures.items())) or "none"
    drained = "not in time" if seen.drained is None else f"{seen.drained:.1f} s later"
    queue = ", ".join(f"{_n(seen.queue.get(k, 0))} {k}" for k in _QUEUE_STATES)
    return [
        *(_outage(o, seen.started) for o in seen.outages),
        f"load over at {seen.load_seconds:.1f} s; faults off; queue drained {drained}",
        f"webhook: {_n(posts)} posts; no answer: {failed}; redelivered as Meta does:"
        f" {_n(seen.redelivered)}",
        f"Graph: {_n(seen.graph_sends)} message sends, {_n(seen.graph_5xx)} answered 5xx,"
        f" {_n(seen.graph_held)} held past the timeout",
        f"Lex: {_n(seen.lex_calls)} calls, {_n(seen.lex_throttled)} throttled",
        f"queue after the drain: {queue}",
        f"server logs: {_n(seen.tracebacks)} tracebacks, {_n(seen.error_lines)} lines at ERROR",
    ]


_QUEUE_STATES = ("queued", "retrying", "running", "done", "dropped", "dead")


def report(tally: Tally, seen: Observed) -> list[str]:
    """The run's lines: faults and outages, the figures, each duplicate judged, the targets."""
    missed = [name for name, met in targets(tally, seen) if not met]
    return [
        *_faults(seen),
        f"sent: {_n(tally.sent)}, acked: {_n(tally.acked)}, never acked: {_n(len(tally.unacked))}",
        f"lost: {_n(len(tally.lost))}",
        *(f"  {text}" for text in tally.lost[:20]),
        f"duplicated: {_judged(tally.duplicates)}",
        *_each(tally.duplicates, "replies"),
        f"out of order: {_n(len(tally.out_of_order))}",
        *(f"  {text}" for text in tally.out_of_order[:20]),
        f"webhook 5xx: {_n(seen.webhook_5xx)} (other non-200: {_n(seen.webhook_other)})",
        f"Lex turns run twice: {_judged(tally.repeated_turns)}",
        *_each(tally.repeated_turns, "turns"),
        f"stray replies: {_n(len(tally.unexpected))}",
        f"ambiguous: held by the Graph fake, or sent within {KILL_WINDOW:g} s before a kill -9",
        "targets: all met" if not missed else f"targets missed: {', '.join(missed)}",
    ]
