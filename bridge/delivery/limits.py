"""How long and how often delivery keeps trying: what ``Delivery`` (``bridge.delivery.loop``)
runs with, built by ``bridge.web.services`` from the delivery settings (``BRIDGE_MAX_ATTEMPTS``,
``BRIDGE_MAX_EVENT_AGE``, ``BRIDGE_PROBE_INTERVAL``) and the lease from the Lex timeout."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """How long and how often delivery keeps trying."""

    max_attempts: int = 8
    lease: float = 100.0
    max_event_age: float = 24 * 3600.0
    probe_interval: float = 30.0
