"""The turn: claim a job → ask the bot once → render → send part by part → ack.

The bot's rendered reply is stored on the job as soon as the bot answers, while the first part
is already on its way (no commit in front of the answer), and each part but the last is
recorded in the send ledger as Graph accepts it, the last by the ack; so a retried job never
asks the bot again and resumes with the first unsent part. Before each send the turn checks it
still holds its job (``LeaseLost`` otherwise: another process took it over). Before the bot is
asked, the conversation's state decides whether it may answer at all
(``bridge.delivery.admission``); each Page's turns use that Page's Graph client and bot
(``bridge.delivery.page_routes``). Asking the bot is ``bridge.delivery.asking``, the Graph
calls are ``bridge.delivery.sending``; what a failed turn means for its job is decided by the
loop (``bridge.delivery.loop``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.bots import Bot
from bridge.config.conversation import HUMAN_IDLE
from bridge.delivery.admission import Turn, admit
from bridge.delivery.asking import Answer, BotAsker
from bridge.delivery.outbound import OutboundHandler
from bridge.delivery.page_routes import PageRoute, Routes
from bridge.delivery.sending import Sender
from bridge.errors import LeaseLost
from bridge.messenger.graph import GraphClient
from bridge.obs import stages
from bridge.outbound.jobs import is_outbound
from bridge.queue import DeliveryQueue, Job, Notifications


@dataclass
class TurnHandler:
    """Runs one job to completion, or raises ``RetryLater``/``NotAnswered``/``GraphError``.

    Each Page's turns use its route (``routes``; or ``bot``, ``graph`` and ``fallback_text``
    for every Page). ``answer_deadline``, ``typing_refresh`` and ``bot_threads`` shape how the
    bot is asked (``bridge.delivery.asking``); ``typing_delay``, when seen and typing are shown
    (``bridge.delivery.indicators``).
    """

    queue: DeliveryQueue
    bot: Bot | None = None
    graph: GraphClient | None = None
    fallback_text: str = ""
    sender_actions: bool = True
    answer_deadline: float = 25.0
    typing_delay: float = 0.5
    typing_refresh: float = 15.0
    bot_threads: int = 4
    routes: Routes | None = None
    human_idle: float = HUMAN_IDLE  # seconds after which a silent holder's hold lapses
    notifications: Notifications | None = None  # tokens of notification messages (outbound)
    _sender: Sender = field(init=False, repr=False)
    _asker: BotAsker = field(init=False, repr=False)
    _outbound: OutboundHandler = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.routes is None:
            if self.bot is None or self.graph is None:
                raise ValueError("TurnHandler needs routes, or a bot and a Graph client")
            self.routes = Routes(default=PageRoute(self.graph, self.bot, self.fallback_text))
        self._sender = Sender(self.queue)
        self._asker = BotAsker(
            self.queue,
            self._sender,
            sender_actions=self.sender_actions,
            answer_deadline=self.answer_deadline,
            typing_delay=self.typing_delay,
            typing_refresh=self.typing_refresh,
            bot_threads=self.bot_threads,
        )
        self._outbound = OutboundHandler(
            self.queue,
            self._sender,
            BotAsker(
                self.queue,
                self._sender,
                sender_actions=False,  # the person did not write: no seen, no typing
                answer_deadline=self.answer_deadline,
                bot_threads=self.bot_threads,
            ),
            self.notifications,
            int(self.human_idle * 1000),
        )

    def route(self, page: str) -> PageRoute | None:
        """The route of ``page`` (None: the Page is not served)."""
        assert self.routes is not None  # set in __post_init__
        return self.routes.get(page)

    def handle(self, job: Job, *, clock: Callable[[], float] = time.time) -> int:
        """Answer the job's event; returns how many reply messages have now been sent.

        Each part but the last is recorded in the send ledger as soon as Graph accepts it; the
        last one is recorded by the ack that follows (one commit fewer per turn), which is also
        what confirms the reply's commit. An outbound message's job is sent by
        ``bridge.delivery.outbound`` instead."""
        if is_outbound(job):
            return self._outbound.handle(job, self.route(job.page), clock)
        turn = admit(self.queue, job, self.route(job.page), clock=clock, human_idle=self.human_idle)
        if job.reply is not None:
            answer = Answer(job.reply, job.sent, stored=True)
        else:
            with stages.stage("ask"):
                answer = self._asker.ask(turn)
        stored = None if answer.stored else self.queue.store_reply(job, answer.messages)
        try:
            self._send(turn, answer, stored)
        except BaseException:
            if stored is not None and not stored():
                raise LeaseLost("lost the job's lease before storing the reply") from None
            raise
        # Not waited for once every part went out: the ack that follows is committed after the
        # reply (the queue commits a thread's changes in order) and checks the same lease, so
        # it joins the reply's transaction while that is still pending instead of a later one.
        return len(answer.messages)

    def _send(self, turn: Turn, answer: Answer, stored: Callable[[], bool] | None) -> None:
        """Send the parts not sent yet, each but the last recorded in the ledger once the
        reply is stored (``stored`` waits for that)."""
        job, messages = turn.job, answer.messages
        for index in range(answer.sent, len(messages)):
            if not self.queue.still_holds(job):
                raise LeaseLost("lost the job's lease before a send")
            with stages.stage("send"):
                self._sender.send(turn, messages[index])
            if index + 1 < len(messages):
                with stages.stage("ledger"):
                    kept = (stored is None or stored()) and self.queue.mark_sent(job, index + 1)
                if not kept:
                    raise LeaseLost("lost the job's lease while sending")

    def close(self) -> None:
        """Stop the bot's helper threads (turns still waiting on them are not answered)."""
        self._asker.close()
        self._outbound.asker.close()
