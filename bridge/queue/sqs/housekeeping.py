"""The queue's upkeep in the SQS backend: heartbeats in the table, forgetting processes gone.

Jobs need no releasing here (a dead holder's messages reappear by themselves after their
visibility timeout) and none purging (the table's TTL forgets finished jobs, and
notification-messages tokens past their retention).
"""

from __future__ import annotations

from bridge.queue.records import Worker
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.base import SqsBase

HEARTBEAT_WRITE_EVERY = 5.0  # seconds between a process's heartbeat writes


class SqsHousekeeping(SqsBase):
    """``bridge.queue.Housekeeping`` on the table's worker items."""

    def heartbeat(self, worker: Worker) -> None:
        """Record that ``worker.process`` is alive (written at most every 5 s)."""
        last = self._heartbeats.get(worker.process, float("-inf"))
        if worker.heartbeat - last < HEARTBEAT_WRITE_EVERY:
            return
        self.table.put_plain(items.worker_item(worker), what="heartbeat")
        self._heartbeats[worker.process] = worker.heartbeat

    def workers(self) -> list[Worker]:
        """Every process that reported a heartbeat (and was not yet forgotten)."""
        found = self.table.query(items.WORKERS_PK)
        return sorted((items.worker_from_item(i) for i in found), key=lambda w: w.process)

    def release_stale(self, *, dead: list[str]) -> int:
        """Forget the processes in ``dead``. Their messages reappear by themselves (visibility
        timeout); when ``dead`` names a delivery process of this very process (it is
        stopping), the messages it holds are let go now. Returns how many."""
        for worker in self.workers():
            if worker.process in dead:
                self.table.delete(items.WORKERS_PK, worker.process)
        if not self._processes.stop(dead):
            return 0
        return self._leases.stop_holding()

    def purge(self, *, before: float) -> int:
        """Nothing to do: the table's TTL forgets finished jobs (see the module doc)."""
        return 0
