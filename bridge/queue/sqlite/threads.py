"""Thread state in SQLite: one row per (Page, person) in the ``threads`` table.

Every change is the pure ``bridge.messenger.thread_control.apply`` between a read and a write
of the row, inside a write transaction: the webhook's own (``record_threads`` is called from
``put``, so the signals commit with their jobs) or the worker's. The one shortcut: the person's
messages on a thread never held are written without the read (``_INBOUND_UNHELD``, the same
result as ``apply``, a property test checks).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import fields

from bridge.messenger.thread_control import ThreadSignal, ThreadState, apply_all
from bridge.queue.sqlite.database import Database

_FIELDS = tuple(field.name for field in fields(ThreadState))  # a row's columns, in this order
_THREAD_COLUMNS = ", ".join(_FIELDS)
_SAVE_THREAD = (
    f"INSERT INTO threads ({_THREAD_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (page, user) DO UPDATE SET last_inbound = excluded.last_inbound,"
    " holder = excluded.holder, held_from = excluded.held_from,"
    " held_until = excluded.held_until, human_seen = excluded.human_seen,"
    " standby_seen = excluded.standby_seen, reason = excluded.reason,"
    " updated_at = excluded.updated_at"
)

# The person's messages on a thread never held (held_from 0: most threads, most of the time):
# ``apply`` only moves ``last_inbound`` on, so one statement writes the row without reading it
# (one statement fewer on the webhook's path, each a wait for the GIL in the writer). A held
# thread's row is left alone (no row changes) and goes through ``apply``.
_INBOUND_UNHELD = (
    "INSERT INTO threads (page, user, last_inbound, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (page, user) DO UPDATE SET"
    " last_inbound = max(last_inbound, excluded.last_inbound), updated_at = excluded.updated_at"
    " WHERE held_from = 0"
)


def record_threads(
    connection: sqlite3.Connection, signals: Sequence[ThreadSignal], now: float
) -> None:
    """Apply ``signals`` to their threads' rows (read,
    ``bridge.messenger.thread_control.apply``, write; a never-held thread's messages in one
    write, ``_INBOUND_UNHELD``)."""
    by_thread: dict[tuple[str, str], list[ThreadSignal]] = {}
    for signal in signals:
        by_thread.setdefault((signal.page, signal.user), []).append(signal)
    for (page, user), batch in by_thread.items():
        if all(signal.kind == "inbound" for signal in batch):
            latest = max(0, *(signal.at for signal in batch))
            if connection.execute(_INBOUND_UNHELD, (page, user, latest, now)).rowcount:
                continue  # a thread never held: the row written without reading it first
        row = connection.execute(
            f"SELECT {_THREAD_COLUMNS} FROM threads WHERE page = ? AND user = ?", (page, user)
        ).fetchone()
        state = ThreadState(*row) if row is not None else ThreadState(page, user)
        changed = apply_all(state, batch)
        connection.execute(_SAVE_THREAD, (*_row(changed), now))


def _row(state: ThreadState) -> tuple[object, ...]:
    """The state's fields in column order (``dataclasses.astuple`` would deep-copy each
    value, on the webhook's path)."""
    return tuple(getattr(state, name) for name in _FIELDS)


class SqliteThreads(Database):
    """``bridge.queue.Threads`` on the ``threads`` table."""

    def record_threads(self, signals: Sequence[ThreadSignal], *, now: float) -> None:
        """Apply ``signals`` to their threads (the worker's own: a pass, a refused send)."""
        if signals:
            self._transaction("threads", lambda c: record_threads(c, signals, now))

    def thread(self, page: str, user: str) -> ThreadState | None:
        """What is known about the thread of ``user`` on ``page`` (None: nothing yet)."""
        rows = self._read(
            f"SELECT {_THREAD_COLUMNS} FROM threads WHERE page = ? AND user = ?", (page, user)
        )
        return ThreadState(*rows[0]) if rows else None
