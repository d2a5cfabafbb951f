"""The bridge under load on one machine, with its baselines, in one bounded run.

    python -m bench.run [--seconds 10] [--connections 32] [--only NAME] [--out DIR]  (make bench)
    python -m bench.run --only capacity [--rates 50,100,150]

Starts the fakes (Graph Send API over HTTPS, Lex V2 RecognizeText; each in its own process,
each measured alone first), then runs the scenarios of ``SCENARIOS`` one after the other, each
with fresh fakes and a fresh server under the same gunicorn settings (2 processes × 8 threads,
gthread): a bare WSGI app (the ceiling), a naive Flask bridge that sends the echo inline, and
the bridge in production mode (Lex through ``AWS_ENDPOINT_URL_LEX_RUNTIME_V2``, Graph through
``FB_GRAPH_API_URL`` trusting the fake's certificate via ``REQUESTS_CA_BUNDLE``, a fresh SQLite
queue, every other setting at its default: sender actions on). Scenarios: capacity (open loop
at a sweep of rates, naive bridge and bridge: the highest rate whose reply p99 stays under
1 s), saturation (closed loop, 32 connections), the bridge's ack path alone (delivery off),
slow Lex (300 ms, 64 senders), Graph answering 5 % of sends with errors, light load (open
loop, 100 requests/s) and realistic upstream latency (Graph 80 ms per call, Lex 150 ms, open
loop at 20 requests/s from 50 senders; its target: reply p50 ≤ 150 + 80 + 25 ms); capacity,
saturation, light load and realistic also run the bridge with ``BRIDGE_SENDER_ACTIONS=false``
as a second, lean column. After each load, replies are awaited
(bounded) and accounted for: per-user order, duplicates, delivered share, and the Send API
calls the Graph fake received per acked message (message sends and sender actions). Prints a
table per scenario and the targets' ratios, and writes ``bench/results/<UTC time>.json``
(gitignored: results belong to a machine). About 8 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.awslocal import LocalAws
from bench.fakes import Fake, GraphRecords, graph_records, measure_fakes
from bench.load import LoadResult, make_messages, run_load, run_open_loop

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-app-secret"
PAGE_ID = "100000000000001"
PAGE_TOKEN = "bench-page-token-0123456789"
_STRIP = ("FB_", "LEX_", "BRIDGE_", "AWS_", "PROMETHEUS_", "LOG_")
LEAN = "bridge, sender actions off"  # the column of the lean setting, beside the defaults
_LEAN_ENV = (("BRIDGE_SENDER_ACTIONS", "false"),)


@dataclass
class Figures:
    scenario: str
    target: str
    lex_latency_ms: float
    connections: int
    seconds: float
    requests: int
    acked: int
    non_200: int
    connection_errors: int
    ack_rps: float
    ack_p50_ms: float
    ack_p99_ms: float
    cpu_us_per_request: float | None
    pss_mb: float | None
    replies: int | None = None
    replies_per_s: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p99_ms: float | None = None
    drain_s: float | None = None
    order_violations: int | None = None
    duplicates: int | None = None
    unexpected: int | None = None
    delivered_share: float | None = None
    graph_errors: int | None = None
    senders: int | None = None
    reply_bound_per_s: float | None = None  # senders ÷ Lex latency (one turn at a time each)
    backlog: int | None = None  # acked but not answered when accounting stopped
    label: str = ""  # the table's column; empty: the target
    rate: float | None = None  # open loop at this many requests/s; None: closed loop
    message_sends: int | None = None  # Send API calls with a message body (reply parts)
    sender_action_calls: int | None = None  # Send API calls with a sender_action body
    other_calls: int | None = None
    sends_per_message: float | None = None  # all Send API calls ÷ acked messages
    message_sends_per_message: float | None = None
    sender_actions_per_message: float | None = None
    replies_per_ack: float | None = None  # replies/s during the load ÷ this run's ack req/s
    graph_latency_ms: float = 0.0  # each Send API call of the Graph fake answers this late

    @property
    def column(self) -> str:
        return self.label or self.target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of /proc/pid/stat: the process group
            pids.append(int(entry.name))
    return pids


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in the group."""
    total = 0
    for pid in _group_pids(pgid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def pss_mb(pgid: int) -> float | None:
    """Proportional set size of the whole process group, MB."""
    total_kb = 0
    for pid in _group_pids(pgid):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:
            return None
    return total_kb / 1024


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_server(app: str, config: str, env: dict[str, str], folder: Path, name: str) -> Server:
    port = free_port()
    log = folder / f"{name}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_STRIP)}
    environment.update(PORT=str(port), WEB_CONCURRENCY="2", BRIDGE_WEB_THREADS="8", **env)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", config, app],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: CPU, PSS and stop cover it all
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(12).startswith(b"HTTP/1."):
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")


def bridge_env(graph: Fake, lex: Fake, folder: Path) -> dict[str, str]:
    assert graph.cert is not None
    return {
        "FB_APP_SECRET": SECRET,
        "FB_VERIFY_TOKEN": "bench-verify-token",
        "FB_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
        "FB_PAGE_ID": PAGE_ID,
        "FB_GRAPH_API_URL": f"https://127.0.0.1:{graph.port}",
        "REQUESTS_CA_BUNDLE": graph.cert,
        "BRIDGE_BOT": "lexv2",
        "LEX_BOT_ID": "BENCHBOT01",
        "LEX_BOT_ALIAS_ID": "TSTALIASID",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_LEX_RUNTIME_V2": f"http://127.0.0.1:{lex.port}",
        "BRIDGE_DB": str(folder / "bridge.db"),
    }


def account(
    figures: Figures, load: LoadResult, graph: Fake, drain_timeout: float
) -> dict[str, list[float]]:
    """Wait (bounded) for a reply to every acked message, then check order and duplicates.

    A scenario whose backlog cannot drain in time (slow Lex) reports what was left."""
    acked = load.acked
    expected = {f"echo: {s.mid}" for s in acked}
    records: list[tuple[float, str, str]] = []
    deadline = time.monotonic() + drain_timeout
    while True:
        fetched: GraphRecords = graph_records(graph, after=len(records))
        records.extend(fetched.records)
        if expected <= {text for _, _, text in records} or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    first: dict[str, float] = {}
    counts: dict[str, int] = {}
    per_sender: dict[str, list[str]] = {}
    for arrived, recipient, text in records:
        counts[text] = counts.get(text, 0) + 1
        if counts[text] == 1:
            first[text] = arrived
            per_sender.setdefault(recipient, []).append(text)
    ack_order = {f"echo: {s.mid}": i for i, s in enumerate(sorted(acked, key=lambda s: s.sent_at))}
    violations = 0
    for texts in per_sender.values():
        ranks = [ack_order[t] for t in texts if t in ack_order]
        violations += sum(1 for a, b in zip(ranks, ranks[1:], strict=False) if b < a)
    sent_at = {f"echo: {s.mid}": s.sent_at for s in acked}
    e2e = [(first[t] - sent_at[t]) * 1000 for t in expected if t in first]
    in_window = sum(1 for t in first.values() if load.started <= t <= load.ended)
    figures.replies = len(records)
    figures.replies_per_s = in_window / load.duration
    figures.e2e_p50_ms = percentile(e2e, 0.50)
    figures.e2e_p99_ms = percentile(e2e, 0.99)
    figures.drain_s = max(0.0, max(first.values(), default=load.ended) - load.ended)
    figures.order_violations = violations
    figures.duplicates = sum(n - 1 for n in counts.values())
    figures.unexpected = sum(1 for t in first if t not in expected)
    figures.delivered_share = (len(expected & first.keys()) / len(expected)) if expected else 1.0
    figures.backlog = len(expected - first.keys())
    figures.graph_errors = fetched.errors
    calls = fetched.calls
    figures.message_sends = calls.get("message", 0)
    figures.sender_action_calls = calls.get("sender_action", 0)
    figures.other_calls = calls.get("other", 0)
    if acked:
        figures.sends_per_message = sum(calls.values()) / len(acked)
        figures.message_sends_per_message = figures.message_sends / len(acked)
        figures.sender_actions_per_message = figures.sender_action_calls / len(acked)
    if figures.ack_rps:
        figures.replies_per_ack = figures.replies_per_s / figures.ack_rps
    return {"e2e_ms": e2e}


@dataclass(frozen=True)
class Scenario:
    """One load run against one target."""

    name: str
    target: str  # bare, naive or bridge
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
    """Start the fakes and ``target`` (bare, naive, bridge), load it, account, stop it all.

    ``senders``: per connection in a closed loop; in an open loop, the people who write in
    turn (each message from the next), None: each message from a new person."""
    graph = Fake(
        "graph",
        "--error-rate",
        str(graph_error_rate),
        "--latency",
        str(graph_latency),
        "--cert-dir",
        str(folder),
    )
    lex = Fake("lex", "--latency", str(lex_latency)) if target == "bridge" else None
    server: Server | None = None
    aws: LocalAws | None = None
    try:
        assert graph.cert is not None
        if target == "bridge":
            assert lex is not None
            if (env or {}).get("BRIDGE_QUEUE") == "sqs":
                aws = LocalAws(folder)  # moto standing in for SQS and DynamoDB
            server = start_server(
                "wsgi:app",
                "gunicorn.conf.py",
                {**bridge_env(graph, lex, folder), **(aws.env if aws else {}), **(env or {})},
                folder,
                target,
            )
        else:
            baseline_env = {
                "FB_APP_SECRET": SECRET,
                "FB_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
                "FB_GRAPH_API_URL": f"https://127.0.0.1:{graph.port}",
                "REQUESTS_CA_BUNDLE": graph.cert,
            }
            server = start_server(
                f"bench.baselines:{target}",
                "bench/gunicorn_baseline.py",
                baseline_env,
                folder,
                target,
            )
        pgid = server.process.pid
        if rate is None:
            plan = make_messages(
                connections, per_connection, secret=SECRET, page_id=PAGE_ID, senders=senders
            )
            cpu_before = cpu_seconds(pgid)
            load = run_load(server.port, plan, seconds, repeat=target == "bare")
        else:
            count = int(rate * seconds) + 1
            plan = make_messages(1, count, secret=SECRET, page_id=PAGE_ID, burst=1, senders=senders)
            cpu_before = cpu_seconds(pgid)
            load = run_open_loop(server.port, plan[0], rate=rate, seconds=seconds)
        cpu = cpu_seconds(pgid) - cpu_before
        memory = pss_mb(pgid)
        latencies = [s.latency * 1000 for s in load.acked]
        figures = Figures(
            scenario=name,
            target=target,
            lex_latency_ms=lex_latency * 1000,
            connections=connections if rate is None else 0,
            seconds=round(load.duration, 2),
            requests=len(load.sent),
            acked=len(latencies),
            non_200=len(load.sent) - len(latencies),
            connection_errors=load.errors,
            ack_rps=len(latencies) / load.duration,
            ack_p50_ms=percentile(latencies, 0.50),
            ack_p99_ms=percentile(latencies, 0.99),
            cpu_us_per_request=cpu / len(load.sent) * 1e6 if load.sent else None,
            pss_mb=memory,
            label=label,
            rate=rate,
            graph_latency_ms=graph_latency * 1000,
        )
        if senders is not None and rate is not None:
            figures.senders = senders
        elif senders is not None:
            figures.senders = senders * connections
            if lex_latency > 0:
                figures.reply_bound_per_s = figures.senders / lex_latency
        if load.exhausted and rate is None:
            print(f"warning: {target}: {load.exhausted} connections ran out of bodies")
        if target != "bare" and account_replies:
            account(figures, load, graph, drain_timeout)
        return figures
    finally:
        if server is not None:
            server.stop()
        graph.stop()
        if lex is not None:
            lex.stop()
        if aws is not None:
            aws.stop()


def _fmt(value: float | int | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


_ROWS = (
    ("ack req/s", "ack_rps", ",.0f"),
    ("ack p50 ms", "ack_p50_ms", ".1f"),
    ("ack p99 ms", "ack_p99_ms", ".1f"),
    ("non-200 / conn errors", None, ""),
    ("server CPU µs/request (in window)", "cpu_us_per_request", ",.0f"),
    ("PSS MB (process tree)", "pss_mb", ".0f"),
    ("replies/s at Graph (in window)", "replies_per_s", ",.0f"),
    ("replies/s ÷ own ack req/s", "replies_per_ack", ".2f"),
    ("bound: senders ÷ Lex latency", "reply_bound_per_s", ",.0f"),
    ("end-to-end p50 ms", "e2e_p50_ms", ",.0f"),
    ("end-to-end p99 ms", "e2e_p99_ms", ",.0f"),
    ("drain after load s", "drain_s", ".1f"),
    ("order violations", "order_violations", "d"),
    ("duplicates", "duplicates", "d"),
    ("delivered share", "delivered_share", ".2%"),
    ("not answered when counting stopped", "backlog", ",d"),
    ("Send API calls per acked message", "sends_per_message", ".2f"),
    ("  message sends per acked message", "message_sends_per_message", ".2f"),
    ("  sender actions per acked message", "sender_actions_per_message", ".2f"),
)


def table(results: list[Figures]) -> str:
    """One column per run; rows no run has are left out."""
    width = 36
    widths = [max(12, len(r.column) + 2) for r in results]
    lines = [
        "".ljust(width) + "".join(r.column.rjust(w) for r, w in zip(results, widths, strict=True))
    ]
    for label, attr, spec in _ROWS:
        if attr is None:
            cells = [f"{r.non_200}/{r.connection_errors}" for r in results]
        elif all(getattr(r, attr) is None for r in results):
            continue
        else:
            cells = [_fmt(getattr(r, attr), spec) for r in results]
        lines.append(
            label.ljust(width) + "".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        )
    return "\n".join(lines)


SATURATION = "saturation"
CAPACITY = "capacity"
LIGHT = "light load (open loop, 100 req/s)"
REALISTIC = "realistic (Graph 80 ms per call, Lex 150 ms, open loop 20 req/s)"
REALISTIC_RATE = 20.0
REALISTIC_SENDERS = 50  # each writes every 2.5 s: rarely a second message while one is in flight
REALISTIC_SLACK_MS = 25.0  # the allowance over one Lex and one Graph round trip
ACK_ALONE = "ack path alone"
CAPACITY_RATES = (50.0, 100.0, 150.0, 200.0, 300.0, 400.0)
CAPACITY_SECONDS = 5.0
CAPACITY_DRAIN = 8.0  # a reply not at Graph this long after the load ended is over 1 s late
CAPACITY_P99_MS = 1000.0  # the bound on reply p99
CAPACITY_STOP_MS = 3000.0  # a system's sweep stops once its reply p99 is this far over
_SQS = (("BRIDGE_QUEUE", "sqs"),)
SCENARIOS = (
    # Open loop at rising rates: the highest rate at which replies still arrive within 1 s (p99).
    Scenario(CAPACITY, "naive", sweep=CAPACITY_RATES, drain_timeout=CAPACITY_DRAIN),
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


def unanswered_share(figures: Figures) -> float:
    """Requests not answered at Graph when counting stopped (refused, failed or still queued)."""
    total = figures.requests + figures.connection_errors
    missing = (figures.backlog or 0) + figures.non_200 + figures.connection_errors
    return missing / total if total else 0.0


def reply_p99_ms(figures: Figures) -> float:
    """Reply p99 counting every unanswered request as later than the drain timeout: over 1 %
    unanswered, the p99 is not known, only that it is over that timeout (``inf``)."""
    if figures.e2e_p99_ms is None or unanswered_share(figures) > 0.01:
        return float("inf")
    return figures.e2e_p99_ms


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
            f"{_p99_cell(figures)}, ack p99 {figures.ack_p99_ms:.1f} ms",
            flush=True,
        )
        if reply_p99_ms(figures) > stop_ms:
            break
    return results


def highest_rate(results: list[Figures], column: str) -> tuple[float | None, bool]:
    """The highest swept rate up to which every rate kept reply p99 under 1 s, and whether the
    sweep's top rate passed (then the capacity is at least that, not known)."""
    steps = sorted((r for r in results if r.column == column and r.rate), key=lambda r: r.rate or 0)
    best: float | None = None
    for figures in steps:
        if reply_p99_ms(figures) >= CAPACITY_P99_MS:
            return best, False
        best = figures.rate
    return best, True


def _p99_cell(figures: Figures) -> str:
    p99 = reply_p99_ms(figures)
    if p99 == float("inf"):
        return f"> {figures.drain_s or 0:.0f} s ({unanswered_share(figures):.0%} unanswered)"
    return f"{p99:,.0f} ms"


def capacity_table(results: list[Figures]) -> str:
    """A row per rate: reply p50 / p99 and ack p99 for each system swept."""
    columns = list(dict.fromkeys(r.column for r in results))
    rates = sorted({r.rate for r in results if r.rate is not None})
    heads = [f"{c}: reply p50 / p99 · ack p99" for c in columns]
    widths = [max(40, len(h) + 3) for h in heads]
    lines = [
        "rate req/s".ljust(12) + "".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))
    ]
    for rate in rates:
        cells = []
        for column, width in zip(columns, widths, strict=True):
            found = [r for r in results if r.column == column and r.rate == rate]
            if not found:
                cells.append("— (stopped)".rjust(width))
                continue
            f = found[0]
            text = f"{_fmt(f.e2e_p50_ms, ',.0f')} / {_p99_cell(f)} · {f.ack_p99_ms:.1f} ms"
            cells.append(text.rjust(width))
        lines.append(f"{rate:g}".ljust(12) + "".join(cells))
    for column in columns:
        best, top = highest_rate(results, column)
        shown = "none of the swept rates" if best is None else f"{'≥ ' if top else ''}{best:g}"
        lines.append(f"{column}: highest rate with reply p99 < 1 s: {shown} req/s")
    return "\n".join(lines)


