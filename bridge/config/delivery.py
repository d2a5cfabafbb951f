"""How delivery works through the queue: threads, polling, retries, and the time limits of
one turn."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.config.env import EnvReader


@dataclass(frozen=True)
class DeliverySettings:
    """``threads`` 0: this process only receives (a separate ``bridge worker`` delivers).
    Times are in seconds."""

    threads: int = 4
    poll_interval: float = 0.2
    max_attempts: int = 8
    max_event_age: float = 24 * 3600.0
    answer_deadline: float = 25.0
    typing_delay: float = 0.5
    typing_refresh: float = 15.0
    probe_interval: float = 30.0
    ack_hold: float = 0.5


def read_delivery(env: EnvReader) -> DeliverySettings:
    """BRIDGE_DELIVERY_THREADS, BRIDGE_POLL_INTERVAL, BRIDGE_MAX_ATTEMPTS, the deadlines and
    BRIDGE_ACK_HOLD."""
    return DeliverySettings(
        threads=env.integer("BRIDGE_DELIVERY_THREADS", 8, low=0, high=256),
        poll_interval=env.number("BRIDGE_POLL_INTERVAL", 0.2, low=0.01, high=10),
        max_attempts=env.integer("BRIDGE_MAX_ATTEMPTS", 8, low=1, high=100),
        max_event_age=env.number("BRIDGE_MAX_EVENT_AGE", 24 * 3600.0, low=60, high=30 * 24 * 3600),
        answer_deadline=env.number("BRIDGE_ANSWER_DEADLINE", 25.0, low=1, high=29),
        typing_delay=env.number("BRIDGE_TYPING_DELAY", 0.5, low=0, high=10),
        typing_refresh=env.number("BRIDGE_TYPING_REFRESH", 15.0, low=1, high=19),
        probe_interval=env.number("BRIDGE_PROBE_INTERVAL", 30.0, low=1, high=3600),
        ack_hold=env.number("BRIDGE_ACK_HOLD", 0.5, low=0, high=5),
    )
