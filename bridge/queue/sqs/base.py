"""What every part of ``SqsQueue`` stands on: the clients, the table, and this process's state.

The parts (claims, running jobs, threads, Pages, housekeeping, stats, dead letters) share the
messages this process holds, its view of the Pages and its lease thread; each part is a class
on this base, and ``bridge.queue.sqs.queue.SqsQueue`` is all of them.
"""

from __future__ import annotations

import threading
from typing import Any

from bridge.config.queue import AwsQueueSettings
from bridge.queue.sqs.aws import Clients, check_region
from bridge.queue.sqs.dead import DeadLetters
from bridge.queue.sqs.held import Holdings
from bridge.queue.sqs.leases import Leases
from bridge.queue.sqs.page_cache import PageCache
from bridge.queue.sqs.processes import Processes
from bridge.queue.sqs.table import Table


class SqsBase:
    """The SQS FIFO queue and DynamoDB table of ``settings``, and what this process holds."""

    def __init__(self, settings: AwsQueueSettings) -> None:
        check_region(settings.region)
        self.settings = settings
        self.url = settings.queue_url
        self._visibility = settings.visibility_timeout
        self._wait = settings.wait_time
        self._clients = Clients(settings.region, long_poll=settings.wait_time)
        self.table = Table(settings.table, lambda: self._clients.dynamodb)
        self.dead = DeadLetters(self.url, self.table, lambda: self._clients.sqs)
        self._held = Holdings()
        self._page_cache = PageCache(self.table)
        self._leases = Leases(
            url=self.url,
            sqs=lambda: self._clients.sqs,
            visibility=self._visibility,
            held=self._held,
            pages=self._page_cache,
            dead=self.dead,
        )
        self._processes = Processes()
        self._receiving = threading.Lock()
        self._receive_after = 0.0  # monotonic: no receive before (after a failed one)
        self._heartbeats: dict[str, float] = {}  # process → the heartbeat last written

    @property
    def _sqs(self) -> Any:
        return self._clients.sqs
