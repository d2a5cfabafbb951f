"""The metrics page: every process's counters, plus what the caller reads at scrape time.

Under gunicorn each worker process writes its counters and histograms (bridge/obs/metrics.py)
to its own files in ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py prepares a fresh folder per
server start and exports it before any worker is forked); a scrape, answered by whichever
process gets it, adds up every process's files with ``MultiProcessCollector``. Without that
variable (tests, ``bridge worker``) the default registry of this one process is used.

Gauges that describe shared state, not one process (the queue's, see
bridge/web/queue_metrics.py), are passed in by the caller and read once per scrape.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The folder the gunicorn workers share their counters in, if any."""
    path = os.environ.get(MULTIPROC_ENV)
    return path if path and os.path.isdir(path) else None


class _Scrape:
    """What one scrape reports: every process's counters (or this process's), then ``extra``."""

    def __init__(self, extra: Sequence[Collector]) -> None:
        self._extra = extra

    def collect(self) -> Iterator[Metric]:
        path = multiprocess_dir()
        if path is not None:
            collector = MultiProcessCollector(None, path=path)  # type: ignore[no-untyped-call]
            yield from collector.collect()  # type: ignore[no-untyped-call]
        else:
            yield from REGISTRY.collect()
        for extra in self._extra:
            yield from extra.collect()


def exposition(extra: Iterable[Collector] = (), *, accept: str = "") -> tuple[bytes, str]:
    """The metrics page and its content type (Prometheus text, or OpenMetrics if asked)."""
    encoder, content_type = choose_encoder(accept)
    return encoder(_Scrape(tuple(extra))), content_type
