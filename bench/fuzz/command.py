"""``python -m bench.fuzz``: the command line, the run and what it prints (see ``bench.fuzz``)."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.fakes import graph_records
from bench.fuzz import __doc__ as about
from bench.fuzz.cases import Case, Corpus, load_corpus, make_case
from bench.fuzz.logscan import LogReport, scan_log
from bench.fuzz.report import (
    Server,
    case_lines,
    failure_lines,
    kind_table,
    log_lines,
    problems,
    status_table,
)
from bench.fuzz.sender import Outcome, Sent, send_all
from bench.fuzz.target import MAX_BODY_BYTES, WORKERS, OwnServer, health
from bench.machine import machine
from bench.procs import cpu_seconds

_EPILOG = """\
Cases: types, ranges, depths, sizes, Unicode, keys, several at once, raw bytes, bodies at the
size limit, bodies that are not JSON, unsigned or wrongly signed (bench/fuzz/cases.py). The
target: no 5xx, no traceback, no restarted worker, no secret in the log, the server alive and
answering /healthz. Exit status: 0 when the run met its target, 1 when not, 2 for usage."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz",
        description="\n\n".join((about or "").split("\n\n")[:2]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    _run_options(parser.add_argument)
    _url_options(parser.add_argument)
    return parser


def _run_options(add: Callable[..., object]) -> None:
    add("--count", type=int, default=100_000, metavar="N", help="cases (default 100000)")
    add("--seed", type=int, default=1, metavar="S", help="the cases' seed (default 1)")
    add(
        "--connections", type=int, default=4, metavar="N", help="keep-alive connections (default 4)"
    )
    add("--now", type=int, metavar="MS", help="epoch ms to retime the corpus to (default now)")
    add(
        "--replay",
        type=int,
        action="append",
        metavar="INDEX",
        help="send only this case of --seed and --now (repeatable)",
    )
    add("--dump", type=Path, metavar="DIR", help="write each failed or replayed case's body")
    add(
        "--drain-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds to wait for delivery after the last case (default 120)",
    )
    add("--save-log", type=Path, metavar="FILE", help="keep a copy of its own server's log")


def _url_options(add: Callable[..., object]) -> None:
    add("--url", help="fuzz the server already running there instead of starting one")
    add(
        "--app-secret",
        default=os.environ.get("FB_APP_SECRET"),
        metavar="SECRET",
        help="the --url server's app secret (default: $FB_APP_SECRET)",
    )
    add("--log", type=Path, metavar="FILE", help="the --url server's log, read for the run")
    add(
        "--max-body-bytes",
        type=int,
        default=int(os.environ.get("BRIDGE_MAX_BODY_BYTES") or MAX_BODY_BYTES),
        metavar="N",
        help="the --url server's limit (default: $BRIDGE_MAX_BODY_BYTES, else 1048576)",
    )


@dataclass(frozen=True)
class Plan:
    """What to send, to where, and how to say it again."""

    corpus: Corpus
    seed: int
    now: int
    secret: str
    limit: int
    indexes: list[int]
    url: str | None
    replaying: bool

    def case(self, index: int) -> Case:
        return make_case(self.corpus, self.seed, index, secret=self.secret, limit=self.limit)

    def again(self, index: int) -> str:
        where = f" --url {self.url}" if self.url else ""
        return f"python -m bench.fuzz --seed {self.seed} --now {self.now}{where} --replay {index}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.url and not args.app_secret:
        parser().error("--url needs the server's app secret: --app-secret or FB_APP_SECRET")
    if args.count < 1 or args.connections < 1:
        parser().error("--count and --connections must be at least 1")
    now = args.now if args.now is not None else int(time.time() * 1000)
    corpus = load_corpus(now)
    indexes = args.replay or list(range(args.count))

    def plan(secret: str, limit: int) -> Plan:
        return Plan(corpus, args.seed, now, secret, limit, indexes, args.url, bool(args.replay))

    if args.url:
        return _fuzz_running(plan(args.app_secret, args.max_body_bytes), args)
    own = OwnServer()
    try:
        own.start()
        return _fuzz_own(plan(own.secret, MAX_BODY_BYTES), own, args)
    finally:
        own.close()


def _fuzz_running(plan: Plan, args: argparse.Namespace) -> int:
    url = args.url
    offset = args.log.stat().st_size if args.log else 0
    _header(plan, args.connections, f"the server at {url}")
    sent = send_all(url, plan.case, plan.indexes, connections=args.connections)
    _print_sent(sent, server_cpu=None)
    log = None
    if args.log:
        with args.log.open("rb") as stream:
            stream.seek(offset)
            text = stream.read().decode("utf-8", "replace")
        log = scan_log(text, {"FB_APP_SECRET": plan.secret})
    return _finish(plan, sent, log, Server(health(url), None, None), args.dump)


def _fuzz_own(plan: Plan, own: OwnServer, args: argparse.Namespace) -> int:
    assert own.server is not None and own.graph is not None
    _header(plan, args.connections, f"its own server at {own.base_url}")
    group = own.server.process.pid
    cpu = cpu_seconds(group)
    sent = send_all(own.base_url, plan.case, plan.indexes, connections=args.connections)
    _print_sent(sent, server_cpu=cpu_seconds(group) - cpu)
    waited = time.perf_counter()
    stats = own.drain(args.drain_timeout)
    waited = time.perf_counter() - waited
    replies = len(graph_records(own.graph).records)
    server = Server(health(own.base_url), own.alive(), WORKERS)
    own.stop()
    states = ", ".join(f"{name} {stats[name]:,}" for name in ("done", "dropped", "dead"))
    left = stats["queued"] + stats["running"]
    print(f"delivery: jobs {states}; {left:,} unfinished {waited:.1f} s after the last case;")
    print(f"  {replies:,} replies reached the Graph fake")
    if args.save_log:
        shutil.copyfile(own.log, args.save_log)
    log = scan_log(own.log.read_text(encoding="utf-8", errors="replace"), own.secrets())
    return _finish(plan, sent, log, server, args.dump)


def _header(plan: Plan, connections: int, target: str) -> None:
    where = machine()
    print(
        f"fuzz: {len(plan.indexes):,} cases (seed {plan.seed}, now {plan.now}) on"
        f" {connections} keep-alive connections to {target}; {len(plan.corpus.names)} corpus"
        f" bodies, body limit {plan.limit:,} bytes"
    )
    print(f"machine: {where['cpu']}, {where['cores']} cores, Python {where['python']}")
    load = os.getloadavg()[0]
    print(f"started: {where['time']}; load average over the last minute {load:.1f}")


def _print_sent(sent: Sent, server_cpu: float | None) -> None:
    done = len(sent.finished())
    rate = done / sent.seconds if sent.seconds else 0.0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = f"CPU: this command {usage.ru_utime + usage.ru_stime:.0f} s"
    if server_cpu is not None:
        cpu += f", the server {server_cpu:.0f} s"
    print(f"sent {done:,} in {sent.seconds:.1f} s ({rate:,.0f}/s); {cpu}")
    if sent.resent:
        print(f"  {sent.resent:,} sent again after the server closed a kept-alive connection")


def _finish(
    plan: Plan, sent: Sent, log: LogReport | None, server: Server, dump: Path | None
) -> int:
    """Print the tables, the log, the server's state and the failures; the exit status."""
    outcomes = sent.finished()
    for table in (status_table(outcomes), kind_table(outcomes)):
        print()
        print("\n".join(table))
    print()
    if log is not None:
        print("\n".join(log_lines(log)))
    alive = {True: "alive", False: "not running", None: "not ours to see"}[server.alive]
    print(f"server: process {alive}, /healthz {server.healthz}")
    shown = (
        case_lines(outcomes, plan.again) if plan.replaying else failure_lines(outcomes, plan.again)
    )
    if shown:
        print("\ncases:" if plan.replaying else "\nfailed cases:")
        print("\n".join(shown))
    if dump is not None:
        _dump(plan, [o for o in outcomes if plan.replaying or o.failed], dump)
    found = problems(outcomes, log, server)
    print()
    print("result: " + ("; ".join(found) if found else _met(outcomes, log)))
    return 1 if found else 0


def _met(outcomes: list[Outcome], log: LogReport | None) -> str:
    traced = "" if log is None else ", 0 tracebacks"
    return f"target met: {len(outcomes):,} cases, 0 5xx{traced}, the server alive"


def _dump(plan: Plan, outcomes: list[Outcome], folder: Path) -> None:
    """Write each case's body as ``<folder>/<index>.body``."""
    folder.mkdir(parents=True, exist_ok=True)
    for outcome in outcomes:
        (folder / f"{outcome.index}.body").write_bytes(plan.case(outcome.index).body)
    print(f"bodies of {len(outcomes):,} cases in {folder}")
