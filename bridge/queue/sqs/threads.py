"""Thread state in the SQS backend's table: one item per (Page, person), with a version.

Every change is the pure ``bridge.messenger.thread_control.apply`` between a read and a write
conditioned on the version read, so two processes changing one thread at once never lose a
change: the one refused reads again.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.errors import QueueError
from bridge.messenger.thread_control import ThreadSignal, ThreadState, apply_all
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.base import SqsBase
from bridge.queue.sqs.table import PK, Expr, thread_pk

THREAD_WRITE_ATTEMPTS = 10


class SqsThreads(SqsBase):
    """``bridge.queue.Threads`` on the table's thread items."""

    def record_threads(self, signals: Sequence[ThreadSignal], *, now: float) -> None:
        """Apply ``signals`` to their threads: read, ``bridge.messenger.thread_control.apply``,
        write if the version is unchanged (else read again)."""
        by_thread: dict[tuple[str, str], list[ThreadSignal]] = {}
        for signal in signals:
            by_thread.setdefault((signal.page, signal.user), []).append(signal)
        for (page, user), batch in by_thread.items():
            self._record_thread(page, user, batch, now)

    def _record_thread(self, page: str, user: str, batch: list[ThreadSignal], now: float) -> None:
        for _ in range(THREAD_WRITE_ATTEMPTS):
            item = self.table.get(thread_pk(page, user), items.THREAD_SK)
            state = items.thread_from_item(item, page, user)
            changed = apply_all(state, batch)
            if item is not None and changed == state:
                return  # a redelivery: nothing new
            version = int(item.get("version") or 0) if item else 0
            expr = Expr()
            condition = expr.missing(PK) if item is None else expr.equals("version", version)
            values = items.thread_item(changed, version=version + 1, now=now)
            if self.table.put(values, expr, condition, what="threads").ok:
                return
        raise QueueError(f"threads: {THREAD_WRITE_ATTEMPTS} conflicting updates in a row")

    def thread(self, page: str, user: str) -> ThreadState | None:
        """What is known about the thread of ``user`` on ``page`` (None: nothing yet)."""
        item = self.table.get(thread_pk(page, user), items.THREAD_SK)
        return None if item is None else items.thread_from_item(item, page, user)
