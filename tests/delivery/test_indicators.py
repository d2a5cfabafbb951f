"""Seen and typing: due only once the bot is slow, then kept alive; off only after shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from bridge.delivery.admission import Turn
from bridge.delivery.indicators import Indicators
from bridge.delivery.sending import Sender


@dataclass
class RecordingSender:
    actions: list[str] = field(default_factory=list)

    def sender_action(self, turn: Turn, action: str) -> None:
        self.actions.append(action)


def indicators(**kwargs: Any) -> tuple[Indicators, RecordingSender]:
    sender = RecordingSender()
    shown = Indicators(cast(Sender, sender), cast(Turn, None), started=100.0, **kwargs)
    return shown, sender


def test_nothing_is_sent_before_the_delay() -> None:
    shown, sender = indicators(delay=0.5)
    assert shown.due() == 100.5
    shown.tick(100.49)
    shown.clear()
    assert sender.actions == []


def test_seen_and_typing_at_the_delay_then_typing_every_refresh() -> None:
    shown, sender = indicators(delay=0.5, refresh=15)
    shown.tick(100.5)
    assert sender.actions == ["mark_seen", "typing_on"]
    assert shown.due() == 115.5
    shown.tick(110)
    shown.tick(115.5)
    assert sender.actions == ["mark_seen", "typing_on", "typing_on"]
    shown.clear()
    assert sender.actions[-1] == "typing_off"


def test_turned_off_never_due() -> None:
    shown, sender = indicators(enabled=False, delay=0)
    assert shown.due() is None
    shown.tick(1e9)
    shown.clear()
    assert sender.actions == []
