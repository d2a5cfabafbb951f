"""Page state in the SQS backend's table: one item per Page under ``pages``, changed with
conditions (only one caller pauses or resumes a Page; a throttle never shortens another)."""

from __future__ import annotations

from bridge.queue.records import PageState
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.base import SqsBase
from bridge.queue.sqs.table import Expr


class SqsPages(SqsBase):
    """``bridge.queue.Pages``; each change also refreshes this process's ``PageCache``."""

    def block_page(self, page: str, *, until: float, reason: str, now: float) -> None:
        """Hold every send to ``page`` until ``until`` (a throttle; never shortens one)."""
        expr = Expr().set("blocked_until", until).set("reason", reason).set("since", now)
        expr.set_default("paused", False)
        longer = f"{expr.missing('blocked_until')} OR {expr.n('blocked_until')} < {expr.v(until)}"
        if not self.table.update(items.PAGES_PK, page, expr, longer, what="page").ok:
            plain = Expr().set("reason", reason).set("since", now)
            self.table.update(items.PAGES_PK, page, plain, what="page")
        self._page_cache.invalidate()

    def pause_page(self, page: str, *, reason: str, now: float) -> bool:
        """Stop sending to ``page`` until resumed; True only for the call that paused it."""
        expr = Expr().set("paused", True).set("reason", reason).set("since", now)
        expr.set_default("blocked_until", 0)
        condition = f"{expr.missing('paused')} OR {expr.equals('paused', False)}"
        paused = self.table.update(items.PAGES_PK, page, expr, condition, what="page").ok
        self._page_cache.invalidate()
        return paused

    def resume_page(self, page: str) -> bool:
        """Allow sending to ``page`` again; True only for the call that resumed it."""
        expr = Expr().set("paused", False)
        resumed = self.table.update(
            items.PAGES_PK, page, expr, expr.equals("paused", True), what="page"
        ).ok
        self._page_cache.invalidate()
        return resumed

    def pages(self) -> list[PageState]:
        """Every Page that was ever throttled or paused, and its state."""
        return self._page_cache.read()
