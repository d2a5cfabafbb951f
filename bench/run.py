"""The bridge under load on one machine, with its baselines, in one bounded run.

    python -m bench.run [--seconds 10] [--connections 32] [--only NAME] [--out DIR]  (make bench)
    python -m bench.run --only capacity [--rates 50,100,150]

Starts the fakes (Graph Send API over HTTPS, Lex V2 RecognizeText; each in its own process,
each measured alone first), then runs the scenarios of ``SCENARIOS`` one after the other, each
with fresh fakes and a fresh server under the same gunicorn settings (2 processes × 8
threads): a bare WSGI app (the ceiling), a naive Flask bridge that sends the echo inline, and
the bridge in production mode (Lex through ``AWS_ENDPOINT_URL_LEX_RUNTIME_V2``, Graph through
``FB_GRAPH_API_URL`` trusting the fake's certificate via ``REQUESTS_CA_BUNDLE``, a fresh SQLite
queue, every other setting at its default: seen and typing only for a bot slower than the
typing delay). Scenarios: capacity (open loop
at a sweep of rates, naive bridge and bridge: the highest rate whose reply p99 stays under
1 s), saturation (closed loop, 32 connections), the bridge's ack path alone (delivery off),
slow Lex (300 ms, 64 senders), Graph answering 5 % of sends with errors, light load (open
loop, 100 requests/s) and realistic upstream latency (Graph 80 ms per call, Lex 150 ms, open
loop at 20 requests/s from 50 senders; its target: reply p50 ≤ 150 + 80 + 25 ms); capacity,
saturation, light load and realistic also run the bridge with ``BRIDGE_SENDER_ACTIONS=false``
as a second, lean column. After each load, replies are awaited
(bounded) and accounted for: per-user order, duplicates, delivered share, and the Send API
calls the Graph fake received per acked message (message sends and sender actions). Before
each bridge server stops, its stage histograms (``bridge_turn_stage_seconds``,
``bridge_queue_write_seconds``) are read from ``/metrics`` on its metrics listener (a free
``BRIDGE_METRICS_PORT``): printed as a table when it has any, kept under each run's
``stages`` in the results (empty otherwise). Prints a table per scenario and the targets'
ratios, and writes ``bench/results/<UTC time>.json`` (gitignored: results belong to a
machine). About 7 minutes.

This module is the command line only. The scenarios and the capacity sweep are in
``bench.scenarios``, one load (fakes, server, figures) in ``bench.runner``, the accounting of
replies in ``bench.accounting``, the tables in ``bench.report``, the targets in
``bench.summary``, the stage profile in ``bench.stages``; ``bench.servers``, ``bench.procs``,
``bench.load`` and ``bench.fakes`` start the servers, measure them, load them and stand in for
Graph and Lex.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.fakespeed import measure_fakes
from bench.figures import Figures
from bench.machine import machine
from bench.report import capacity_figures, capacity_table, table
from bench.scenarios import CAPACITY, CAPACITY_RATES, SCENARIOS, Scenario, run_scenario
from bench.servers import ROOT
from bench.summary import summary


def _parser() -> argparse.ArgumentParser:
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
    return parser


def main() -> None:
    args = _parser().parse_args()
    chosen = [s for s in SCENARIOS if not args.only or any(s.name.startswith(o) for o in args.only)]
    about = machine()
    fakes = _print_setting(about, args.connections, args.seconds)
    results = _run_all(chosen, args)
    _print_tables(results)
    lines = summary(results)
    path = _write_results(args.out, about=about, fakes=fakes, results=results, lines=lines)
    print()
    for line in lines:
        print(line)
    print(f"results: {path}")


def _print_setting(about: dict[str, Any], connections: int, seconds: float) -> dict[str, float]:
    """Print the machine, the fakes' own speed (measured now) and the load; return the speeds."""
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
        f"closed loop: {connections} connections, {seconds:g} s, bursts of 4 per"
        " sender; gunicorn 2 processes × 8 threads; everything on this machine's cores;"
        " the bridge at its default settings unless a column says otherwise"
    )
    return fakes


def _run_all(chosen: list[Scenario], args: argparse.Namespace) -> list[Figures]:
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
    return results


def _print_tables(results: list[Figures]) -> None:
    for name in dict.fromkeys(r.scenario for r in results):
        print(f"\n== {name}")
        chosen_results = [r for r in results if r.scenario == name]
        print(capacity_table(chosen_results) if name == CAPACITY else table(chosen_results))


def _write_results(
    out: Path,
    *,
    about: dict[str, Any],
    fakes: dict[str, float],
    results: list[Figures],
    lines: list[str],
) -> Path:
    """``<out>/<UTC time>.json``: the machine, the fakes' speeds, every run, the summary."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{about['time'].replace(':', '')}.json"
    document = {
        "machine": about,
        "fakes": fakes,
        "results": [asdict(r) for r in results],
        "capacity": capacity_figures(results),
        "summary": lines,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


if __name__ == "__main__":
    main()
