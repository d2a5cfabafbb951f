"""The SQLite queue's fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.queue.sqlite.store import SqliteQueue


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[SqliteQueue]:
    """A fresh queue in its own database, closed after the test."""
    q = SqliteQueue(tmp_path / "queue.db")
    yield q
    q.close()
