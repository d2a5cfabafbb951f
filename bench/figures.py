"""What one load run measured (``Figures``, one table column), and the percentile it uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.stages import Stage


@dataclass
class Figures:
    scenario: str
    target: str
    lex_latency_ms: float
    connections: int
    seconds: float
    requests: int
    acked: int
    non_200: int
    connection_errors: int
    ack_rps: float
    ack_p50_ms: float
    ack_p99_ms: float
    cpu_us_per_request: float | None
    pss_mb: float | None
    replies: int | None = None
    replies_per_s: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p99_ms: float | None = None
    drain_s: float | None = None
    order_violations: int | None = None
    duplicates: int | None = None
    unexpected: int | None = None
    delivered_share: float | None = None
    graph_errors: int | None = None
    senders: int | None = None
    reply_bound_per_s: float | None = None  # senders ÷ Lex latency (one turn at a time each)
    backlog: int | None = None  # acked but not answered when accounting stopped
    label: str = ""  # the table's column; empty: the target
    rate: float | None = None  # open loop at this many requests/s; None: closed loop
    message_sends: int | None = None  # Send API calls with a message body (reply parts)
    sender_action_calls: int | None = None  # Send API calls with a sender_action body
    other_calls: int | None = None
    sends_per_message: float | None = None  # all Send API calls ÷ acked messages
    message_sends_per_message: float | None = None
    sender_actions_per_message: float | None = None
    replies_per_ack: float | None = None  # replies/s during the load ÷ this run's ack req/s
    graph_latency_ms: float = 0.0  # each Send API call of the Graph fake answers this late
    stages: list[Stage] = field(default_factory=list)  # the bridge's stage histograms, if any

    @property
    def column(self) -> str:
        return self.label or self.target


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
