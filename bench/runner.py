"""Running scenarios: fresh fakes and a fresh server, one load, its figures, everything stopped.

``scenario`` starts the Graph fake (and for the bridge the Lex fake, and moto when
``BRIDGE_QUEUE=sqs``), the target under gunicorn, loads it (closed loop, or open loop at a
``rate``), measures the server's CPU and PSS, accounts for the replies, keeps (and prints, if
there are any) the bridge's stage histograms from ``/metrics`` (``bench.stages``) and stops
it all.
``bench.scenarios`` decides what to run (the catalog, the capacity sweep).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.accounting import account
from bench.awslocal import LocalAws
from bench.fakes import Fake
from bench.figures import Figures, percentile
from bench.load import LoadResult, make_messages, run_load, run_open_loop
from bench.procs import cpu_seconds, pss_mb
from bench.servers import (
    PAGE_ID,
    SECRET,
    Server,
    baseline_env,
    bridge_env,
    lex_env,
    start_server,
)
from bench.stages import read_stages, stage_table


@dataclass
class _Upstreams:
    """The fakes one target talks to: Graph always, Lex for the bridge, moto for SQS."""

    graph: Fake
    lex: Fake | None = None
    aws: LocalAws | None = None

    def stop(self) -> None:
        self.graph.stop()
        if self.lex is not None:
            self.lex.stop()
        if self.aws is not None:
            self.aws.stop()


@dataclass(frozen=True)
class _Plan:
    """How to load the target: closed loop on connections (rate None) or open loop at rate."""

    seconds: float
    connections: int
    per_connection: int
    senders: int | None
    rate: float | None


@dataclass
class _Measured:
    """One load and what the server spent on it."""

    load: LoadResult
    cpu: float  # seconds of CPU, every process of the server's group
    memory: float | None  # PSS MB right after the load


def scenario(
    target: str,
    folder: Path,
    *,
    seconds: float,
    connections: int,
    lex_latency: float = 0.0,
    graph_error_rate: float = 0.0,
    graph_latency: float = 0.0,
    per_connection: int = 3000,
    drain_timeout: float = 45.0,
    senders: int | None = None,
    env: dict[str, str] | None = None,
    rate: float | None = None,
    account_replies: bool = True,
    name: str = "saturation",
    label: str = "",
) -> Figures:
    """Start the fakes and ``target`` (bare, naive, naive_lex, bridge), load it, account, stop
    it all.

    ``senders``: per connection in a closed loop; in an open loop, the people who write in
    turn (each message from the next), None: each message from a new person."""
    plan = _Plan(seconds, connections, per_connection, senders, rate)
    upstreams = _Upstreams(_start_graph(folder, graph_error_rate, graph_latency))
    server: Server | None = None
    try:
        server = _start_target(target, folder, upstreams, env or {}, lex_latency)
        measured = _apply_load(server, target, plan)
        figures = _figures(
            measured,
            plan,
            name=name,
            target=target,
            lex_latency=lex_latency,
            graph_latency=graph_latency,
            label=label,
        )
        if target != "bare" and account_replies:
            account(figures, measured.load, upstreams.graph, drain_timeout)
        if target == "bridge":
            _profile_stages(figures, server)
        return figures
    finally:
        if server is not None:
            server.stop()
        upstreams.stop()


def _profile_stages(figures: Figures, server: Server) -> None:
    """Keep the bridge's stage histograms (before it stops) and print them if it has any."""
    try:
        figures.stages = read_stages(server.metrics_url)
    except (OSError, ValueError) as error:
        print(f"warning: {figures.column}: no stage profile from /metrics ({error})")
        return
    if figures.stages:
        rate = "" if figures.rate is None else f" at {figures.rate:g} req/s"
        print(f"stages: {figures.scenario}, {figures.column}{rate}", flush=True)
        print(stage_table(figures.stages), flush=True)


def _start_graph(folder: Path, error_rate: float, latency: float) -> Fake:
    return Fake(
        "graph",
        "--error-rate",
        str(error_rate),
        "--latency",
        str(latency),
        "--cert-dir",
        str(folder),
    )


