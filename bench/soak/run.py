"""The soak's command line, and one run: fakes, the server, the load, the outages, the drain.

``soak`` starts the Graph and Lex fakes with their faults (``bench.fakes``), the bridge
(``bench.soak.server``) with ``FB_GRAPH_TIMEOUT`` shortened so that a held send costs seconds,
not minutes, and Meta's deliveries (``bench.soak.meta``); at 30 % of the load it kills the
server with ``kill -9`` and restarts it, at 65 % it stops it with SIGTERM and restarts it; at
the end of the load it turns the fakes' faults off and, once every delivery was acked, waits
(``--drain-timeout``) until the queue has nothing queued, retrying or running. Then it reads
the fakes' records and accounts (``bench.soak.tally``, ``bench.soak.report``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.fakes import Fake, GraphRecords, graph_records
from bench.lexfake import LexTurns, lex_turns
from bench.machine import machine
from bench.servers import PAGE_ID, SECRET, bridge_env
from bench.soak.meta import Deliveries, Plan, write_in
from bench.soak.report import Observed, report, targets
from bench.soak.server import SoakServer
from bench.soak.tally import Outage, Tally, Written, tally

KILL_AT, TERM_AT = 0.30, 0.65  # shares of the load's duration
HOLD_MARGIN = 2.0  # seconds a held send's answer waits beyond the bridge's Graph timeout
_POLL = 1.0


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not 1 or more")
    return value


def _timeout(text: str) -> float:
    value = float(text)
    if not 0.5 <= value <= 120:
        raise argparse.ArgumentTypeError(f"{text}: FB_GRAPH_TIMEOUT takes 0.5 to 120 seconds")
    return value


_EPILOG = (
    "The server is killed with kill -9 (its whole process group) at 30 %% of the load and"
    " stopped with SIGTERM at 65 %%, each time restarted on the same port and queue database;"
    " the fakes' faults go off when the load ends, and the run waits for the queue to drain."
    " Held sends are answered %g s after the bridge's Graph timeout (FB_GRAPH_TIMEOUT, %s)."
)


_OPTIONS: tuple[tuple[str, Callable[[str], object], object, str, str], ...] = (
    ("--duration", _positive, 240.0, "S", "seconds of load (240)"),
    ("--senders", _count, 200, "N", "people writing (200)"),
    ("--rate", _positive, 25.0, "N", "new messages/s in all (25)"),
    ("--graph-5xx", _share, 0.10, "SHARE", "Graph sends answered 500/503 (0.10)"),
    ("--graph-hold", _share, 0.01, "SHARE", "Graph sends held (0.01)"),
    ("--graph-timeout", _timeout, 2.0, "S", "FB_GRAPH_TIMEOUT (2)"),
    ("--graph-latency", float, 0.08, "S", "per Graph call (0.08)"),
    ("--lex-throttle", _share, 0.05, "SHARE", "Lex calls throttled (0.05)"),
    ("--lex-latency", float, 0.15, "S", "per Lex call (0.15)"),
    ("--redeliver", _share, 0.02, "SHARE", "acked deliveries sent again (0.02)"),
    ("--seed", int, 7, "N", "the faults' and senders' seed (7)"),
    ("--drain-timeout", _positive, 180.0, "S", "the drain's limit (180)"),
)


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description="The bridge for minutes under many senders while Graph fails and hangs,"
        " Lex throttles, the server is killed (kill -9) and stopped (SIGTERM) and restarted,"
        " and Meta re-posts every delivery until it is acked; then every acked message is"
        " accounted for: lost, duplicated (each judged: was it an ambiguous send?), out of"
        " order, webhook 5xx. Exits 1 when a target is missed.",
        epilog=_EPILOG % (HOLD_MARGIN, "2 s here instead of 10 s, so a held send costs seconds"),
    )
    for name, kind, default, metavar, text in _OPTIONS:
        cli.add_argument(name, type=kind, default=default, metavar=metavar, help=text)
    cli.add_argument("--folder", type=Path, metavar="DIR", help="keep the logs and database here")
    return cli


def setting(options: argparse.Namespace) -> str:
    """The run's setting, in one line."""
    o = options
    return (
        f"soak: {o.duration:g} s from {o.senders} senders at {o.rate:g} messages/s; Graph"
        f" fails {o.graph_5xx * 100:g} % of sends with 5xx and holds {o.graph_hold * 100:g} %"
        f" for {o.graph_timeout + HOLD_MARGIN:g} s (FB_GRAPH_TIMEOUT={o.graph_timeout:g}), Lex"
        f" throttles {o.lex_throttle * 100:g} %; kill -9 at {o.duration * KILL_AT:g} s, SIGTERM"
        f" at {o.duration * TERM_AT:g} s; Meta re-posts until acked and sends"
        f" {o.redeliver * 100:g} % twice; seed {o.seed}"
    )


