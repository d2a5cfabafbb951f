"""The soak's accounting and report, and Meta's deliveries: the pure parts, no server."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bench.soak.meta import Message, Plan, request_of
from bench.soak.report import Observed, report, targets
from bench.soak.tally import (
    AT_KILL,
    HELD,
    KILL,
    Outage,
    Repeat,
    Written,
    echoed,
    out_of_order,
    repeats,
    tally,
)
from bridge.messenger.events import TextMessage, parse_webhook
from bridge.messenger.signature import is_valid_signature

KILLED = Outage(KILL, at=100.0, up=104.0, stopped=100.1)
TERMED = Outage("SIGTERM", at=200.0, up=203.0, stopped=201.0)


def test_a_reply_maps_to_the_message_it_echoes() -> None:
    assert echoed("echo: s17 m5") == "s17 m5"
    assert echoed("Sorry, something went wrong on our side.") is None
    assert echoed("echo: s17 m5 and more") is None


def test_replies_out_of_order_are_those_after_a_later_message_of_the_same_sender() -> None:
    replies = [
        ("a", "s1 m1"),
        ("b", "s2 m2"),  # another sender's numbers do not count
        ("a", "s1 m3"),
        ("a", "s1 m2"),  # after m3: late
        ("b", "s2 m1"),  # after m2: late
        ("a", "s1 m3"),  # a duplicate, counted as such, not as late
        ("a", "s1 m4"),
    ]
    assert out_of_order(replies) == ["s1 m2", "s2 m1"]


@given(st.lists(st.integers(min_value=1, max_value=5), max_size=40), st.randoms())
def test_each_sender_in_order_is_never_out_of_order_however_senders_interleave(
    counts: list[int], rng: object
) -> None:
    queues = [[(f"p{s}", f"s{s} m{n}") for n in range(1, c + 1)] for s, c in enumerate(counts)]
    merged = []
    while any(queues):
        pick = rng.choice([q for q in queues if q])  # type: ignore[attr-defined]
        merged.append(pick.pop(0))
    assert out_of_order(merged) == []


def test_a_duplicate_is_ambiguous_when_each_copy_but_the_last_was_held() -> None:
    copies = [(10.0, "s1 m1", True), (12.5, "s1 m1", False), (20.0, "s2 m1", False)]
    assert repeats(copies, [KILLED], 1.0) == [Repeat("s1 m1", 2, (HELD,))]


def test_a_copy_sent_just_before_a_kill_or_while_down_is_ambiguous() -> None:
    before = [(99.4, "s1 m1", False), (105.0, "s1 m1", False)]
    in_flight = [(100.2, "s2 m1", False), (106.0, "s2 m1", False)]
    assert repeats(before + in_flight, [KILLED], 1.0) == [
        Repeat("s1 m1", 2, (AT_KILL,), before_kill=KILLED.at - 99.4),
        Repeat("s2 m1", 2, (AT_KILL,), before_kill=KILLED.at - 100.2),
    ]


def test_a_duplicate_with_an_answered_copy_before_its_last_is_not_ambiguous() -> None:
    early = [(98.5, "s1 m1", False), (105.0, "s1 m1", False)]  # 1.5 s before the kill
    at_term = [(199.9, "s2 m1", False), (204.0, "s2 m1", False)]  # SIGTERM is no excuse
    middle = [(10.0, "s3 m1", True), (13.0, "s3 m1", False), (14.0, "s3 m1", False)]
    last_held = [(10.0, "s4 m1", False), (13.0, "s4 m1", True)]
    found = repeats(early + at_term + middle + last_held, [KILLED], 1.0)
    assert [(r.text, r.copies, r.ambiguous) for r in found] == [
        ("s1 m1", 2, False),
        ("s2 m1", 2, False),
        ("s3 m1", 3, False),
        ("s4 m1", 2, False),
    ]


def test_tally_counts_lost_unacked_duplicated_late_and_stray_replies() -> None:
    written = [
        Written("s1 m1", True),
        Written("s1 m2", True),
        Written("s1 m3", True),
        Written("s2 m1", True),
        Written("s2 m2", False),
    ]
    replies = [
        (1.0, "p1", "echo: s1 m1"),
        (2.0, "p1", "echo: s1 m3"),
        (3.0, "p1", "echo: s1 m2"),
        (4.0, "p2", "echo: s2 m1"),
        (6.0, "p2", "echo: s2 m1"),
        (7.0, "p2", "Sorry, something went wrong on our side."),
        (8.0, "p9", "echo: s9 m1"),  # answers nothing written
    ]
    turns = [(1.0, "p1", "s1 m1"), (99.8, "p2", "s2 m1"), (105.0, "p2", "s2 m1")]
    counted = tally(written, replies, {3}, turns, [KILLED, TERMED])
    assert (counted.sent, counted.acked) == (5, 4)
    assert counted.unacked == ["s2 m2"]
    assert counted.lost == []
    assert counted.out_of_order == ["s1 m2"]
    assert counted.duplicates == [Repeat("s2 m1", 2, (HELD,))]
    assert counted.unexpected == ["Sorry, something went wrong on our side.", "echo: s9 m1"]
    assert [(r.text, r.causes) for r in counted.repeated_turns] == [("s2 m1", (AT_KILL,))]


def test_an_acked_message_without_a_reply_is_lost() -> None:
    counted = tally([Written("s1 m1", True), Written("s1 m2", True)], [], set(), [], [])
    assert counted.lost == ["s1 m1", "s1 m2"]


def _observed(**changes: object) -> Observed:
    values: dict[str, object] = {
        "statuses": {200: 10},
        "failures": {"refused": 3},
        "redelivered": 1,
        "graph_sends": 12,
        "graph_5xx": 1,
        "graph_held": 1,
        "lex_calls": 11,
        "lex_throttled": 1,
        "outages": [KILLED, TERMED],
        "started": 70.0,
        "load_seconds": 200.0,
        "drained": 3.5,
        "queue": {"done": 10},
    }
    values.update(changes)
    return Observed(**values)  # type: ignore[arg-type]


def _clean() -> tuple[list[Written], list[tuple[float, str, str]]]:
    written = [Written("s1 m1", True), Written("s1 m2", True)]
    replies = [(1.0, "p1", "echo: s1 m1"), (3.0, "p1", "echo: s1 m1"), (4.0, "p1", "echo: s1 m2")]
    return written, replies


def test_a_clean_run_meets_every_target_and_says_why_each_duplicate_is_ambiguous() -> None:
    written, replies = _clean()
    counted = tally(written, replies, {0}, [], [KILLED])
    lines = report(counted, _observed())
    assert all(met for _, met in targets(counted, _observed()))
    assert "kill -9 at 30.0 s: stopped in 0.1 s, serving again 4.0 s later" in lines
    assert "SIGTERM at 130.0 s: stopped in 1.0 s, serving again 3.0 s later" in lines
    assert "lost: 0" in lines and "out of order: 0" in lines
    assert "duplicated: 1 (1 ambiguous: 1 held past the timeout; 0 not ambiguous)" in lines
    assert "  s1 m1: 2 replies, ambiguous: held past the timeout" in lines
    assert "webhook 5xx: 0 (other non-200: 0)" in lines
    assert lines[-1] == "targets: all met"


def test_a_duplicate_that_was_not_ambiguous_and_a_webhook_5xx_miss_their_targets() -> None:
    written, replies = _clean()
    counted = tally(written, replies, set(), [], [KILLED])
    seen = _observed(statuses={200: 10, 503: 2, 408: 1})
    lines = report(counted, seen)
    assert "  s1 m1: 2 replies, NOT ambiguous" in lines
    assert "webhook 5xx: 2 (other non-200: 1)" in lines
    assert lines[-1] == ("targets missed: 0 webhook 5xx, duplicates only for ambiguous sends")


def test_a_copy_at_the_kill_says_how_long_before_it_went_out() -> None:
    written = [Written("s1 m1", True)]
    replies = [(99.96, "p1", "echo: s1 m1"), (105.0, "p1", "echo: s1 m1")]
    lines = report(tally(written, replies, set(), [], [KILLED]), _observed())
    assert "  s1 m1: 2 replies, ambiguous: at the kill -9 (0.04 s before it)" in lines


def test_a_queue_not_drained_in_time_misses_its_target() -> None:
    written, replies = _clean()
    seen = _observed(drained=None)
    assert dict(targets(tally(written, replies, {0}, [], []), seen))["queue drained"] is False
    assert "load over at 200.0 s; faults off; queue drained not in time" in report(
        tally(written, replies, {0}, [], []), seen
    )


def test_a_delivery_is_signed_and_parses_as_the_message_it_holds() -> None:
    plan = Plan(8000, "bench-app-secret", "100000000000001", 3, 1.0, 1.0, 2.0)
    request = request_of(plan, Message(2, 5), 1_700_000_000_000)
    head, body = request.split(b"\r\n\r\n", 1)
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert is_valid_signature("bench-app-secret", body, headers["X-Hub-Signature-256"])
    assert int(headers["Content-Length"]) == len(body)
    (event,) = parse_webhook(json.loads(body), page_id="100000000000001").events
    assert isinstance(event, TextMessage)
    assert (event.mid, event.text, event.sender_id) == ("m_soak.2.5", "s2 m5", Message(2, 5).psid)
