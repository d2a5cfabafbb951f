"""The conversations table: one row per conversation with unfinished jobs, derived from them.

Each row says whether one of the conversation's jobs is running and which job is its head (the
oldest queued one). Claiming reads the heads of idle conversations in order from an index,
instead of searching every queued job; so every change of a job's state is followed, in the
same transaction, by ``settle`` of its conversation (a new job settles it itself: a trigger).
"""

from __future__ import annotations

import sqlite3

# Only the head of a conversation (its oldest queued job) may be claimed, and only while no job
# of that conversation is running and its Page is neither throttled nor paused.
_CLAIMABLE_WHERE = """
WHERE c.busy = 0 AND c.head_ts IS NOT NULL AND j.not_before <= :now
  AND NOT EXISTS (
      SELECT 1 FROM pages AS p
      WHERE p.page = c.page AND (p.paused = 1 OR p.blocked_until > :now))
"""
_CLAIMABLE_FROM = "SELECT c.head_id FROM conversations AS c JOIN jobs AS j ON j.id = c.head_id"
# The oldest claimable head of all.
CLAIMABLE = f"{_CLAIMABLE_FROM} {_CLAIMABLE_WHERE} ORDER BY c.head_ts, c.head_id LIMIT 1"
# The head of one conversation, if it is claimable (a webhook's new job, for an idle thread).
CLAIMABLE_IN = f"{_CLAIMABLE_FROM} {_CLAIMABLE_WHERE} AND c.conversation = :conversation"

# Bring a conversation's row in line with its jobs after any of them changed state.
_SETTLE = """
INSERT INTO conversations (conversation, page, busy, head_ts, head_id)
SELECT :conversation, :page,
       EXISTS (SELECT 1 FROM jobs WHERE conversation = :conversation AND state = 'running'),
       head.order_ts, head.id
FROM (SELECT 1) LEFT JOIN (
    SELECT order_ts, id FROM jobs WHERE conversation = :conversation AND state = 'queued'
    ORDER BY order_ts, id LIMIT 1) AS head ON true
WHERE true  -- without it SQLite would read the ON CONFLICT below as a join constraint
ON CONFLICT (conversation) DO UPDATE
SET busy = excluded.busy, head_ts = excluded.head_ts, head_id = excluded.head_id
"""
_FORGET_IDLE = "DELETE FROM conversations WHERE conversation = ? AND busy = 0 AND head_ts IS NULL"


def settle(connection: sqlite3.Connection, conversations: dict[str, str]) -> None:
    """Recompute the rows of ``conversations`` (conversation → Page) from their jobs. (A new
    job needs none: the schema's ``jobs_new_head`` trigger settles its row as it is inserted.)"""
    for conversation, page in conversations.items():
        connection.execute(_SETTLE, {"conversation": conversation, "page": page})
        connection.execute(_FORGET_IDLE, (conversation,))
