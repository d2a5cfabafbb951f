"""Housekeeping: recovery of what dead processes left running, probes of paused Pages."""

from __future__ import annotations

import os

import responses
from responses import matchers

from bridge.delivery.liveness import HeartbeatWatch, process_namespace
from bridge.delivery.page_routes import PageRoute, Routes
from bridge.delivery.turn import TurnHandler
from bridge.messenger.graph import GraphClient
from bridge.queue import Worker
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot
from tests.delivery.harness import (
    NOW_MS,
    PROBE_URL,
    SEND_URL,
    Clock,
    delivery,
    enqueue,
    handler,
    ok,
    page_graph,
    text,
)

# --- processes ---------------------------------------------------------------------------------


def test_a_restart_releases_what_a_dead_process_on_this_host_left_running(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    enqueue(queue, text("7", "hi", "m1"))
    orphan = queue.claim(owner="ghost:0", process="ghost", now=NOW_MS / 1000, lease=3600)
    assert orphan is not None
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    assert not os.path.exists(f"/proc/{dead_pid}")
    here = process_namespace()
    queue.heartbeat(Worker("ghost", here, dead_pid, heartbeat=NOW_MS / 1000))
    ok(graph_api)
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False))
    worker.keep_house()  # what start() does first, before any lease or heartbeat runs out
    assert worker.run_once("w")
    assert queue.state_of("m1") == "done"


def test_a_process_in_another_pid_namespace_is_never_judged_by_its_pid(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    """Containers may share a host name and a volume; their pids mean different processes."""
    enqueue(queue, text("7", "hi", "m1"))
    assert queue.claim(owner="other:0", process="other", now=NOW_MS / 1000, lease=3600)
    import socket

    elsewhere = f"{socket.gethostname()}/pidns:1"  # same host name, another namespace
    assert elsewhere != process_namespace()
    queue.heartbeat(Worker("other", elsewhere, 2**22 + 1, heartbeat=NOW_MS / 1000))
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False))
    worker.keep_house()
    assert queue.state_of("m1") == "running"  # still its job until its heartbeat goes stale


def test_a_stopped_or_slow_process_on_this_host_keeps_its_jobs(
    queue: SqliteQueue, graph: GraphClient
) -> None:
    """A pid that exists is a process that will go on (after SIGSTOP, a GC pause, a host
    suspend): however long its heartbeat is silent and whatever the clocks say, its turn is not
    run a second time elsewhere."""
    enqueue(queue, text("7", "hi", "m1"))
    assert queue.claim(owner="slow:0", process="slow", now=NOW_MS / 1000, lease=30)
    queue.heartbeat(Worker("slow", process_namespace(), os.getppid(), heartbeat=0.0))
    clock = Clock(NOW_MS / 1000 + 86_400)  # a day later, or a clock step of a day
    worker = delivery(queue, handler(queue, ScriptedBot(), graph, actions=False), clock=clock)
    worker.keep_house()
    assert queue.state_of("m1") == "running"
    assert [w.process for w in queue.workers()] == sorted(["slow", worker.process])


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_process_elsewhere_is_gone_once_its_heartbeat_stops_changing() -> None:
    ticks = Ticks()
    watch = HeartbeatWatch(10.0, ticks)
    alive, silent = Worker("a", "elsewhere", 1, 500.0), Worker("s", "elsewhere", 2, 500.0)
    assert watch.silent([alive, silent]) == []  # first seen now, whatever its value
    for beat in range(1, 6):
        ticks.now += 2.5
        # The live one's clock steps back an hour: a change all the same.
        alive = Worker("a", "elsewhere", 1, 500.0 - 3600 * (beat % 2) + beat)
        assert watch.silent([alive, silent]) == ([] if ticks.now < 1010 else ["s"])
    assert watch.silent([alive]) == []  # forgotten once it is no longer listed


# --- paused Pages --------------------------------------------------------------------------------


def test_a_paused_page_is_probed_with_its_own_token(
    queue: SqliteQueue, graph_api: responses.RequestsMock
) -> None:
    bad = matchers.header_matcher({"Authorization": "Bearer token-A"})
    good = matchers.header_matcher({"Authorization": "Bearer token-B"})
    graph_api.post(SEND_URL, status=401, json={"error": {"message": "x", "code": 190}}, match=[bad])
    graph_api.post(SEND_URL, json={"message_id": "m"}, match=[good])
    graph_api.get(PROBE_URL, status=401, json={"error": {"message": "x", "code": 190}}, match=[bad])
    graph_api.get(PROBE_URL, json={"id": "B"}, match=[good])
    routes = Routes(
        pages={
            "A": PageRoute(page_graph("token-A"), ScriptedBot(), "sorry"),
            "B": PageRoute(page_graph("token-B"), ScriptedBot(), "sorry"),
        }
    )
    enqueue(queue, text("1", "to A", "m_a", page="A"))
    clock = Clock()
    worker = delivery(
        queue,
        TurnHandler(queue=queue, routes=routes, sender_actions=False),
        clock=clock,
        probe_interval=1,
    )
    worker.run_once("w")  # A: 190 → paused
    enqueue(queue, text("2", "to B", "m_b", page="B"))
    assert worker.run_once("w") and queue.state_of("m_b") == "done"  # B is not held
    for _ in range(3):
        clock.now += 2
        worker.keep_house()  # A's probe, with A's token, keeps failing
    assert [(page.page, page.paused) for page in queue.pages()] == [("A", True)]
    probes = [c for c in graph_api.calls if c.request.method == "GET"]
    assert probes and all(c.request.headers["Authorization"] == "Bearer token-A" for c in probes)


# --- notification-messages tokens ------------------------------------------------------------


def test_housekeeping_forgets_tokens_past_their_retention(
    queue: SqliteQueue, graph: GraphClient
) -> None:
    from tests.queue.notifications_contract import DAY_MS, update

    old = update("old", expires_at=NOW_MS - 40 * DAY_MS, at=NOW_MS - 100 * DAY_MS)
    new = update("new", expires_at=NOW_MS + DAY_MS, at=NOW_MS)
    queue.record_notification_tokens([old, new], now=NOW_MS / 1000)
    delivery(queue, handler(queue, ScriptedBot(), graph, actions=False)).keep_house()
    rows = queue._read("SELECT token FROM notification_tokens")
    assert [row[0] for row in rows] == ["new"]