def run_scenario(
    item: Scenario,
    folder: Path,
    *,
    seconds: float,
    connections: int,
    rates: tuple[float, ...] | None = None,
) -> list[Figures]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--only",
        action="append",
        metavar="SCENARIO",
        help="run only scenarios whose name starts with this (repeatable), e.g. saturation",
    )
    parser.add_argument(
        "--rates",
        type=lambda text: tuple(float(r) for r in text.split(",")),
        default=None,
        help="the capacity scenario's open-loop rates, e.g. 50,100,150 (default: "
        + ",".join(f"{r:g}" for r in CAPACITY_RATES)
        + ")",
    )
    args = parser.parse_args()
    chosen = [s for s in SCENARIOS if not args.only or any(s.name.startswith(o) for o in args.only)]
    about = machine()
    print(
        f"machine: {about['cpu']}, {about['cores']} cores, {about['memory_gb']} GB, "
        f"Linux {about['kernel']}, Python {about['python']}, {about['time']}"
    )
    fakes = measure_fakes(seconds=1.0)
    print(
        f"fakes alone (8 keep-alive client threads): Graph HTTPS {fakes['graph_https_rps']:,.0f}"
        f" req/s, Lex {fakes['lex_rps']:,.0f} req/s"
    )
    print(
        f"closed loop: {args.connections} connections, {args.seconds:g} s, bursts of 4 per"
        " sender; gunicorn 2 processes × 8 threads; everything on this machine's cores;"
        " the bridge at its default settings unless a column says otherwise"
    )
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for number, item in enumerate(chosen):
            folder = Path(tmp) / f"{number}-{item.target}"
            folder.mkdir()
            results.extend(
                run_scenario(
                    item,
                    folder,
                    seconds=args.seconds,
                    connections=args.connections,
                    rates=args.rates,
                )
            )
    for name in dict.fromkeys(r.scenario for r in results):
        print(f"\n== {name}")
        chosen_results = [r for r in results if r.scenario == name]
        print(capacity_table(chosen_results) if name == CAPACITY else table(chosen_results))
    lines = summary(results)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{about['time'].replace(':', '')}.json"
    path.write_text(
        json.dumps(
            {
                "machine": about,
                "fakes": fakes,
                "results": [asdict(r) for r in results],
                "capacity": capacity_figures(results),
                "summary": lines,
            },
            indent=2,
        )
        + "\n"
    )
    print()
    for line in lines:
        print(line)
    print(f"results: {path}")


