"""A turn's reply and its ack (bridge/delivery/turn.py): once every part went out, the turn does
not wait for the reply's commit; the ack follows it, into the same transaction while the reply
is still waiting for the writer, and confirms it."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import responses

from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot
from tests.delivery.harness import Clock, enqueue, handler, ok, text, texts
from tests.queue.sqlite.test_writer import HeldLock, poll


def test_the_ack_joins_the_reply_still_waiting_for_the_writer(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    ok(graph_api)
    enqueue(queue, text("7", "hi", "m1"))
    job = queue.claim(owner="proc:0", process="proc", now=0, lease=30)
    assert job is not None
    writer = queue._writer
    held = HeldLock(queue)  # a transaction in progress (another webhook's) holds the writer
    try:
        taken = writer.taken
        ahead = threading.Thread(target=enqueue, args=(queue, text("8", "hi", "m2")))
        ahead.start()
        poll(lambda: writer.taken == taken + 1)
        sent: list[int] = []
        turn = threading.Thread(
            target=lambda: sent.append(
                handler(queue, ScriptedBot(), graph, actions=False).handle(job, clock=Clock())
            )
        )
        turn.start()
        turn.join(10)
        # The reply went out and the turn is over while its reply still waits for the writer.
        assert not turn.is_alive() and sent == [1]
        assert texts(graph_api) == ["echo: hi"] and writer.waiting == 1
        acked: list[Any] = []
        ack = threading.Thread(target=lambda: acked.append(queue.ack(job, now=1, sent=1)))
        ack.start()
        poll(lambda: writer.waiting == 2)
        transactions = writer.transactions
    finally:
        held.release()  # also when an assertion failed: nothing waits for it forever
    for thread in (ahead, ack):
        thread.join(10)
        assert not thread.is_alive()
    assert acked == [True]
    assert writer.transactions - transactions == 2  # the webhook's, then the reply's with the ack
    assert queue.state_of("m1") == "done" and queue.state_of("m2") == "queued"
    with sqlite3.connect(queue.path) as db:
        row = db.execute("SELECT reply, sent FROM jobs WHERE key = 'm1'").fetchone()
    assert row == ('[{"text": "echo: hi"}]', 1)
