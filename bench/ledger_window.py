"""Measure the crash window of the send ledger: Graph has accepted a reply part, the ledger has
not yet recorded it. A process killed inside this window re-sends that one part on recovery.

    python -m bench.ledger_window [--jobs 2000] [--threads 4]

Real parts: the SQLite queue on disk (WAL, synchronous=FULL), delivery threads, the Graph
client over HTTP to a loopback Send API stand-in. Prints the window's distribution (ms).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bridge.delivery.limits import Limits
from bridge.delivery.loop import Delivery
from bridge.delivery.turn import TurnHandler
from bridge.messenger.events import Event, TextMessage, bot_input
from bridge.messenger.graph import GraphClient
from bridge.messenger.replies import Reply, Text
from bridge.queue import Job
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.webhook import to_new_job


class _SendApi(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"recipient_id":"1","message_id":"m_bench"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _TwoPartBot:
    def respond(self, event: Event) -> list[Reply]:
        return [Text(f"first part for {bot_input(event)}"), Text("second part")]


class _TimedGraph(GraphClient):
    """Records when each send's response arrived, per thread."""

    accepted = threading.local()

    def send_message(self, recipient_id: str, message: dict[str, Any], **how: Any) -> str | None:
        result = super().send_message(recipient_id, message, **how)
        _TimedGraph.accepted.at = time.perf_counter()
        return result


class _TimedQueue(SqliteQueue):
    """Records how long after Graph's answer each ledger write was committed."""

    windows: list[float] = []
    _lock = threading.Lock()

    def mark_sent(self, job: Job, count: int) -> bool:
        done = super().mark_sent(job, count)
        window = time.perf_counter() - _TimedGraph.accepted.at
        with self._lock:
            self.windows.append(window * 1000)
        return done


def measure(jobs: int, threads: int) -> list[float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SendApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _TimedQueue.windows = []
    with tempfile.TemporaryDirectory() as tmp:
        queue = _TimedQueue(Path(tmp) / "bench.db")
        now_ms = int(time.time() * 1000)
        queue.put(
            [
                to_new_job(
                    TextMessage("1", str(7000 + n % 50), now_ms + n, f"m_{n}", f"hello {n}"),
                    now_ms / 1000,
                )
                for n in range(jobs)
            ],
            now=time.time(),
        )
        graph = _TimedGraph(
            base_url=f"http://127.0.0.1:{server.server_port}",
            version="v25.0",
            page_token="t",
            app_secret="s",
            timeout=5,
        )
        handler = TurnHandler(
            queue=queue,
            bot=_TwoPartBot(),
            graph=graph,
            fallback_text="x",
            sender_actions=False,
            bot_threads=threads,
        )
        delivery = Delivery(queue, handler, threads=threads, poll_interval=0.01, limits=Limits())
        delivery.start()
        while queue.stats(now=time.time())["done"] < jobs:
            time.sleep(0.05)
        delivery.stop(timeout=5)
        queue.close()
    server.shutdown()
    return list(_TimedQueue.windows)


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(
        f"# {platform.node()} · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"{args.jobs} jobs × 2 parts · {args.threads} delivery threads"
    )
    print("run  parts  p50_ms  p90_ms  p99_ms  max_ms  mean_ms")
    results = []
    for run in range(1, args.runs + 1):
        windows = sorted(measure(args.jobs, args.threads))
        row = {
            "run": run,
            "parts": len(windows),
            "p50_ms": _quantile(windows, 0.5),
            "p90_ms": _quantile(windows, 0.9),
            "p99_ms": _quantile(windows, 0.99),
            "max_ms": windows[-1],
            "mean_ms": statistics.fmean(windows),
        }
        results.append(row)
        print(
            f"{run:>3}  {row['parts']:>5}  {row['p50_ms']:6.2f}  {row['p90_ms']:6.2f}  "
            f"{row['p99_ms']:6.2f}  {row['max_ms']:6.2f}  {row['mean_ms']:7.2f}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
