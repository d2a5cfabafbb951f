"""Accounting of the replies to one load: were all acked messages answered, once, in order?

``account`` waits (bounded) until the Graph fake has seen a reply to every acked message, then
fills in the reply figures: per-user order, duplicates, unexpected replies, delivered share,
the backlog left when counting stopped, reply latencies and the Send API calls by kind per
acked message. ``unanswered_share`` and ``reply_p99_ms`` judge a run's figures afterwards,
``p99_cell`` states the latter for a table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.fakes import Fake, GraphRecords, graph_records
from bench.figures import Figures, percentile
from bench.load import LoadResult, Sent

_POLL = 0.2  # seconds between looks at the Graph fake's records


@dataclass
class _Replies:
    """The replies the Graph fake recorded, first arrivals apart from repeats."""

    first: dict[str, float] = field(default_factory=dict)  # text → first arrival
    counts: dict[str, int] = field(default_factory=dict)  # text → times received
    per_sender: dict[str, list[str]] = field(default_factory=dict)  # recipient → texts in order


def _reply_text(sent: Sent) -> str:
    return f"echo: {sent.mid}"


def account(
    figures: Figures, load: LoadResult, graph: Fake, drain_timeout: float
) -> dict[str, list[float]]:
    """Wait (bounded) for a reply to every acked message, then check order and duplicates.

    A scenario whose backlog cannot drain in time (slow Lex) reports what was left."""
    acked = load.acked
    expected = {_reply_text(s) for s in acked}
    records, fetched = _collect(graph, expected, drain_timeout)
    replies = _sort_replies(records)
    sent_at = {_reply_text(s): s.sent_at for s in acked}
    e2e = [(replies.first[t] - sent_at[t]) * 1000 for t in expected if t in replies.first]
    in_window = sum(1 for t in replies.first.values() if load.started <= t <= load.ended)
    figures.replies = len(records)
    figures.replies_per_s = in_window / load.duration
    figures.e2e_p50_ms = percentile(e2e, 0.50)
    figures.e2e_p99_ms = percentile(e2e, 0.99)
    figures.drain_s = max(0.0, max(replies.first.values(), default=load.ended) - load.ended)
    figures.order_violations = _order_violations(replies, acked)
    _count_replies(figures, replies, expected)
    figures.graph_errors = fetched.errors
    _count_calls(figures, fetched.calls, len(acked))
    if figures.ack_rps:
        figures.replies_per_ack = figures.replies_per_s / figures.ack_rps
    return {"e2e_ms": e2e}


def _collect(
    graph: Fake, expected: set[str], drain_timeout: float
) -> tuple[list[tuple[float, str, str]], GraphRecords]:
    """The Graph fake's records once every expected text is in them, or at the deadline."""
    records: list[tuple[float, str, str]] = []
    deadline = time.monotonic() + drain_timeout
    while True:
        fetched = graph_records(graph, after=len(records))
        records.extend(fetched.records)
        if expected <= {text for _, _, text in records} or time.monotonic() >= deadline:
            return records, fetched
        time.sleep(_POLL)


def _sort_replies(records: list[tuple[float, str, str]]) -> _Replies:
    replies = _Replies()
    for arrived, recipient, text in records:
        replies.counts[text] = replies.counts.get(text, 0) + 1
        if replies.counts[text] == 1:
            replies.first[text] = arrived
            replies.per_sender.setdefault(recipient, []).append(text)
    return replies


def _order_violations(replies: _Replies, acked: list[Sent]) -> int:
    """Replies each sender got before the reply to a message of theirs acked earlier."""
    by_time = sorted(acked, key=lambda s: s.sent_at)
    ack_order = {_reply_text(s): i for i, s in enumerate(by_time)}
    violations = 0
    for texts in replies.per_sender.values():
        ranks = [ack_order[t] for t in texts if t in ack_order]
        violations += sum(1 for a, b in zip(ranks, ranks[1:], strict=False) if b < a)
    return violations


def _count_replies(figures: Figures, replies: _Replies, expected: set[str]) -> None:
    figures.duplicates = sum(n - 1 for n in replies.counts.values())
    figures.unexpected = sum(1 for t in replies.first if t not in expected)
    delivered = len(expected & replies.first.keys())
    figures.delivered_share = (delivered / len(expected)) if expected else 1.0
    figures.backlog = len(expected - replies.first.keys())


def _count_calls(figures: Figures, calls: dict[str, int], acked: int) -> None:
    """Send API calls by kind (message sends, sender actions, other), and per acked message."""
    figures.message_sends = calls.get("message", 0)
    figures.sender_action_calls = calls.get("sender_action", 0)
    figures.other_calls = calls.get("other", 0)
    if acked:
        figures.sends_per_message = sum(calls.values()) / acked
        figures.message_sends_per_message = figures.message_sends / acked
        figures.sender_actions_per_message = figures.sender_action_calls / acked


def unanswered_share(figures: Figures) -> float:
    """Requests not answered at Graph when counting stopped (refused, failed or still queued)."""
    total = figures.requests + figures.connection_errors
    missing = (figures.backlog or 0) + figures.non_200 + figures.connection_errors
    return missing / total if total else 0.0


def reply_p99_ms(figures: Figures) -> float:
    """Reply p99 counting every unanswered request as later than the drain timeout: over 1 %
    unanswered, the p99 is not known, only that it is over that timeout (``inf``)."""
    if figures.e2e_p99_ms is None or unanswered_share(figures) > 0.01:
        return float("inf")
    return figures.e2e_p99_ms


def p99_cell(figures: Figures) -> str:
    """Reply p99 in ms, or, with over 1 % unanswered, that it is over the drain time."""
    p99 = reply_p99_ms(figures)
    if p99 == float("inf"):
        return f"> {figures.drain_s or 0:.0f} s ({unanswered_share(figures):.0%} unanswered)"
    return f"{p99:,.0f} ms"