def _start_target(
    target: str, folder: Path, upstreams: _Upstreams, env: dict[str, str], lex_latency: float
) -> Server:
    """The bridge in production mode (starting its Lex fake, and moto for SQS), or a baseline
    (``naive_lex`` with a Lex fake of its own)."""
    if target != "bridge":
        module = "bench.baseline_lex" if target == "naive_lex" else "bench.baselines"
        app = f"{module}:{target}"
        environment = baseline_env(upstreams.graph)
        if target == "naive_lex":
            upstreams.lex = Fake("lex", "--latency", str(lex_latency))
            environment |= lex_env(upstreams.lex)
        return start_server(app, "bench/gunicorn_baseline.py", environment, folder, target)
    upstreams.lex = Fake("lex", "--latency", str(lex_latency))
    if env.get("BRIDGE_QUEUE") == "sqs":
        upstreams.aws = LocalAws(folder)  # moto standing in for SQS and DynamoDB
    environment = bridge_env(upstreams.graph, upstreams.lex, folder)
    environment.update(upstreams.aws.env if upstreams.aws else {})
    environment.update(env)
    return start_server("wsgi:app", "gunicorn.conf.py", environment, folder, target, metrics=True)


def _apply_load(server: Server, target: str, plan: _Plan) -> _Measured:
    """The plan's load on the server, its CPU time counted and its PSS taken right after."""
    pgid = server.process.pid
    senders, seconds, rate = plan.senders, plan.seconds, plan.rate
    if rate is None:
        bodies = make_messages(
            plan.connections, plan.per_connection, secret=SECRET, page_id=PAGE_ID, senders=senders
        )
        cpu_before = cpu_seconds(pgid)
        load = run_load(server.port, bodies, seconds, repeat=target == "bare")
    else:
        count = int(rate * seconds) + 1
        bodies = make_messages(1, count, secret=SECRET, page_id=PAGE_ID, burst=1, senders=senders)
        cpu_before = cpu_seconds(pgid)
        load = run_open_loop(server.port, bodies[0], rate=rate, seconds=seconds)
    cpu = cpu_seconds(pgid) - cpu_before
    measured = _Measured(load, cpu, pss_mb(pgid))
    if load.exhausted and rate is None:
        print(f"warning: {target}: {load.exhausted} connections ran out of bodies")
    return measured


def _figures(
    measured: _Measured,
    plan: _Plan,
    *,
    name: str,
    target: str,
    lex_latency: float,
    graph_latency: float,
    label: str,
) -> Figures:
    """The ack side of the figures; the reply side is ``account``'s."""
    load = measured.load
    latencies = [s.latency * 1000 for s in load.acked]
    figures = Figures(
        scenario=name,
        target=target,
        lex_latency_ms=lex_latency * 1000,
        connections=plan.connections if plan.rate is None else 0,
        seconds=round(load.duration, 2),
        requests=len(load.sent),
        acked=len(latencies),
        non_200=len(load.sent) - len(latencies),
        connection_errors=load.errors,
        ack_rps=len(latencies) / load.duration,
        ack_p50_ms=percentile(latencies, 0.50),
        ack_p99_ms=percentile(latencies, 0.99),
        cpu_us_per_request=measured.cpu / len(load.sent) * 1e6 if load.sent else None,
        pss_mb=measured.memory,
        label=label,
        rate=plan.rate,
        graph_latency_ms=graph_latency * 1000,
    )
    _set_senders(figures, plan, lex_latency)
    return figures


def _set_senders(figures: Figures, plan: _Plan, lex_latency: float) -> None:
    """Senders in all, and in a closed loop to a slow bot the reply bound they set."""
    if plan.senders is None:
        return
    if plan.rate is not None:
        figures.senders = plan.senders
        return
    figures.senders = plan.senders * plan.connections
    if lex_latency > 0:
        figures.reply_bound_per_s = figures.senders / lex_latency
