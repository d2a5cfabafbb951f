"""Each fake alone, requests/s: how much of a run's figures the fakes themselves can carry.

    python -m bench.fakespeed

``make bench`` measures them at the start of every run (``measure_fakes``).
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from typing import Any

from bench.fakes import Fake


def measure(path: str, body: bytes, conn_factory: Any, seconds: float, threads: int) -> float:
    """Requests/s over keep-alive connections from ``threads`` client threads."""
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def run(index: int) -> None:
        conn = conn_factory()
        headers = {"Content-Type": "application/json"}
        while time.perf_counter() < stop:
            conn.request("POST", path, body=body, headers=headers)
            conn.getresponse().read()
            counts[index] += 1
        conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def measure_fakes(seconds: float = 2.0, threads: int = 8) -> dict[str, float]:
    """Each fake alone, driven by keep-alive clients in threads of this process."""
    results: dict[str, float] = {}
    graph = Fake("graph")
    try:
        assert graph.cert is not None
        context = ssl.create_default_context(cafile=graph.cert)
        send = json.dumps({"recipient": {"id": "1"}, "message": {"text": "x"}}).encode()
        results["graph_https_rps"] = measure(
            "/v25.0/me/messages",
            send,
            lambda: http.client.HTTPSConnection("127.0.0.1", graph.port, context=context),
            seconds,
            threads,
        )
    finally:
        graph.stop()
    lex = Fake("lex")
    try:
        results["lex_rps"] = measure(
            "/bots/BENCHBOT01/botAliases/TSTALIASID/botLocales/en_US/sessions/1/text",
            b'{"text":"x"}',
            lambda: http.client.HTTPConnection("127.0.0.1", lex.port),
            seconds,
            threads,
        )
    finally:
        lex.stop()
    return results


def main() -> None:
    for name, rps in measure_fakes().items():
        print(f"{name}: {rps:,.0f} req/s")


if __name__ == "__main__":
    main()
