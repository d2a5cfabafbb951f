"""The fakes' fault plan: seeded shares of calls, the same calls in every run."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.faultplan import GRAPH_5XX, HOLD, THROTTLE, GraphFaults, draw, graph_fault, lex_fault


@given(st.integers(), st.binary(max_size=64), st.integers(min_value=0, max_value=1000))
def test_a_draw_is_a_share_fixed_by_seed_bytes_and_count(seed: int, key: bytes, nth: int) -> None:
    seed = seed % 2**63
    value = draw(seed, key, nth)
    assert 0.0 <= value < 1.0
    assert draw(seed, key, nth) == value


def test_faults_hit_their_share_of_calls_and_a_retry_draws_anew() -> None:
    faults = GraphFaults(error_rate=0.10, hold_rate=0.01, seed=7)
    keys = [f"send {i}".encode() for i in range(20_000)]
    fates = [graph_fault(faults, key, 0) for key in keys]
    assert 0.09 < sum(isinstance(f, int) for f in fates) / len(keys) < 0.11
    assert {f for f in fates if isinstance(f, int)} == set(GRAPH_5XX) == {500, 503}
    assert 0.007 < fates.count(HOLD) / len(keys) < 0.013
    retried = [graph_fault(faults, key, 1) for key, fate in zip(keys, fates, strict=True) if fate]
    assert 0.8 < retried.count(None) / len(retried) < 0.95  # the retry's fate is its own
    throttled = [lex_fault(0.05, 7, key, 0) for key in keys]
    assert 0.04 < throttled.count(THROTTLE) / len(keys) < 0.06
    assert graph_fault(GraphFaults(), keys[0], 0) is None  # no rates, no faults
