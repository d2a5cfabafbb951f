"""What a replay did: each delivery attempt's outcome, and the summary of a run; pure.

An outcome is filled in as the attempt goes (posted, answered, followed), so it is a mutable
record; the summary is computed once at the end and decides the exit status.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EventState:
    key: str
    sender: str
    state: str | None = None  # None: not followed (no local bridge, --no-wait, or refused)


@dataclass
class Outcome:
    """What happened to one delivery attempt, or to a file that could not be sent."""

    file: str
    attempt: int | None  # None: the file was not sent (not a webhook body)
    status: int | None = None  # None: not sent, or no answer
    latency_ms: float | None = None
    error: str | None = None
    events: list[EventState] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)  # Send API bodies, in order
    followed: bool = False
    timed_out: bool = False

    @property
    def accepted(self) -> bool:
        return self.status == 200


@dataclass(frozen=True, slots=True)
class Summary:
    sent: int  # POSTs attempted
    accepted: int  # answered 200
    refused: int  # answered anything else
    failed: int  # no answer (connection error, timeout)
    invalid: int  # files that are not webhook bodies (not sent)
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    states: dict[str, int]  # final job states of followed events
    unfinished: int  # followed deliveries whose events were not final by --wait
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return (
            not self.interrupted
            and self.invalid == 0
            and self.sent > 0
            and self.accepted == self.sent
        )


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (``p`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarise(outcomes: Iterable[Outcome], *, interrupted: bool = False) -> Summary:
    outcomes = list(outcomes)
    sent = [o for o in outcomes if o.attempt is not None]
    latencies = [o.latency_ms for o in sent if o.latency_ms is not None and o.status is not None]
    states = Counter(
        event.state for o in outcomes if o.followed for event in o.events if event.state
    )
    return Summary(
        sent=len(sent),
        accepted=sum(1 for o in sent if o.accepted),
        refused=sum(1 for o in sent if o.status is not None and not o.accepted),
        failed=sum(1 for o in sent if o.status is None),
        invalid=len(outcomes) - len(sent),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        max_ms=max(latencies, default=None),
        states=dict(sorted(states.items())),
        unfinished=sum(1 for o in outcomes if o.timed_out),
        interrupted=interrupted,
    )
