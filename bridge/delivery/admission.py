"""Whether the bot may answer a job's event now, and the context of a turn that may.

The conversation's state decides (``bridge.messenger.thread_control``): someone else holds it,
or a reply would be outside Messenger's 24-hour window; and an event of a Page the bridge does
not serve (``bridge.delivery.page_routes``) is not answered at all. The window is checked again
before every send, since it may close while the bot thinks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.delivery.page_routes import PageRoute
from bridge.errors import NotAnswered
from bridge.messenger import events
from bridge.messenger import thread_control as threads
from bridge.queue import Job, Threads


@dataclass
class Turn:
    """One attempt at a job: its event, its Page's route, the person's latest event (ms)."""

    job: Job
    event: events.Event
    route: PageRoute
    last_inbound: int
    clock: Callable[[], float]

    @property
    def user(self) -> str:
        return self.event.sender_id

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def send_message(self, message: dict[str, Any]) -> str | None:
        """Send one message of this turn with its Page's Graph client; Graph's message id."""
        return self.route.graph.send_message(self.user, message)

    def check_window(self) -> None:
        """Raise ``NotAnswered`` if a reply sent now would be outside the 24-hour window."""
        now = self.now_ms()
        if not threads.window_open(self.last_inbound, now):
            hours = (now - self.last_inbound) / 3_600_000
            raise NotAnswered(
                "outside_window",
                f"outside Messenger's 24-hour window (the person's last event {hours:.1f} h ago)",
            )


def admit(
    queue: Threads,
    job: Job,
    route: PageRoute | None,
    *,
    clock: Callable[[], float],
    human_idle: float,
) -> Turn:
    """The turn, if the bot may answer the job's event now (else ``NotAnswered``).

    ``human_idle`` is the time (s) after which a silent holder's hold lapses."""
    event = events.from_json(job.payload)
    if route is None:
        raise NotAnswered("page_not_configured", "its Page is not served (BRIDGE_PAGES_FILE)")
    thread = queue.thread(job.page, event.sender_id)
    held = threads.held_reason(
        thread,
        event_ts=job.order_ts,
        now_ms=int(clock() * 1000),
        idle_ms=int(human_idle * 1000),
    )
    if held is not None:
        raise NotAnswered("thread_held", held)
    last = max(job.order_ts, thread.last_inbound if thread is not None else 0)
    turn = Turn(job, event, route, last, clock)
    turn.check_window()
    return turn
