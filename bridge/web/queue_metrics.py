"""The queue's gauges, read from the shared queue database when ``/metrics`` is scraped.

Jobs by state, the oldest unfinished job's age, paused and throttled Pages, delivery processes
alive: nobody counts these; ``QueueCollector`` reads them once per scrape, so they are never
multiplied by the number of server processes (bridge/obs/exposition.py adds them to the page).
Page ids appear only on the per-Page gauge, read from the table of Pages that were ever
throttled or paused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from bridge.errors import QueueError
from bridge.queue import STATES, PageState, Stats

log = logging.getLogger(__name__)

_UP_HELP = "1 if the queue database could be read at this scrape."


class QueueCollector:
    """Gauges read from the shared queue database when scraped (once per scrape)."""

    def __init__(
        self, queue: Stats, *, stale_after: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._queue = queue
        self._stale_after = stale_after
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        try:
            stats = self._queue.stats(now=now)
            pages = self._queue.pages()
            workers = self._queue.workers()
        except QueueError as exc:
            log.warning("metrics: the queue could not be read", extra={"error": str(exc)})
            yield GaugeMetricFamily("bridge_queue_up", _UP_HELP, 0)
            return
        yield GaugeMetricFamily("bridge_queue_up", _UP_HELP, 1)
        yield from _job_gauges(stats)
        yield from _page_gauges(pages, now)
        alive = [w for w in workers if w.heartbeat >= now - self._stale_after]
        yield GaugeMetricFamily(
            "bridge_delivery_processes",
            "Processes running delivery that reported a heartbeat recently (all hosts).",
            len(alive),
        )


def _job_gauges(stats: Mapping[str, Any]) -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        "bridge_queue_jobs",
        "Jobs in the queue database by state (queued, running, done, dropped, dead; done"
        " and dropped are kept for a week).",
        labels=["state"],
    )
    for state in STATES:
        jobs.add_metric([state], float(stats.get(state, 0)))
    yield jobs
    yield GaugeMetricFamily(
        "bridge_queue_retrying_jobs",
        "Queued jobs waiting for a retry (a subset of state=queued).",
        float(stats.get("retrying", 0)),
    )
    yield GaugeMetricFamily(
        "bridge_queue_oldest_unfinished_age_seconds",
        "Age of the oldest queued or running job (0 when there is none).",
        float(stats.get("oldest_age", 0.0)),
    )


def _page_gauges(pages: Sequence[PageState], now: float) -> Iterator[Metric]:
    paused = [page for page in pages if page.paused]
    throttled = [page for page in pages if not page.paused and page.blocked_until > now]
    yield GaugeMetricFamily(
        "bridge_pages_paused",
        "Pages whose sending is paused until a token probe succeeds.",
        len(paused),
    )
    yield GaugeMetricFamily(
        "bridge_pages_throttled", "Pages held by a Graph rate limit right now.", len(throttled)
    )
    per_page = GaugeMetricFamily(
        "bridge_page_paused",
        "1 if this Page is paused (Pages that were ever throttled or paused).",
        labels=["page"],
    )
    for page in pages:
        per_page.add_metric([page.page], 1.0 if page.paused else 0.0)
    yield per_page
