"""This process's view of the Pages' holds (throttled, paused), at most a second old.

Every claim and every lease renewal asks whether a message's Page is held; reading the table
each time would cost a DynamoDB query per message, so the view is read again only when it is
older than ``PAGE_CACHE_SECONDS``, or at once after this process changed a Page.
"""

from __future__ import annotations

import time

from bridge.queue.records import PageState
from bridge.queue.sqs import jobitems as items
from bridge.queue.sqs.table import Table

PAGE_CACHE_SECONDS = 1.0  # how stale this process's view of Page holds may be


class PageCache:
    """The Pages' states as last read from the table (thread-safe: one dict replaced whole)."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._states: dict[str, PageState] = {}
        self._read_at = float("-inf")

    def read(self) -> list[PageState]:
        """Every Page that was ever throttled or paused, read now, sorted by Page."""
        found = [items.page_from_item(item) for item in self._table.query(items.PAGES_PK)]
        self._states = {page.page: page for page in found}
        self._read_at = time.monotonic()
        return sorted(found, key=lambda page: page.page)

    def refresh(self) -> None:
        """Read again if the view is older than ``PAGE_CACHE_SECONDS``."""
        if time.monotonic() - self._read_at >= PAGE_CACHE_SECONDS:
            self.read()

    def invalidate(self) -> None:
        """This process changed a Page: the next ``refresh`` reads the table."""
        self._read_at = float("-inf")

    def get(self, page: str) -> PageState | None:
        return self._states.get(page)

    def holds(self, page: str, now: float) -> bool:
        """Whether ``page`` is paused or throttled at ``now`` (as last read)."""
        state = self._states.get(page)
        return state is not None and (state.paused or state.blocked_until > now)
