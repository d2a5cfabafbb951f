"""Delivery: claim a job → ask the bot once → render → send part by part → ack.

The bot's rendered reply is stored on the job before the first send and each sent part is
recorded, so a retried job never asks the bot again and resumes with the first unsent part.
``Delivery`` runs the loop in named threads, inside each gunicorn worker process (started
after fork) or alone in ``python -m bridge worker``; ``stop`` lets in-flight turns finish.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge import events
from bridge.bots import Bot
from bridge.errors import BotError, BotErrorKind, GraphError
from bridge.graph import GraphClient
from bridge.logs import hash_id
from bridge.queue import Job, Message, Queue
from bridge.render import render
from bridge.replies import Reply, Text

log = logging.getLogger(__name__)

DONE_RETENTION = 7 * 24 * 3600.0  # keep finished jobs (and their dedupe keys) for a week
PURGE_EVERY = 3600.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0


def backoff(attempts: int, now: float, *, rng: Callable[[], float] = random.random) -> float:
    """When a job that failed ``attempts`` times may run again: exponential, half jitter."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(0, attempts - 1))
    return now + ceiling / 2 + rng() * ceiling / 2


class RetryLater(Exception):
    """The turn could not finish now; the job goes back to the queue."""


@dataclass
class TurnHandler:
    """Runs one job to completion, or raises ``RetryLater``/``GraphError``."""

    queue: Queue
    bot: Bot
    graph: GraphClient
    fallback_text: str
    sender_actions: bool = True

    def handle(self, job: Job) -> None:
        event = events.from_json(job.payload)
        messages = job.reply
        if messages is None:
            messages = self._ask_bot(job, event)
            if not self.queue.save_reply(job, messages):
                raise RetryLater("lost the job's lease before storing the reply")
        for index in range(job.sent, len(messages)):
            self.graph.send_message(event.sender_id, messages[index])
            if not self.queue.mark_sent(job, index + 1):
                raise RetryLater("lost the job's lease while sending")

    def _ask_bot(self, job: Job, event: events.Event) -> list[Message]:
        if self.sender_actions:
            self._sender_action(event.sender_id, "mark_seen")
            self._sender_action(event.sender_id, "typing_on")
        try:
            replies: list[Reply] = self.bot.respond(event)
        except BotError as exc:
            if exc.kind is BotErrorKind.RETRY:
                raise RetryLater(f"bot: {exc}") from exc
            level = logging.ERROR if exc.kind is BotErrorKind.CONFIG else logging.WARNING
            log.log(
                level,
                "bot failed; answering the fallback text",
                extra={"job_id": job.id, "mid": job.key, "error": str(exc)},
            )
            replies = [Text(self.fallback_text)]
        messages = [message for reply in replies for message in render(reply)]
        if not messages and self.sender_actions:
            log.info("bot gave no reply", extra={"job_id": job.id, "mid": job.key})
            self._sender_action(event.sender_id, "typing_off")
        return messages

    def _sender_action(self, recipient_id: str, action: str) -> None:
        # Indicators are cosmetic: a failure is logged and the turn goes on.
        try:
            self.graph.send_action(recipient_id, action)
        except GraphError as exc:
            log.warning("sender action failed", extra={"action": action, "error": exc.describe()})


class Delivery:
    """Threads that claim and handle jobs until stopped."""

    def __init__(
        self,
        queue: Queue,
        handler: TurnHandler,
        *,
        threads: int,
        poll_interval: float,
        max_attempts: int,
        lease: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._handler = handler
        self._thread_count = threads
        self._poll_interval = poll_interval
        self._max_attempts = max_attempts
        self._lease = lease
        self._clock = clock
        self._stopping = threading.Event()
        self._wakeup = threading.Condition()
        self._pending_wakeups = 0
        self._threads: list[threading.Thread] = []
        self._last_purge = 0.0
        self._owner_prefix = f"{socket.gethostname()}:{os.getpid()}"

    def start(self) -> None:
        """Start the delivery threads (call after fork, in the process that will run them)."""
        self._owner_prefix = f"{socket.gethostname()}:{os.getpid()}"
        for number in range(self._thread_count):
            thread = threading.Thread(
                target=self._run, args=(number,), name=f"bridge-delivery-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("delivery started", extra={"threads": self._thread_count})

    def wake(self) -> None:
        """New work was committed in this process: wake an idle thread now."""
        with self._wakeup:
            self._pending_wakeups += 1
            self._wakeup.notify()

    def is_alive(self) -> bool:
        """True while every delivery thread runs."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float) -> bool:
        """Stop claiming, let in-flight turns finish within ``timeout``; True if all finished."""
        self._stopping.set()
        with self._wakeup:
            self._wakeup.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        drained = not any(thread.is_alive() for thread in self._threads)
        log.info("delivery stopped", extra={"drained": drained})
        return drained

    def run_once(self, owner: str) -> bool:
        """Claim and handle one job; False when there was nothing to do."""
        now = self._clock()
        job = self._queue.claim(owner=owner, now=now, lease=self._lease)
        if job is None:
            self._maybe_purge(now)
            return False
        started = time.perf_counter()
        try:
            self._handler.handle(job)
        except (RetryLater, GraphError) as exc:
            self._fail(job, str(exc))
        except Exception as exc:  # a bug must not kill the thread or lose the job
            log.exception("unexpected error while handling a job", extra={"job_id": job.id})
            self._fail(job, f"internal error: {type(exc).__name__}")
        else:
            self._queue.ack(job, now=self._clock())
            log.info(
                "turn delivered",
                extra={
                    "job_id": job.id,
                    "mid": job.key,
                    "attempt": job.attempts,
                    "user": hash_id(job.conversation),
                    "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return True

    def _fail(self, job: Job, error: str) -> None:
        now = self._clock()
        if job.attempts >= self._max_attempts:
            self._queue.bury(job, reason=error, now=now)
            log.error(
                "job gave up after %d attempts",
                job.attempts,
                extra={"job_id": job.id, "mid": job.key, "error": error},
            )
            return
        at = backoff(job.attempts, now)
        self._queue.retry(job, at=at, error=error)
        log.warning(
            "job will be retried",
            extra={
                "job_id": job.id,
                "mid": job.key,
                "attempt": job.attempts,
                "error": error,
                "retry_in_s": round(at - now, 1),
            },
        )

    def _maybe_purge(self, now: float) -> None:
        if now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        purged = self._queue.purge(before=now - DONE_RETENTION)
        if purged:
            log.info("purged finished jobs", extra={"count": purged})

    def _run(self, number: int) -> None:
        owner = f"{self._owner_prefix}:{number}"
        while not self._stopping.is_set():
            try:
                worked = self.run_once(owner)
            except Exception:
                log.exception("delivery loop error; pausing before the next claim")
                worked = False
            if not worked:
                self._idle()

    def _idle(self) -> None:
        with self._wakeup:
            if self._pending_wakeups == 0 and not self._stopping.is_set():
                self._wakeup.wait(self._poll_interval)
            self._pending_wakeups = max(0, self._pending_wakeups - 1)
