"""Housekeeping: this process's heartbeat, recovery of jobs whose process died, probes of
paused Pages, purge of finished jobs and of notification-messages tokens past their retention.

Every delivery process reports a heartbeat under an identity of its own (host and pid
namespace, pid, a random tag: a restarted process is a new one); the heartbeat is the lease of
every job the process runs, renewed every ``HEARTBEAT_EVERY`` while its turns run. A process on
this host whose pid no longer exists, or one elsewhere whose heartbeat stopped changing
(``bridge.delivery.liveness``), is taken for gone and its running jobs go back to the queue at
once. A stopped or slow process on this host keeps its jobs; its turns check they still hold
their job before each send (``bridge.delivery.turn``).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable

from bridge.delivery.liveness import STALE_AFTER, HeartbeatWatch, pid_alive, process_namespace
from bridge.delivery.page_routes import PageRoute
from bridge.errors import GraphError
from bridge.obs import metrics
from bridge.queue import DeliveryQueue, PageState, Worker

log = logging.getLogger(__name__)

DONE_RETENTION = 7 * 24 * 3600.0  # keep finished jobs (and their dedupe keys) for a week
PURGE_EVERY = 3600.0
HEARTBEAT_EVERY = 2.0


def new_identity() -> Worker:
    """A fresh identity for this process (its heartbeat is not set yet)."""
    host, pid = process_namespace(), os.getpid()
    return Worker(f"{host}:{pid}:{secrets.token_hex(4)}", host, pid, 0.0)


class Housekeeper:
    """Keeps house for one delivery process; ``wake`` tells its threads work is claimable."""

    def __init__(
        self,
        queue: DeliveryQueue,
        *,
        route: Callable[[str], PageRoute | None],
        wake: Callable[[], None],
        probe_interval: float,
        clock: Callable[[], float],
    ) -> None:
        self._queue = queue
        self._route = route
        self._wake = wake
        self._probe_interval = probe_interval
        self._clock = clock
        self._last_purge = 0.0
        self._last_probe = 0.0
        self._watch = HeartbeatWatch(STALE_AFTER)
        self.identity = new_identity()

    def start(self, stopping: threading.Event) -> threading.Thread:
        """Take a new identity, keep house once, then every ``HEARTBEAT_EVERY`` in a thread
        until ``stopping`` is set (call after fork, in the process that delivers)."""
        self.identity = new_identity()
        self.keep_house()  # first: release what a previous incarnation left running
        thread = threading.Thread(
            target=self._loop, args=(stopping,), name="bridge-housekeeping", daemon=True
        )
        thread.start()
        return thread

    def keep_house(self) -> None:
        """Heartbeat, release jobs of dead processes, probe paused Pages, purge old jobs."""
        now = self._clock()
        me = self.identity
        self._queue.heartbeat(Worker(me.process, me.host, me.pid, now))
        released = self._queue.release_stale(dead=self._gone())
        if released:
            metrics.RELEASED.labels("stale_worker").inc(released)
            log.warning("released jobs of a stopped worker", extra={"count": released})
            self._wake()
        if now - self._last_probe >= self._probe_interval:
            self._last_probe = now
            self._probe_paused_pages()
        if now - self._last_purge >= PURGE_EVERY:
            self._last_purge = now
            purged = self._queue.purge(before=now - DONE_RETENTION)
            if purged:
                log.info("purged finished jobs", extra={"count": purged})
            forgotten = self._queue.purge_notification_tokens(now=now)
            if forgotten:
                log.info("forgot notification-messages tokens", extra={"count": forgotten})

    def forget(self) -> None:
        """Forget this process, so nobody waits for its heartbeat to go stale."""
        self._queue.release_stale(dead=[self.identity.process])

    def _loop(self, stopping: threading.Event) -> None:
        while not stopping.wait(HEARTBEAT_EVERY):
            try:
                self.keep_house()
            except Exception:
                log.exception("housekeeping failed; trying again shortly")

    def _gone(self) -> list[str]:
        """Processes on this host that reported before but no longer exist, and processes
        elsewhere whose heartbeat stopped (``bridge.delivery.liveness``)."""
        me = self.identity
        workers = [w for w in self._queue.workers() if w.process != me.process]
        here = [w for w in workers if w.host == me.host]
        gone = [w.process for w in here if w.pid == me.pid or not pid_alive(w.pid)]
        return gone + self._watch.silent(w for w in workers if w.host != me.host)

    def _probe_paused_pages(self) -> None:
        """Probe each paused Page with its own token; resume it when the probe works."""
        for page in self._queue.pages():
            if page.paused:
                self._probe(page)

    def _probe(self, page: PageState) -> None:
        route = self._route(page.page)
        if route is None:
            # No longer served: let its jobs end as page_not_configured.
            if self._queue.resume_page(page.page):
                log.warning("paused Page is no longer served; resumed", extra={"page": page.page})
                self._wake()
            return
        try:
            with metrics.graph_call("probe"):
                route.graph.probe()
        except GraphError as exc:
            log.debug(
                "paused Page still failing",
                extra={"page": page.page, "error": exc.describe(), "fbtrace_id": exc.fbtrace_id},
            )
            return
        if self._queue.resume_page(page.page):
            metrics.PAGE_RESUMES.inc()
            log.warning("Page resumed: the probe succeeded", extra={"page": page.page})
            self._wake()