def _fakes(o: argparse.Namespace, folder: Path) -> tuple[Fake, Fake]:
    graph = Fake(
        "graph",
        *("--error-rate", str(o.graph_5xx), "--hold-rate", str(o.graph_hold)),
        *("--hold-seconds", str(o.graph_timeout + HOLD_MARGIN), "--seed", str(o.seed)),
        *("--latency", str(o.graph_latency), "--cert-dir", str(folder)),
    )
    try:
        lex = Fake(
            "lex",
            *("--throttle-rate", str(o.lex_throttle), "--seed", str(o.seed)),
            *("--latency", str(o.lex_latency)),
        )
    except BaseException:
        graph.stop()
        raise
    return graph, lex


async def _outages(
    o: argparse.Namespace, server: SoakServer, fakes: tuple[Fake, ...]
) -> list[Outage]:
    """The kill -9 and the SIGTERM, each with its restart, then the faults off."""
    start = time.monotonic()
    outages = []
    for share, restart in ((KILL_AT, server.kill), (TERM_AT, server.terminate)):
        await asyncio.sleep(max(0.0, start + share * o.duration - time.monotonic()))
        outages.append(await asyncio.to_thread(restart))
    await asyncio.sleep(max(0.0, start + o.duration - time.monotonic()))
    for fake in fakes:
        await asyncio.to_thread(fake.set_faults, False)
    return outages


async def _load(
    o: argparse.Namespace, server: SoakServer, fakes: tuple[Fake, ...]
) -> tuple[Deliveries, list[Outage]]:
    plan = Plan(
        server.port,
        SECRET,
        PAGE_ID,
        o.senders,
        o.rate,
        o.duration,
        give_up=o.duration + o.drain_timeout,
        redeliver_rate=o.redeliver,
        seed=o.seed,
    )
    writing = asyncio.create_task(write_in(plan))
    outages = await _outages(o, server, fakes)
    return await writing, outages


def _drain(server: SoakServer, deadline: float) -> float | None:
    """When the queue had nothing queued, retrying or running any more (every acked message
    was then handled, every send recorded by the Graph fake), or None at the deadline."""
    while time.monotonic() < deadline:
        if _idle(server.queue_stats()):
            return time.time()
        time.sleep(_POLL)
    return None


def _idle(stats: dict[str, int]) -> bool:
    return stats.get("queued", 0) + stats.get("retrying", 0) + stats.get("running", 0) == 0


@dataclass
class _Run:
    """What one run left behind, before it is accounted for."""

    started: float
    seen: Deliveries
    outages: list[Outage]
    drained: float | None  # time.time() when the queue was idle
    records: GraphRecords
    turns: LexTurns
    queue: dict[str, int]
    log_problems: tuple[int, int]


def _run(o: argparse.Namespace, folder: Path) -> _Run:
    """The fakes, the server, the load with its outages, the drain; everything stopped."""
    graph, lex = _fakes(o, folder)
    try:
        env = bridge_env(graph, lex, folder) | {"FB_GRAPH_TIMEOUT": f"{o.graph_timeout:g}"}
        server = SoakServer(env, folder)
        try:
            started = time.time()
            seen, outages = asyncio.run(_load(o, server, (graph, lex)))
            drained = _drain(server, time.monotonic() + o.drain_timeout)
            records, queue = graph_records(graph), server.queue_stats()
            turns = lex_turns(lex.port)
        finally:
            server.stop()
    finally:
        graph.stop()
        lex.stop()
    return _Run(started, seen, outages, drained, records, turns, queue, server.log_problems())


def soak(o: argparse.Namespace, folder: Path) -> tuple[Tally, Observed]:
    """One run in ``folder``: what it tallied and what it observed besides."""
    run = _run(o, folder)
    records, seen = run.records, run.seen
    written = [Written(m.text, m.acked) for m in seen.messages]
    counted = tally(written, records.records, set(records.held), run.turns.turns, run.outages)
    observed = Observed(
        statuses=dict(seen.statuses),
        failures=dict(seen.failures),
        redelivered=seen.redelivered,
        graph_sends=records.calls.get("message", 0),
        graph_5xx=records.errors,
        graph_held=len(records.held),
        lex_calls=run.turns.calls,
        lex_throttled=run.turns.throttled,
        outages=run.outages,
        started=run.started,
        load_seconds=o.duration,
        drained=None if run.drained is None else run.drained - run.started - o.duration,
        queue=run.queue,
        tracebacks=run.log_problems[0],
        error_lines=run.log_problems[1],
    )
    return counted, observed


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    about = machine()
    print(setting(options), flush=True)
    print(
        f"machine: {about['cpu']}, {about['cores']} cores, {about['memory_gb']} GB,"
        f" Linux {about['kernel']}, Python {about['python']}, {about['time']}",
        flush=True,
    )
    folder = options.folder or Path(tempfile.mkdtemp(prefix="soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    counted, observed = soak(options, folder)
    for line in report(counted, observed):
        print(line)
    met = all(ok for _, ok in targets(counted, observed))
    if met and options.folder is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"logs and queue database: {folder}")
    return 0 if met else 1
