"""The scenarios of a bench run (``SCENARIOS``), in the order they run, and their names.

Each ``Scenario`` is one load against one target (bare, naive, naive_lex or bridge) with fresh
fakes and a fresh server; several with the same name make one table, a column each
(``label``, else the target; ``NAIVE_LEX`` is the naive bridge that asks Lex inline).
capacity sweeps open-loop rates (``sweep``); the others run once, closed loop unless they set
a ``rate``. ``LEAN`` is the column of the bridge with ``BRIDGE_SENDER_ACTIONS=false``.
``run_scenario`` runs one of them through ``bench.runner.scenario``; ``sweep`` is the open
loop at rising rates, each with fresh fakes and server, until reply p99 is far over 1 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.accounting import p99_cell, reply_p99_ms
from bench.figures import Figures
from bench.runner import scenario

LEAN = "bridge, sender actions off"  # the column of the lean setting, beside the defaults
# The naive bridge that asks Lex inline: the same work per message as the bridge, no queue.
NAIVE_LEX = "naive inline + Lex"
_LEAN_ENV = (("BRIDGE_SENDER_ACTIONS", "false"),)


@dataclass(frozen=True)
class Scenario:
    """One load run against one target."""

    name: str
    target: str  # bare, naive, naive_lex or bridge
    lex_latency: float = 0.0
    graph_error_rate: float = 0.0
    graph_latency: float = 0.0  # seconds each Send API call takes at the Graph fake
    senders: int | None = None  # per connection (open loop: in all); None: a new sender each burst
    env: tuple[tuple[str, str], ...] = ()  # extra settings for the bridge
    rate: float | None = None  # open loop at this many requests/s; None: saturation
    account: bool = True
    drain_timeout: float = 45.0
    seconds: float | None = None  # None: the run's --seconds
    label: str = ""  # the table's column; empty: the target
    sweep: tuple[float, ...] = ()  # open loop at each of these rates in turn (capacity)


SATURATION = "saturation"
CAPACITY = "capacity"
LIGHT = "light load (open loop, 100 req/s)"
REALISTIC = "realistic (Graph 80 ms per call, Lex 150 ms, open loop 20 req/s)"
REALISTIC_RATE = 20.0
REALISTIC_SENDERS = 50  # each writes every 2.5 s: rarely a second message while one is in flight
REALISTIC_SLACK_MS = 25.0  # the allowance over one Lex and one Graph round trip
ACK_ALONE = "ack path alone"
CAPACITY_RATES = (50.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 800.0)
CAPACITY_SECONDS = 5.0
CAPACITY_DRAIN = 8.0  # a reply not at Graph this long after the load ended is over 1 s late
CAPACITY_P99_MS = 1000.0  # the bound on reply p99
CAPACITY_STOP_MS = 3000.0  # a system's sweep stops once its reply p99 is this far over
_SQS = (("BRIDGE_QUEUE", "sqs"),)
SCENARIOS = (
    # Open loop at rising rates: the highest rate at which replies still arrive within 1 s (p99).
    Scenario(CAPACITY, "naive", sweep=CAPACITY_RATES, drain_timeout=CAPACITY_DRAIN),
    Scenario(
        CAPACITY,
        "naive_lex",
        sweep=CAPACITY_RATES,
        drain_timeout=CAPACITY_DRAIN,
        label=NAIVE_LEX,
    ),
    Scenario(CAPACITY, "bridge", sweep=CAPACITY_RATES, drain_timeout=CAPACITY_DRAIN),
    Scenario(
        CAPACITY,
        "bridge",
        sweep=CAPACITY_RATES,
        drain_timeout=CAPACITY_DRAIN,
        env=_LEAN_ENV,
        label=LEAN,
    ),
    Scenario(SATURATION, "bare"),
    Scenario(SATURATION, "naive"),
    Scenario(SATURATION, "naive_lex", label=NAIVE_LEX),
    Scenario(SATURATION, "bridge"),
    Scenario(SATURATION, "bridge", env=_LEAN_ENV, label=LEAN),
    # The webhook alone (delivery threads off): what acking costs, beside the bare app.
    Scenario(ACK_ALONE, "bridge", env=(("BRIDGE_DELIVERY_THREADS", "0"),), account=False),
    # 64 people (2 per connection) writing nonstop to a bot that takes 300 ms per turn: each
    # person gets at most one turn at a time, so replies/s is bounded by 64 ÷ 0.3 s. 32 delivery
    # threads per process (64 turns in flight) can reach it; the backlog cannot drain.
    Scenario(
        "slow Lex (300 ms)",
        "bridge",
        lex_latency=0.3,
        senders=2,
        env=(("BRIDGE_DELIVERY_THREADS", "32"),),
        drain_timeout=5.0,
    ),
    Scenario("Graph 5 % errors", "naive", graph_error_rate=0.05, seconds=5.0),
    Scenario("Graph 5 % errors", "bridge", graph_error_rate=0.05, seconds=5.0, drain_timeout=90),
    Scenario(LIGHT, "naive", rate=100.0),
    Scenario(LIGHT, "bridge", rate=100.0),
    Scenario(LIGHT, "bridge", rate=100.0, env=_LEAN_ENV, label=LEAN),
    # Upstreams as slow as the real ones, at light load: the target is one Lex call and one
    # Graph send per reply (150 + 80 ms) plus 25 ms, so nothing else in front of the answer may
    # cost a round trip. The naive bridge asks no bot: its reply is one Graph send, inline.
    Scenario(
        REALISTIC,
        "naive",
        graph_latency=0.08,
        rate=REALISTIC_RATE,
        senders=REALISTIC_SENDERS,
    ),
    Scenario(
        REALISTIC,
        "bridge",
        lex_latency=0.15,
        graph_latency=0.08,
        rate=REALISTIC_RATE,
        senders=REALISTIC_SENDERS,
    ),
    Scenario(
        REALISTIC,
        "bridge",
        lex_latency=0.15,
        graph_latency=0.08,
        rate=REALISTIC_RATE,
        senders=REALISTIC_SENDERS,
        env=_LEAN_ENV,
        label=LEAN,
    ),
    # The bridge on BRIDGE_QUEUE=sqs against moto: one local Python process standing in for SQS
    # and DynamoDB, on the same cores (not AWS's latencies or limits; see bench/awslocal.py).
    Scenario("SQS on moto: light load (20 req/s)", "bridge", rate=20.0, env=_SQS, drain_timeout=60),
    Scenario("SQS on moto: saturation", "bridge", env=_SQS, seconds=5.0, drain_timeout=180),
)


def sweep(
    target: str,
    folder: Path,
    rates: tuple[float, ...],
    *,
    seconds: float = CAPACITY_SECONDS,
    drain_timeout: float = CAPACITY_DRAIN,
    env: dict[str, str] | None = None,
    label: str = "",
    stop_ms: float = CAPACITY_STOP_MS,
) -> list[Figures]:
    """Open loop at each rate in turn (fresh fakes and server each), until reply p99 > stop_ms."""
    results = []
    for rate in rates:
        step = folder / f"{rate:g}"
        step.mkdir()
        figures = scenario(
            target,
            step,
            seconds=seconds,
            connections=0,
            rate=rate,
            drain_timeout=drain_timeout,
            env=env,
            name=CAPACITY,
            label=label,
        )
        results.append(figures)
        print(
            f"capacity: {figures.column} at {rate:g} req/s: reply p99 "
            f"{p99_cell(figures)}, ack p99 {figures.ack_p99_ms:.1f} ms",
            flush=True,
        )
        if reply_p99_ms(figures) > stop_ms:
            break
    return results


def run_scenario(
    item: Scenario,
    folder: Path,
    *,
    seconds: float,
    connections: int,
    rates: tuple[float, ...] | None = None,
) -> list[Figures]:
    """One scenario of the catalog: its sweep (``rates`` instead, if given) or its one load."""
    if item.sweep:
        return sweep(
            item.target,
            folder,
            rates or item.sweep,
            drain_timeout=item.drain_timeout,
            env=dict(item.env),
            label=item.label,
        )
    figures = scenario(
        item.target,
        folder,
        seconds=item.seconds or seconds,
        connections=connections,
        lex_latency=item.lex_latency,
        graph_error_rate=item.graph_error_rate,
        graph_latency=item.graph_latency,
        drain_timeout=item.drain_timeout,
        senders=item.senders,
        env=dict(item.env),
        rate=item.rate,
        account_replies=item.account,
        name=item.name,
        label=item.label,
    )
    return [figures]
