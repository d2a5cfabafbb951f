"""The bench summary's lines against both inline baselines: the issue's targets against the
naive bridge, context (no verdict) against the one that asks Lex."""

from __future__ import annotations

from bench.figures import Figures
from bench.scenarios import CAPACITY, NAIVE_LEX, SATURATION
from bench.summary import summary


def _run(scenario: str, target: str, *, label: str = "", **figures: float) -> Figures:
    return Figures(
        scenario=scenario,
        target=target,
        lex_latency_ms=0.0,
        connections=32,
        seconds=10.0,
        requests=1000,
        acked=1000,
        non_200=0,
        connection_errors=0,
        ack_rps=100.0,
        ack_p50_ms=1.0,
        ack_p99_ms=2.0,
        cpu_us_per_request=None,
        pss_mb=None,
        label=label,
        **figures,  # type: ignore[arg-type]
    )


def _swept(target: str, passed: list[float], failed: float, label: str = "") -> list[Figures]:
    ok = [_run(CAPACITY, target, label=label, rate=r, e2e_p99_ms=10.0) for r in passed]
    return ok + [_run(CAPACITY, target, label=label, rate=failed, e2e_p99_ms=5000.0)]


def test_capacity_is_judged_against_the_naive_bridge_and_shown_against_the_one_with_lex() -> None:
    results = [
        *_swept("naive", [100, 200, 400], 800),
        *_swept("naive_lex", [100, 200], 400, label=NAIVE_LEX),
        *_swept("bridge", [100, 200], 400),
    ]
    lines = summary(results)
    assert (
        "capacity (reply p99 < 1 s), bridge: 200 ÷ naive 400 req/s = 0.50× (target ≥ 1.0×: missed)"
        in lines
    )
    assert (
        f"capacity (reply p99 < 1 s), bridge: 200 ÷ {NAIVE_LEX} 200 req/s = 1.00× "
        "(context, no target)"
    ) in lines


def test_saturation_replies_are_shown_against_the_inline_bridge_with_lex() -> None:
    results = [
        _run(SATURATION, "naive", replies_per_s=1000.0),
        _run(SATURATION, "naive_lex", label=NAIVE_LEX, replies_per_s=400.0),
        _run(SATURATION, "bridge", replies_per_s=300.0),
    ]
    lines = summary(results)
    assert "saturation, bridge: ÷ naive replies/s 0.30× (target ≥ 1.0×: missed)" in lines
    assert f"saturation, bridge: ÷ {NAIVE_LEX} replies/s 0.75× (context, no target)" in lines
