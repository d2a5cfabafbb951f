"""Seen and typing while the bot works: shown only when the bot is slow, never in front of it.

A fast answer needs no sign: the person sees the answer itself sooner than a typing indicator
would mean anything, and each sender action is a Send API call counted against the Page's
rate limits. So a turn asks the bot first, and only when the bot has not answered within
``delay`` seconds does it send ``mark_seen`` and ``typing_on`` (from the turn's own thread,
while the bot still works in its helper thread), then ``typing_on`` again every ``refresh``
seconds (Messenger drops the indicator after 20 s). ``typing_off`` follows only an indicator
that was shown and then no answer came. Sender actions are cosmetic: a failed one is logged by
``bridge.delivery.sending.Sender.sender_action`` and the turn goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.delivery.admission import Turn
from bridge.delivery.sending import Sender


@dataclass
class Indicators:
    """The indicators of one turn; ``started``: when the bot was asked (``time.monotonic``)."""

    sender: Sender
    turn: Turn
    started: float
    enabled: bool = True
    delay: float = 0.5
    refresh: float = 15.0
    shown_at: float | None = None

    def due(self) -> float | None:
        """When the next sender action is due (monotonic seconds; None: never)."""
        if not self.enabled:
            return None
        if self.shown_at is None:
            return self.started + self.delay
        return self.shown_at + self.refresh

    def tick(self, now: float) -> None:
        """Send what is due at ``now``: seen and typing the first time, then typing again."""
        due = self.due()
        if due is None or now < due:
            return
        if self.shown_at is None:
            self.sender.sender_action(self.turn, "mark_seen")
        self.sender.sender_action(self.turn, "typing_on")
        self.shown_at = now

    def clear(self) -> None:
        """No answer is coming: take down an indicator that was shown."""
        if self.shown_at is not None:
            self.sender.sender_action(self.turn, "typing_off")
