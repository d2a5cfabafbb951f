"""The collaborators one process uses, as one bundle: what the web endpoints and delivery share.

The composition root (bridge/app.py) builds it and stores it in ``app.extensions["bridge"]``;
the endpoints read it from there, and the server starts and stops its delivery threads
(gunicorn.conf.py, ``bridge worker``). It lives here, below the app, so the endpoints can name
its type without importing the root that imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.config.settings import Settings
from bridge.delivery.limits import Limits
from bridge.delivery.loop import Delivery
from bridge.delivery.page_routes import Routes
from bridge.delivery.turn import TurnHandler
from bridge.messenger.events import TokenUpdate
from bridge.messenger.thread_control import ThreadSignal
from bridge.outbound.enqueue import Outbox
from bridge.queue import NewJob, Notifications, OutboundSink, PutResult, Queue
from bridge.web.recording import Recorder

# A claimed job's lease covers the longest Lex call plus the sends that follow it.
SEND_ALLOWANCE = 60.0


@dataclass
class Services:
    """The collaborators one process uses; shared by the webhook and delivery."""

    settings: Settings
    queue: Queue
    routes: Routes
    recorder: Recorder | None = None
    delivery: Delivery | None = field(default=None)
    notifications: Notifications | None = None
    # The server writes the webhook's summary on the POST's access line (gunicorn.conf.py),
    # so the webhook logs no line of its own for it.
    summary_in_access_log: bool = False

    def outbox(self) -> Outbox:
        """Where the outbound API queues messages."""
        return make_outbox(self.settings, self.queue, self.notifications)

    def enqueue(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
    ) -> PutResult:
        """Commit a webhook's jobs, thread signals and notification-messages tokens; this
        process's delivery (if it runs here) takes the new work at once."""
        if self.delivery is not None:
            return self.delivery.accept(jobs, now=now, signals=signals, tokens=tokens)
        return self.queue.put(jobs, now=now, signals=signals, tokens=tokens)

    def answers_inline(self) -> bool:
        """Whether a webhook POST may be answered on the server's event loop now (see
        ``bridge.web.worker``): its commit is local (SQLite) and its 200 would not be held."""
        if self.settings.queue.kind != "sqlite":
            return False
        return self.delivery is None or not self.delivery.holds_acks()

    def turn_handler(self, threads: int) -> TurnHandler:
        """What delivery threads use to answer one job, for every served Page."""
        settings = self.settings
        return TurnHandler(
            queue=self.queue,
            routes=self.routes,
            sender_actions=settings.conversation.sender_actions,
            answer_deadline=settings.delivery.answer_deadline,
            typing_delay=settings.delivery.typing_delay,
            typing_refresh=settings.delivery.typing_refresh,
            bot_threads=threads,
            human_idle=settings.conversation.human_idle,
            notifications=self.notifications,
        )

    def limits(self) -> Limits:
        settings = self.settings
        return Limits(
            max_attempts=settings.delivery.max_attempts,
            lease=settings.lex.read_timeout + SEND_ALLOWANCE,
            max_event_age=settings.delivery.max_event_age,
            probe_interval=settings.delivery.probe_interval,
        )

    def start_delivery(self, threads: int | None = None) -> Delivery | None:
        """Start delivery threads in the current process (after fork); None if disabled."""
        count = self.settings.delivery.threads if threads is None else threads
        if count <= 0 or self.delivery is not None:
            return self.delivery
        self.delivery = Delivery(
            self.queue,
            self.turn_handler(count),
            threads=count,
            poll_interval=self.settings.delivery.poll_interval,
            limits=self.limits(),
            ack_hold=self.settings.delivery.ack_hold,
        )
        self.delivery.start()
        return self.delivery

    def stop_delivery(self, timeout: float) -> bool:
        """Stop delivery, letting in-flight turns finish within ``timeout`` seconds."""
        if self.delivery is None:
            return True
        return self.delivery.stop(timeout)


def make_outbox(
    settings: Settings, queue: OutboundSink, notifications: Notifications | None
) -> Outbox:
    """Where outbound messages are queued: by the API, and by ``bridge send`` without
    ``--url`` (the same checks, the same jobs)."""
    return Outbox(
        queue=queue,
        notifications=notifications,
        pages=served_pages(settings),
        idle_ms=int(settings.conversation.human_idle * 1000),
    )


def served_pages(settings: Settings) -> list[str]:
    """The Pages an outbound message may be sent as (empty: one Page, its id not configured)."""
    pages = sorted(settings.served_pages or ())
    if not pages and settings.is_local:
        return [LOCAL_PAGE_ID]  # the emulator's Page
    return pages
