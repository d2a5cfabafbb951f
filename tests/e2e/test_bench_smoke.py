"""The benchmark's accounting on a short run: every acked message answered once, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run import LEAN, capacity_table, highest_rate, scenario, sweep

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
        env={"BRIDGE_SENDER_ACTIONS": "false"},  # each reply's retries alone, as before
    )
    assert figures.acked == figures.requests > 30
    assert figures.graph_errors is not None and figures.graph_errors > 0
    assert figures.delivered_share == 1.0
    assert figures.duplicates == 0
    assert figures.unexpected == 0
    assert figures.ack_p50_ms > 0


def test_bench_counts_send_api_calls_by_kind_at_default_and_lean_settings(tmp_path: Path) -> None:
    # The bridge at its defaults sends sender actions beside each reply; the lean setting
    # sends none. Every reply part is one message send.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    default = scenario("bridge", tmp_path / "a", seconds=1.0, connections=2, rate=20.0)
    lean = scenario(
        "bridge",
        tmp_path / "b",
        seconds=1.0,
        connections=2,
        rate=20.0,
        env={"BRIDGE_SENDER_ACTIONS": "false"},
        label=LEAN,
    )
    for figures in (default, lean):
        assert figures.delivered_share == 1.0
        assert figures.message_sends == figures.acked
        assert figures.message_sends_per_message == 1.0
    assert default.sender_action_calls is not None and default.sender_action_calls > 0
    assert lean.sender_action_calls == 0
    assert lean.sends_per_message == 1.0
    assert lean.column == LEAN


def test_bench_capacity_sweeps_rates_and_finds_the_highest_under_one_second(
    tmp_path: Path,
) -> None:
    results = sweep("naive", tmp_path, (10.0, 20.0), seconds=1.0, drain_timeout=10)
    assert [r.rate for r in results] == [10.0, 20.0]
    assert all(r.scenario == "capacity" and r.delivered_share == 1.0 for r in results)
    assert highest_rate(results, "naive") == (20.0, True)
    assert "highest rate with reply p99 < 1 s: ≥ 20 req/s" in capacity_table(results)