def capacity_figures(results: list[Figures]) -> dict[str, dict[str, Any]]:
    """Per system swept: the highest rate with reply p99 under 1 s, for the JSON results."""
    swept = [r for r in results if r.scenario == CAPACITY]
    out: dict[str, dict[str, Any]] = {}
    for column in dict.fromkeys(r.column for r in swept):
        best, top = highest_rate(swept, column)
        out[column] = {
            "highest_rate_p99_under_1s": best,
            "sweep_top_passed": top,
            "rates": [r.rate for r in swept if r.column == column],
        }
    return out


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def summary(results: list[Figures]) -> list[str]:
    """The issue's targets, as ratios of this run's own figures."""
    by = {(r.scenario, r.column): r for r in results}
    lines = []
    swept = [r for r in results if r.scenario == CAPACITY]
    naive_cap, naive_top = highest_rate(swept, "naive")
    for column in ("bridge", LEAN):
        if not naive_cap or not any(r.column == column for r in swept):
            continue
        bridge_cap, bridge_top = highest_rate(swept, column)
        shown = f"{'≥ ' if naive_top else ''}{naive_cap:g}"
        bridge_shown = (
            "none" if bridge_cap is None else f"{'≥ ' if bridge_top else ''}{bridge_cap:g}"
        )
        ratio = (bridge_cap or 0) / naive_cap
        if naive_top and bridge_top:
            verdict = "not known: both passed the sweep's top rate"
        else:
            verdict = _verdict(ratio >= 1.0)
        lines.append(
            f"capacity (reply p99 < 1 s), {column}: {bridge_shown} ÷ naive {shown} req/s = "
            f"{ratio:.2f}× (target ≥ 1.0×: {verdict})"
        )
    bare, naive = by.get((SATURATION, "bare")), by.get((SATURATION, "naive"))
    alone = by.get((ACK_ALONE, "bridge"))
    for column in ("bridge", LEAN):
        bridge = by.get((SATURATION, column))
        if bridge is None:
            continue
        if naive:
            ratio = bridge.ack_rps / naive.ack_rps
            lines.append(f"saturation, {column}: ÷ naive ack req/s {ratio:.2f}×")
        if bridge.replies_per_s is not None and naive and naive.replies_per_s:
            ratio = bridge.replies_per_s / naive.replies_per_s
            lines.append(
                f"saturation, {column}: ÷ naive replies/s {ratio:.2f}× "
                f"(target ≥ 1.0×: {_verdict(ratio >= 1.0)})"
            )
        if bridge.replies_per_ack is not None:
            lines.append(
                f"saturation, {column}: replies/s ÷ own ack req/s {bridge.replies_per_ack:.2f}× "
                f"(target ≥ 0.9×: {_verdict(bridge.replies_per_ack >= 0.9)})"
            )
        if bridge.e2e_p50_ms is not None:
            lines.append(
                f"saturation, {column}: reply p50 {bridge.e2e_p50_ms:,.0f} ms "
                f"(target ≤ 250 ms: {_verdict(bridge.e2e_p50_ms <= 250)})"
            )
        if bridge.pss_mb is not None:
            lines.append(
                f"saturation, {column}: PSS {bridge.pss_mb:.0f} MB "
                f"(target ≤ 100 MB: {_verdict(bridge.pss_mb <= 100)})"
            )
    for column in ("bridge", LEAN):
        light = by.get((LIGHT, column))
        if light is None:
            continue
        lines.append(
            f"light load 100 req/s, {column}: ack p99 {light.ack_p99_ms:.1f} ms "
            f"(target ≤ 25 ms: {_verdict(light.ack_p99_ms <= 25)})"
        )
        if light.sends_per_message is not None:
            fast = light.sender_action_calls == 0 and light.other_calls == 0
            fast = fast and light.message_sends == light.acked
            lines.append(
                f"light load 100 req/s, {column}: Send API calls per message "
                f"{light.sends_per_message:.2f} = {light.message_sends_per_message:.2f} message "
                f"sends + {light.sender_actions_per_message:.2f} sender actions (target: one "
                f"per reply part, here 1 part: {_verdict(fast)})"
            )
    for column in ("bridge", LEAN):
        real = by.get((REALISTIC, column))
        if real is None or real.e2e_p50_ms is None:
            continue
        lex, graph = real.lex_latency_ms, real.graph_latency_ms
        bound = lex + graph + REALISTIC_SLACK_MS
        lines.append(
            f"realistic {real.rate or 0:g} req/s (Graph {graph:g} ms, Lex {lex:g} ms), {column}: "
            f"reply p50 {real.e2e_p50_ms:,.0f} ms (target ≤ {lex:g} + {graph:g} + "
            f"{REALISTIC_SLACK_MS:g} = {bound:g} ms: {_verdict(real.e2e_p50_ms <= bound)})"
        )
        if real.sends_per_message is not None and real.e2e_p99_ms is not None:
            lines.append(
                f"realistic {real.rate or 0:g} req/s, {column}: reply p99 "
                f"{real.e2e_p99_ms:,.0f} ms, ack p99 {real.ack_p99_ms:.1f} ms, Send API calls "
                f"per message {real.sends_per_message:.2f} = "
                f"{real.message_sends_per_message:.2f} message sends + "
                f"{real.sender_actions_per_message:.2f} sender actions"
            )
    if alone and bare and alone.cpu_us_per_request and bare.cpu_us_per_request:
        ratio = alone.cpu_us_per_request / bare.cpu_us_per_request
        lines.append(
            f"ack path alone ÷ bare CPU µs/request: {ratio:.2f}× "
            f"(target ≤ 2×: {_verdict(ratio <= 2)})"
        )
    for r in results:
        if r.reply_bound_per_s and r.replies_per_s is not None:
            lines.append(
                f"{r.scenario}: replies/s ÷ bound: {r.replies_per_s / r.reply_bound_per_s:.0%}"
            )
    return lines


if __name__ == "__main__":
    main()
