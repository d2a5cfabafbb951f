"""The Graph side of a turn: send a stored message, carry out a handover step, show typing.

Graph errors of a send are decided by ``bridge.messenger.graph_policy``: an answer that says the
message may have gone out is not resent (a duplicate is worse than a gap); one that says another
app owns the conversation records a hold on it and ends the turn; every other error is raised
for the delivery loop to retry, pause or drop. Sender actions are cosmetic, so their failures
are only logged (a conversation another app owns is found by the send that follows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bridge.delivery import handover
from bridge.delivery.admission import Turn
from bridge.errors import GraphError, NotAnswered
from bridge.messenger import thread_control as threads
from bridge.messenger.graph_policy import Action, Decision, classify
from bridge.messenger.replies import PAGE_INBOX_APP_ID, Handover
from bridge.messenger.thread_control import ThreadSignal
from bridge.obs import metrics
from bridge.queue import Message, Threads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sender:
    """Sends a turn's messages with its Page's Graph client; records holds in ``queue``."""

    queue: Threads

    def send(self, turn: Turn, message: Message) -> str | None:
        """Send one stored message, or carry out the handover step it stands for; Graph's
        message id, if it gave one."""
        asked = handover.from_step(message)
        if asked is not None:
            self._pass_control(turn, asked)
            return None
        turn.check_window()
        try:
            with metrics.graph_call("message"):
                return turn.send_message(message)
        except GraphError as exc:
            decision = classify(exc)
            if decision.action is Action.NOT_OWNER:
                self._not_owner(turn, decision)
            if decision.action is not Action.ASSUME_SENT:
                raise
            # Graph says the message may have gone out; sending it again risks a duplicate.
            log.warning(
                "Graph answered an error after possibly sending; not resending",
                extra={
                    "job_id": turn.job.id,
                    "mid": turn.job.key,
                    "error": exc.describe(),
                    "fbtrace_id": exc.fbtrace_id,
                },
            )
            return None

    def sender_action(self, turn: Turn, action: str) -> None:
        """Indicators are cosmetic: a failure is logged and the turn goes on."""
        try:
            with metrics.graph_call("action"):
                turn.route.graph.send_action(turn.user, action)
        except GraphError as exc:
            log.warning(
                "sender action failed",
                extra={"action": action, "error": exc.describe(), "fbtrace_id": exc.fbtrace_id},
            )

    def _hold(self, turn: Turn, *, holder: threads.Holder, reason: str) -> None:
        """Record that someone else holds this conversation from now on."""
        signal = ThreadSignal(
            turn.job.page, turn.user, turn.now_ms(), "hold", holder=holder, reason=reason
        )
        self.queue.record_threads([signal], now=turn.clock())

    def _not_owner(self, turn: Turn, decision: Decision) -> None:
        """Graph says another app owns the conversation: hold it, and end the job."""
        self._hold(turn, holder="other_app", reason="send_error")
        raise NotAnswered("not_thread_owner", decision.reason)

    def _pass_control(self, turn: Turn, asked: Handover) -> None:
        """The bot asked for a person: pass the conversation to the Page Inbox."""
        try:
            with metrics.graph_call("handover"):
                turn.route.graph.pass_thread_control(turn.user, asked.target_app_id, asked.metadata)
        except GraphError as exc:
            if classify(exc).action is not Action.NOT_OWNER:
                metrics.HANDOVER_REQUESTS.labels("error").inc()
                raise
            # Someone already holds the conversation: the person is not left with the bot.
            self._hold(turn, holder="other_app", reason="send_error")
            metrics.HANDOVER_REQUESTS.labels("not_owner").inc()
            log.info(
                "the bot asked for a person; another app already holds the conversation",
                extra={"job_id": turn.job.id, "mid": turn.job.key, "error": exc.describe()},
            )
            return
        inbox = asked.target_app_id == PAGE_INBOX_APP_ID
        self._hold(turn, holder="page_inbox" if inbox else "other_app", reason="bot_handover")
        metrics.HANDOVER_REQUESTS.labels("ok").inc()
        log.info(
            "the bot asked for a person; conversation passed to the Page Inbox",
            extra={
                "job_id": turn.job.id,
                "mid": turn.job.key,
                "target_app_id": asked.target_app_id,
            },
        )
