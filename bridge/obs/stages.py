"""The stage profile: where a turn's time goes, and each write of the embedded queue.

Two histograms beside the others of bridge/obs/metrics.py, observed several times per turn
(``make bench`` prints them after each bridge load). Each label's series is made once, at
import, and observed directly: ``labels()`` on every observation cost about a third of it,
and the queue's writer observes two per change.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Histogram

from bridge.obs.metrics import FAST_BUCKETS

TURN_STAGES = ("claim", "ask", "send", "ledger", "ack")
TURN_STAGE = Histogram(
    "bridge_turn_stage_seconds",
    "Where a turn's time goes: claiming it from the queue (none when the webhook's commit"
    " claimed it), asking the bot (seen and typing included), each send, each ledger write,"
    " the ack (with the next claim).",
    ["stage"],
    buckets=FAST_BUCKETS,
)
QUEUE_WRITES = ("enqueue", "claim", "update", "ack", "retry", "drop", "bury", "threads", "other")
QUEUE_WRITE = Histogram(
    "bridge_queue_write_seconds",
    "Each queue change in the embedded queue: waiting for this process's transaction in"
    " progress to end (phase wait), then the transaction it is committed in (phase commit).",
    ["change", "phase"],
    buckets=FAST_BUCKETS,
)

_STAGES = {name: TURN_STAGE.labels(name) for name in TURN_STAGES}
_WRITES = {
    change: (QUEUE_WRITE.labels(change, "wait"), QUEUE_WRITE.labels(change, "commit"))
    for change in QUEUE_WRITES
}


def observe_stage(name: str, seconds: float) -> None:
    """One stage of a turn (``TURN_STAGES``) took ``seconds``."""
    _STAGES[name].observe(seconds)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time one stage of a turn (``TURN_STAGES``)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _STAGES[name].observe(time.perf_counter() - started)


def observe_queue_write(change: str, wait: float, commit: float) -> None:
    """A queue change (``QUEUE_WRITES``; any other counts as ``other``) waited ``wait`` for
    the transaction in progress, then ``commit`` for its transaction."""
    waited, committed = _WRITES.get(change) or _WRITES["other"]
    waited.observe(wait)
    committed.observe(commit)
