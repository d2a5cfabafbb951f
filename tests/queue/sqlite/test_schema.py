"""The SQLite queue's schema upgrade (bridge/queue/sqlite/schema.py): a database made by an
earlier release gains the newer columns, tables and trigger, filled from its jobs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bridge.queue.sqlite.store import SqliteQueue
from tests.queue.sqlite.test_store import job


def test_an_old_database_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
            " conversation TEXT NOT NULL, order_ts INTEGER NOT NULL, payload TEXT NOT NULL,"
            " state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
            " not_before REAL NOT NULL DEFAULT 0, owner TEXT, lease_until REAL NOT NULL"
            " DEFAULT 0, reply TEXT, sent INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
            " created_at REAL NOT NULL, finished_at REAL)"
        )
        old.execute(
            "INSERT INTO jobs (key, conversation, order_ts, payload, created_at)"
            " VALUES ('m_old', 'p:1', 1, '{}', 0)"
        )
    upgraded = SqliteQueue(path)
    try:
        claimed = upgraded.claim(owner="w", process="p", now=1, lease=30)
        assert claimed is not None and claimed.key == "m_old"
    finally:
        upgraded.close()


def _undo(path: Path, statement: str) -> None:
    """Make the database at ``path`` as it was before this release (``statement`` drops what
    the release added)."""
    connection = sqlite3.connect(path)
    connection.execute(statement)
    connection.commit()
    connection.close()


def test_a_database_from_before_the_threads_table_gets_one(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SqliteQueue(path)
    old.put([job("a1", "p:1", ts=1000), job("a2", "p:1", ts=3000), job("b", "q:2", ts=2000)], now=9)
    old.close()
    _undo(path, "DROP TABLE threads")
    upgraded = SqliteQueue(path)
    try:
        first, second = upgraded.thread("p", "1"), upgraded.thread("q", "2")
        assert first is not None and first.last_inbound == 3000 and not first.ever_held
        assert second is not None and second.last_inbound == 2000
    finally:
        upgraded.close()
    again = SqliteQueue(path)  # opening an up-to-date database changes nothing
    try:
        assert again.thread("p", "1") == first
    finally:
        again.close()


def test_a_database_from_before_the_head_trigger_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SqliteQueue(path)
    old.put([job("late", "p:1", ts=5000)], now=1)
    old.close()
    _undo(path, "DROP TRIGGER jobs_new_head")
    upgraded = SqliteQueue(path)
    try:
        upgraded.put([job("early", "p:1", ts=1000), job("other", "q:2", ts=3000)], now=2)
        with sqlite3.connect(path) as reader:
            heads = dict(reader.execute("SELECT conversation, head_ts FROM conversations"))
        assert heads == {"p:1": 1000, "q:2": 3000}  # the older job is the head now
        claimed = upgraded.claim(owner="w", process="p", now=3, lease=30)
        assert claimed is not None and claimed.key == "early"
    finally:
        upgraded.close()
