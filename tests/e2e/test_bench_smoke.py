"""The benchmark's accounting on a short run: every acked message answered once, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run import scenario

pytestmark = pytest.mark.e2e


def test_bench_bridge_answers_every_acked_message_once_in_order(tmp_path: Path) -> None:
    figures = scenario(
        "bridge", tmp_path, seconds=1.5, connections=4, per_connection=200, drain_timeout=15
    )
    assert figures.acked > 0
    assert figures.non_200 == 0
    assert figures.connection_errors == 0
    assert figures.delivered_share == 1.0
    assert figures.duplicates == 0
    assert figures.unexpected == 0
    assert figures.order_violations == 0
    assert figures.replies == figures.acked


def test_bench_open_loop_with_graph_errors_still_answers_everything_once(tmp_path: Path) -> None:
    # Light open-loop load while Graph fails 20 % of sends: every acked message is answered
    # once, the latency counts from when each request was due.
    figures = scenario(
        "bridge",
        tmp_path,
        seconds=1.0,
        connections=4,
        rate=40.0,
        graph_error_rate=0.2,
        drain_timeout=30,
        name="light load with errors",
    )
    assert figures.acked == figures.requests > 30
    assert figures.graph_errors is not None and figures.graph_errors > 0
    assert figures.delivered_share == 1.0
    assert figures.duplicates == 0
    assert figures.unexpected == 0
    assert figures.ack_p50_ms > 0
