"""Asking the bot once per event, and storing its rendered reply before the first send.

The bot is asked at once, in a helper thread, so nothing is sent in front of it; meanwhile the
turn's own thread shows seen and typing if the bot is slow (``bridge.delivery.indicators``)
and answers the fallback text by ``answer_deadline`` (Meta wants every message answered within
30 s) even if the bot hangs. A late answer still follows the fallback (Lex's dialog state
expects the person to see it). The reply is stored on the job by the turn with its first
ledger entry (or its ack), or here when the fallback went out early; the stored reply is what a
retry resumes from, so the bot is never asked twice for one event.
"""

from __future__ import annotations

import contextvars
import logging
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bridge.delivery import handover
from bridge.delivery.admission import Turn
from bridge.delivery.indicators import Indicators
from bridge.delivery.sending import Sender
from bridge.errors import BotError, BotErrorKind, LeaseLost, RetryLater
from bridge.messenger.render import render
from bridge.messenger.replies import Fallback, Reply, Text
from bridge.obs import metrics
from bridge.outbound import jobs
from bridge.queue import Jobs, Message, OutboundLedger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """The bot's rendered reply; ``sent`` of its parts went out already (the early fallback),
    and ``stored``: it is on the job already."""

    messages: list[Message]
    sent: int = 0
    stored: bool = False


class AskerQueue(Jobs, OutboundLedger, Protocol):
    """What asking needs of the queue: storing the reply and the ledger of what was sent
    early (for an outbound job, with each part's Graph message id)."""


@dataclass
class BotAsker:
    """Asks a turn's bot (a pool of ``bot_threads`` helper threads) and stores the reply."""

    queue: AskerQueue
    sender: Sender
    sender_actions: bool = True
    answer_deadline: float = 25.0
    typing_delay: float = 0.5
    typing_refresh: float = 15.0
    bot_threads: int = 4
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def ask(self, turn: Turn) -> Answer:
        """Ask the bot once; its rendered reply, stored only if the fallback went out early."""
        job = turn.job
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.bot_threads, thread_name_prefix="bridge-bot")
        # The helper thread logs with this turn's context (delivery id, job id, mid...).
        context = contextvars.copy_context()
        future = self._pool.submit(context.run, self._bot_replies, turn)
        indicators = self._indicators(turn)
        early = self._wait_for_bot(turn, future, indicators)
        try:
            messages, failed = future.result()
        except RetryLater:
            if not early:
                raise
            messages, failed = [], True
        if early:
            messages = early + _after_early_fallback(messages, failed)
            if not self.queue.save_reply(job, messages):
                raise LeaseLost("lost the job's lease before storing the reply")
            return Answer(messages, len(early), stored=True)
        if not messages:
            log.info("bot gave no reply", extra={"job_id": job.id, "mid": job.key})
            indicators.clear()
        return Answer(messages)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _indicators(self, turn: Turn) -> Indicators:
        return Indicators(
            self.sender,
            turn,
            time.monotonic(),
            enabled=self.sender_actions,
            delay=self.typing_delay,
            refresh=self.typing_refresh,
        )

    def _wait_for_bot(
        self,
        turn: Turn,
        future: Future[tuple[list[Message], bool]],
        indicators: Indicators,
    ) -> list[Message]:
        """Show seen and typing if the bot is slow; past the deadline, send the fallback."""
        deadline = indicators.started + self.answer_deadline
        early: list[Message] = []
        while True:
            wakeups = [t for t in (indicators.due(), None if early else deadline) if t is not None]
            timeout = max(0.0, min(wakeups) - time.monotonic()) if wakeups else None
            try:
                future.result(timeout=timeout)
                return early
            except FutureTimeout:
                pass
            except Exception:  # the outcome is read (and handled) by the caller
                return early
            now = time.monotonic()
            if not early and now >= deadline:
                early = self._send_early_fallback(turn)
            else:
                indicators.tick(now)

    def _send_early_fallback(self, turn: Turn) -> list[Message]:
        job = turn.job
        early = render(Text(turn.route.fallback_text))
        if not self.queue.save_reply(job, early):
            raise LeaseLost("lost the job's lease before the fallback")
        for index, message in enumerate(early):
            message_id = self.sender.send(turn, message)
            if jobs.is_outbound(job):  # its status names every part's Graph message id
                self.queue.record_sent(job, index + 1, message_id)
            else:
                self.queue.mark_sent(job, index + 1)
        metrics.FALLBACKS.labels("deadline").inc()
        log.warning(
            "bot did not answer in time; fallback text sent",
            extra={"job_id": job.id, "mid": job.key, "deadline_s": self.answer_deadline},
        )
        return early

    def _bot_replies(self, turn: Turn) -> tuple[list[Message], bool]:
        """The bot's reply rendered (with its handover step, if it asked for a person), and
        whether it is the fallback text in place of the bot's answer.

        Only a failure the bot says ran nothing (``BotErrorKind.RETRY``) is retried. Anything
        else that fails once the bot was asked (its answer unreadable, the handover plan, the
        rendering; a bug) answers the fallback text once: retrying would ask Lex again for a
        turn that may have run, and end as a dead letter with no answer at all."""
        job = turn.job
        try:
            return self._planned(turn, turn.route.bot.respond(turn.event))
        except BotError as exc:
            if exc.kind is BotErrorKind.RETRY:
                raise RetryLater(f"bot: {exc}", cause="bot") from exc
            level = logging.ERROR if exc.kind is BotErrorKind.CONFIG else logging.WARNING
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still answer the person
            level, error = logging.ERROR, _describe(exc)
        log.log(
            level,
            "bot failed; answering the fallback text",
            extra={"job_id": job.id, "mid": job.key, "error": error},
        )
        metrics.FALLBACKS.labels("bot_error").inc()
        return render(Text(turn.route.fallback_text)), True

    def _planned(self, turn: Turn, replies: list[Reply]) -> tuple[list[Message], bool]:
        """The bot's replies rendered, the fallback text in place of a ``Fallback`` (the bot
        answered, but nothing it said can be shown)."""
        if not any(isinstance(reply, Fallback) for reply in replies):
            return handover.plan(replies), False
        log.warning(
            "nothing the bot said can be shown; answering the fallback text",
            extra={"job_id": turn.job.id, "mid": turn.job.key},
        )
        metrics.FALLBACKS.labels("unshowable").inc()
        fallback = Text(turn.route.fallback_text)
        return handover.plan([fallback if isinstance(r, Fallback) else r for r in replies]), True


def _after_early_fallback(messages: list[Message], failed: bool) -> list[Message]:
    """What follows a fallback that went out early: a late answer, all of it; of a late
    failure, or an answer with nothing to show, only the handover it asked for."""
    return [m for m in messages if handover.from_step(m)] if failed else messages


def _describe(exc: BaseException) -> str:
    """An unexpected failure for the log: its type and where it was raised, never its text
    (which may quote the person or the bot)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"unexpected {type(exc).__name__}{where}"
