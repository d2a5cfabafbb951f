"""The turn of an outbound message (``bridge.outbound``): checked again, then sent part by part.

An outbound job is claimed like any other, in the person's conversation, so it never lands
inside another turn's reply. Instead of admission for an inbound event, the rules of
``bridge.outbound.rules`` are checked again before each send, with the thread's state as it is
then (the job is dropped with the reason otherwise); a notification-messages token is found
again among the person's tokens by its hash (the job holds no token). ``text`` and ``message``
jobs send what was queued; a ``lex`` job asks the Page's bot once, as if the person had
written the text, stores its reply and sends it: a retry resumes at the first unsent part and
never asks the bot again. No seen or typing indicator is shown: the person did not write.
Each part's Graph message id is recorded with the ledger (``record_sent``), for the API's
status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.delivery.admission import Turn
from bridge.delivery.asking import BotAsker
from bridge.delivery.page_routes import PageRoute
from bridge.delivery.sending import Sender
from bridge.errors import LeaseLost, NotAnswered
from bridge.messenger.events import TextMessage
from bridge.outbound import jobs, rules
from bridge.queue import DeliveryQueue, Job, Message, Notifications, NotificationToken, Threads

# A refusal's code → the label a dropped job is counted under (bridge_dropped_total).
_DROP_LABELS = {"held": "thread_held"}


@dataclass
class OutboundTurn(Turn):
    """A turn whose every send is checked against the outbound rules and goes out with the
    job's messaging type and tag, or to the person's notification-messages token."""

    spec: jobs.OutboundJob | None = None
    threads: Threads | None = None
    notifications: Notifications | None = None
    idle_ms: int = 0
    token: str | None = None

    def check_window(self) -> None:
        """Raise ``NotAnswered`` if the message may not be sent now (window, hold, token)."""
        assert self.spec is not None and self.threads is not None  # set by OutboundHandler
        now = self.now_ms()
        thread = self.threads.thread(self.job.page, self.user)
        written = self.job.order_ts
        if self.spec.token_sha256 is None:
            refusal = rules.to_person(
                thread, tag=self.spec.tag, written_ms=written, now_ms=now, idle_ms=self.idle_ms
            )
        else:
            found = self._token()
            self.token = None if found is None else found.token
            refusal = rules.to_token(
                found, thread, written_ms=written, now_ms=now, idle_ms=self.idle_ms
            )
        if refusal is not None:
            raise NotAnswered(_DROP_LABELS.get(refusal.code, refusal.code), refusal.message)

    def send_message(self, message: dict[str, Any]) -> str | None:
        assert self.spec is not None
        return self.route.graph.send_message(
            self.user,
            message,
            messaging_type=self.spec.messaging_type or "RESPONSE",
            tag=self.spec.tag,
            token=self.token,
        )

    def _token(self) -> NotificationToken | None:
        """The person's token of the job's hash (None: unknown, or no store of tokens)."""
        if self.notifications is None or self.spec is None:
            return None
        tokens = self.notifications.person_notification_tokens(self.job.page, self.user)
        wanted = self.spec.token_sha256
        return next((t for t in tokens if jobs.token_hash(t.token) == wanted), None)


@dataclass
class OutboundHandler:
    """Runs outbound jobs for ``TurnHandler`` (its queue, sender and a bot asker that shows
    no indicators)."""

    queue: DeliveryQueue
    sender: Sender
    asker: BotAsker
    notifications: Notifications | None
    idle_ms: int

    def handle(self, job: Job, route: PageRoute | None, clock: Callable[[], float]) -> int:
        """Send the job's message; how many parts have now been sent."""
        if route is None:
            raise NotAnswered("page_not_configured", "its Page is not served (BRIDGE_PAGES_FILE)")
        turn = self._turn(job, route, clock)
        turn.check_window()
        messages, sent = self._messages(turn)
        for index in range(sent, len(messages)):
            if not self.queue.still_holds(job):
                raise LeaseLost("lost the job's lease before a send")
            message_id = self.sender.send(turn, messages[index])
            if not self.queue.record_sent(job, index + 1, message_id):
                raise LeaseLost("lost the job's lease while sending")
        return len(messages)

    def _turn(self, job: Job, route: PageRoute, clock: Callable[[], float]) -> OutboundTurn:
        spec = jobs.from_payload(job.payload)
        # The bot (lex) reads it as the person's own message; for the rest it names the person.
        event = TextMessage(job.page, spec.user, job.order_ts, job.key, spec.lex_text or "")
        return OutboundTurn(
            job,
            event,
            route,
            job.order_ts,
            clock,
            spec=spec,
            threads=self.queue,
            notifications=self.notifications,
            idle_ms=self.idle_ms,
        )

    def _messages(self, turn: OutboundTurn) -> tuple[list[Message], int]:
        """What to send, and how much of it went out already (a retry resumes there)."""
        job, spec = turn.job, turn.spec
        assert spec is not None
        if job.reply is not None:
            return job.reply, job.sent
        if spec.lex_text is None:
            return list(spec.messages), job.sent
        answer = self.asker.ask(turn)
        if not answer.stored and not self.queue.save_reply(job, answer.messages):
            raise LeaseLost("lost the job's lease before storing the reply")
        return answer.messages, answer.sent
