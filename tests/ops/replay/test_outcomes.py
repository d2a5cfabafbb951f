"""What a replay did (bridge/ops/replay/outcomes.py): percentiles and the run's summary,
over a set of outcomes the report tests share."""

from __future__ import annotations

from bridge.ops.replay.outcomes import EventState, Outcome, percentile, summarise


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile([], 50) is None


def outcomes() -> list[Outcome]:
    done = [EventState("m_1", "7", "done"), EventState("m_2", "8", "dropped")]
    return [
        Outcome(
            "a.json",
            1,
            200,
            4.0,
            events=done,
            followed=True,
            replies=[
                {"recipient": {"id": "7"}, "sender_action": "typing_on"},
                {"recipient": {"id": "7"}, "message": {"text": "hi\nthere"}},
            ],
        ),
        Outcome("a.json", 2, 200, 2.0, events=[EventState("m_1", "7")]),
        Outcome("b.json", 1, 403, 10.0),
        Outcome("c.json", 1, None, 30.0, error="could not send: ConnectionError"),
        Outcome("d.json", None, error="not JSON (Expecting value at line 1 column 1)"),
        Outcome(
            "e.json",
            1,
            200,
            6.0,
            events=[EventState("m_3", "9", "running")],
            followed=True,
            timed_out=True,
        ),
    ]


def test_the_summary_counts_and_latencies() -> None:
    summary = summarise(outcomes())
    assert (summary.sent, summary.accepted, summary.refused, summary.failed, summary.invalid) == (
        5,
        3,
        1,
        1,
        1,
    )
    # The failed send has no answer and so no latency: 2, 4, 6, 10.
    assert (summary.p50_ms, summary.p95_ms, summary.max_ms) == (4.0, 10.0, 10.0)
    assert summary.states == {"done": 1, "dropped": 1, "running": 1}
    assert summary.unfinished == 1
    assert not summary.ok
    good = summarise([outcomes()[0], outcomes()[1]])
    assert good.ok
    assert not summarise([]).ok
    assert not summarise([outcomes()[0]], interrupted=True).ok
