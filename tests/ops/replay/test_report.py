"""A replay's outcomes as terminal lines and JSON lines (bridge/ops/replay/report.py)."""

from __future__ import annotations

import json

from bridge.ops.replay.outcomes import Outcome, summarise
from bridge.ops.replay.report import format_outcome, format_summary, outcome_json, summary_json
from tests.ops.replay.test_outcomes import outcomes


def test_json_lines_have_one_shape() -> None:
    lines = [json.loads(outcome_json(o)) for o in outcomes()]
    assert {tuple(line) for line in lines} == {
        (
            "file",
            "attempt",
            "status",
            "latency_ms",
            "error",
            "events",
            "skipped",
            "replies",
            "followed",
            "timed_out",
        )
    }
    first = lines[0]
    assert first["events"] == [
        {"key": "m_1", "sender": "7", "state": "done"},
        {"key": "m_2", "sender": "8", "state": "dropped"},
    ]
    assert first["replies"][1] == {"recipient": {"id": "7"}, "message": {"text": "hi\nthere"}}
    assert lines[4]["attempt"] is None and lines[4]["error"].startswith("not JSON")
    summary = json.loads(summary_json(summarise(outcomes())))["summary"]
    assert summary["latency_ms"] == {"p50": 4.0, "p95": 10.0, "max": 10.0}
    assert (summary["sent"], summary["refused"], summary["ok"]) == (5, 1, False)


def test_lines_show_status_latency_jobs_and_replies() -> None:
    first, second, refused, failed, _, late = outcomes()
    assert format_outcome(first, width=8, repeat=2) == [
        "a.json   #1  200    4.0 ms  2 events",
        "  7  m_1 done",
        "    bot> hi",
        "         there",
        "  8  m_2 dropped",
        "    (no reply)",
    ]
    assert format_outcome(second, width=8, repeat=2) == ["a.json   #2  200    2.0 ms  1 event"]
    assert format_outcome(refused) == ["b.json  403     10 ms  refused"]
    assert format_outcome(failed) == ["c.json  ---     30 ms  could not send: ConnectionError"]
    assert format_outcome(late)[-1] == "  (not finished within the --wait time)"
    skipped = Outcome("echo.json", 1, 200, 1.25, skipped=["echo", "read", "read"])
    assert format_outcome(skipped) == ["echo.json  200    1.2 ms  skipped: echo, read ×2"]
    assert format_summary(summarise(outcomes())) == [
        "sent 5: 3 accepted, 1 refused, 1 failed to send; 1 file not a webhook body",
        "latency p50 4.0 ms, p95 10 ms, max 10 ms",
        "jobs: 1 done, 1 dropped, 1 running (1 delivery not finished in time)",
    ]
