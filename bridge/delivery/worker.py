"""Delivery: claim a job → ask the bot once → render → send part by part → ack.

The bot's rendered reply is stored on the job before the first send and each sent part is
recorded (the send ledger), so a retried job never asks the bot again and resumes with the
first unsent part. Graph errors are handled by the policy in ``bridge.messenger.graph_policy``:
retry with backoff, hold the whole Page while throttled, pause it (one error log) until a probe
works, or drop the job for a person who cannot be messaged. Before the bot is asked, the
conversation's state decides whether the bot may answer at all
(``bridge.messenger.thread_control``: someone else holds the conversation, or a reply would be
outside Messenger's 24-hour window); each Page's turns use that Page's Graph client and bot
(``bridge.delivery.page_routes``). ``Delivery`` runs the loop in named threads, inside each
gunicorn worker process (started after fork) or alone in ``python -m bridge worker``, plus a
housekeeping thread (heartbeat, recovery of jobs whose process died, probes of paused Pages,
purge). ``stop`` lets in-flight turns finish, and releases those that cannot finish in time to the
next process.
"""

from __future__ import annotations

import contextvars
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from bridge.bots import Bot
from bridge.config.settings import HUMAN_IDLE
from bridge.delivery import handover
from bridge.delivery.liveness import pid_alive, process_namespace
from bridge.delivery.page_routes import PageRoute, Routes
from bridge.errors import BotError, BotErrorKind, GraphError, NotAnswered, RetryLater
from bridge.messenger import events
from bridge.messenger import thread_control as threads
from bridge.messenger.graph import GraphClient
from bridge.messenger.graph_policy import Action, Decision, classify, retry_delay, throttle_delay
from bridge.messenger.render import render
from bridge.messenger.replies import PAGE_INBOX_APP_ID, Handover, Text
from bridge.messenger.thread_control import ThreadSignal
from bridge.obs import metrics
from bridge.obs.logs import hash_id, log_context
from bridge.queue import DeliveryQueue, Job, Message, Worker

log = logging.getLogger(__name__)

DONE_RETENTION = 7 * 24 * 3600.0  # keep finished jobs (and their dedupe keys) for a week
PURGE_EVERY = 3600.0
HEARTBEAT_EVERY = 2.0
STALE_AFTER = 10.0  # a process silent this long is taken for dead; its jobs are released


@dataclass
class _Turn:
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


@dataclass
class TurnHandler:
    """Runs one job to completion, or raises ``RetryLater``/``NotAnswered``/``GraphError``.

    Each Page's turns use its route (``routes``; or ``bot``, ``graph`` and ``fallback_text``
    for every Page). The bot is asked in a helper thread so the turn can keep the typing
    indicator alive (Messenger drops it after 20 s) and answer the fallback text by
    ``answer_deadline`` (Meta wants every message answered within 30 s) even if the bot hangs.
    """

    queue: DeliveryQueue
    bot: Bot | None = None
    graph: GraphClient | None = None
    fallback_text: str = ""
    sender_actions: bool = True
    answer_deadline: float = 25.0
    typing_refresh: float = 15.0
    bot_threads: int = 4
    routes: Routes | None = None
    human_idle: float = HUMAN_IDLE  # seconds after which a silent holder's hold lapses
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.routes is None:
            if self.bot is None or self.graph is None:
                raise ValueError("TurnHandler needs routes, or a bot and a Graph client")
            self.routes = Routes(default=PageRoute(self.graph, self.bot, self.fallback_text))

    def route(self, page: str) -> PageRoute | None:
        """The route of ``page`` (None: the Page is not served)."""
        assert self.routes is not None  # set in __post_init__
        return self.routes.get(page)

    def handle(self, job: Job, *, clock: Callable[[], float] = time.time) -> int:
        """Answer the job's event; returns how many reply messages have now been sent.

        Each part but the last is recorded in the send ledger as soon as Graph accepts it; the
        last one is recorded by the ack that follows (one commit fewer per turn)."""
        turn = self._start(job, clock)
        messages, sent = job.reply, job.sent
        if messages is None:
            messages, sent = self._ask_bot(turn)
        for index in range(sent, len(messages)):
            self._send(turn, messages[index])
            if index + 1 < len(messages) and not self.queue.mark_sent(job, index + 1):
                raise RetryLater("lost the job's lease while sending")
        return len(messages)

    def _start(self, job: Job, clock: Callable[[], float]) -> _Turn:
        """The turn, if the bot may answer the event now (else ``NotAnswered``)."""
        event = events.from_json(job.payload)
        route = self.route(job.page)
        if route is None:
            raise NotAnswered("page_not_configured", "its Page is not served (BRIDGE_PAGES_FILE)")
        thread = self.queue.thread(job.page, event.sender_id)
        held = threads.held_reason(
            thread,
            event_ts=job.order_ts,
            now_ms=int(clock() * 1000),
            idle_ms=int(self.human_idle * 1000),
        )
        if held is not None:
            raise NotAnswered("thread_held", held)
        last = max(job.order_ts, thread.last_inbound if thread is not None else 0)
        turn = _Turn(job, event, route, last, clock)
        self._check_window(turn)
        return turn

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _check_window(self, turn: _Turn) -> None:
        now = turn.now_ms()
        if not threads.window_open(turn.last_inbound, now):
            hours = (now - turn.last_inbound) / 3_600_000
            raise NotAnswered(
                "outside_window",
                f"outside Messenger's 24-hour window (the person's last event {hours:.1f} h ago)",
            )

    def _send(self, turn: _Turn, message: Message) -> None:
        asked = handover.from_step(message)
        if asked is not None:
            self._pass_control(turn, asked)
            return
        self._check_window(turn)
        try:
            with metrics.graph_call("message"):
                turn.route.graph.send_message(turn.user, message)
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

    def _hold(self, turn: _Turn, *, holder: threads.Holder, reason: str) -> None:
        """Record that someone else holds this conversation from now on."""
        signal = ThreadSignal(
            turn.job.page, turn.user, turn.now_ms(), "hold", holder=holder, reason=reason
        )
        self.queue.record_threads([signal], now=turn.clock())

    def _not_owner(self, turn: _Turn, decision: Decision) -> None:
        """Graph says another app owns the conversation: hold it, and end the job."""
        self._hold(turn, holder="other_app", reason="send_error")
        raise NotAnswered("not_thread_owner", decision.reason)

    def _pass_control(self, turn: _Turn, asked: Handover) -> None:
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

    def _ask_bot(self, turn: _Turn) -> tuple[list[Message], int]:
        """Ask the bot once and store its rendered reply; returns it and how much was sent."""
        job = turn.job
        if self.sender_actions:
            self._sender_action(turn, "mark_seen", strict=True)
            self._sender_action(turn, "typing_on", strict=True)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.bot_threads, thread_name_prefix="bridge-bot")
        # The helper thread logs with this turn's context (delivery id, job id, mid...).
        context = contextvars.copy_context()
        future = self._pool.submit(context.run, self._bot_replies, turn)
        early = self._wait_for_bot(turn, future)
        try:
            messages, failed = future.result()
        except RetryLater:
            if not early:
                raise
            messages, failed = [], True
        if early:
            # The fallback already went out; a late answer still follows (Lex's dialog state
            # expects the person to see it), a late failure adds nothing.
            messages = early + ([] if failed else messages)
        if not messages and self.sender_actions:
            log.info("bot gave no reply", extra={"job_id": job.id, "mid": job.key})
            self._sender_action(turn, "typing_off")
        if not self.queue.save_reply(job, messages):
            raise RetryLater("lost the job's lease before storing the reply")
        return messages, len(early)

    def _wait_for_bot(
        self, turn: _Turn, future: Future[tuple[list[Message], bool]]
    ) -> list[Message]:
        """Keep typing alive while the bot works; past the deadline, send the fallback."""
        started = last_typing = time.monotonic()
        early: list[Message] = []
        while True:
            now = time.monotonic()
            wakeups = [last_typing + self.typing_refresh]
            if not early:
                wakeups.append(started + self.answer_deadline)
            try:
                future.result(timeout=max(0.0, min(wakeups) - now))
                return early
            except FutureTimeout:
                pass
            except Exception:  # the outcome is read (and handled) by the caller
                return early
            now = time.monotonic()
            if not early and now >= started + self.answer_deadline:
                early = self._send_early_fallback(turn)
            elif now >= last_typing + self.typing_refresh:
                if self.sender_actions:
                    self._sender_action(turn, "typing_on")
                last_typing = now

    def _send_early_fallback(self, turn: _Turn) -> list[Message]:
        job = turn.job
        early = render(Text(turn.route.fallback_text))
        if not self.queue.save_reply(job, early):
            raise RetryLater("lost the job's lease before the fallback")
        for index, message in enumerate(early):
            self._send(turn, message)
            self.queue.mark_sent(job, index + 1)
        metrics.FALLBACKS.labels("deadline").inc()
        log.warning(
            "bot did not answer in time; fallback text sent",
            extra={"job_id": job.id, "mid": job.key, "deadline_s": self.answer_deadline},
        )
        return early

    def _bot_replies(self, turn: _Turn) -> tuple[list[Message], bool]:
        """The bot's reply rendered (with its handover step, if it asked for a person), and
        whether it is the fallback for a failed turn."""
        job = turn.job
        try:
            replies = turn.route.bot.respond(turn.event)
        except BotError as exc:
            if exc.kind is BotErrorKind.RETRY:
                raise RetryLater(f"bot: {exc}", cause="bot") from exc
            level = logging.ERROR if exc.kind is BotErrorKind.CONFIG else logging.WARNING
            log.log(
                level,
                "bot failed; answering the fallback text",
                extra={"job_id": job.id, "mid": job.key, "error": str(exc)},
            )
            metrics.FALLBACKS.labels("bot_error").inc()
            return render(Text(turn.route.fallback_text)), True
        return handover.plan(replies), False

    def _sender_action(self, turn: _Turn, action: str, *, strict: bool = False) -> None:
        """Indicators are cosmetic: a failure is logged and the turn goes on; but ``strict``
        (before the bot is asked), a conversation another app owns ends the turn there."""
        try:
            with metrics.graph_call("action"):
                turn.route.graph.send_action(turn.user, action)
        except GraphError as exc:
            decision = classify(exc)
            if strict and decision.action is Action.NOT_OWNER:
                self._not_owner(turn, decision)
            log.warning(
                "sender action failed",
                extra={"action": action, "error": exc.describe(), "fbtrace_id": exc.fbtrace_id},
            )


_NOT_ANSWERED = {
    "thread_held": "someone else holds the conversation",
    "not_thread_owner": "another app owns the conversation",
    "outside_window": "a reply would be outside Messenger's 24-hour window",
    "page_not_configured": "its Page is not served",
}


def job_log_fields(job: Job) -> dict[str, object]:
    """What every log line about a job carries: its ids, never the person's words or PSID."""
    return {
        "delivery_id": job.delivery_id or None,
        "job_id": job.id,
        "mid": job.key,
        "page": job.page,
        "user": hash_id(job.conversation),
    }


@dataclass(frozen=True)
class Limits:
    """How long and how often delivery keeps trying."""

    max_attempts: int = 8
    lease: float = 100.0
    max_event_age: float = 24 * 3600.0
    probe_interval: float = 30.0


class Delivery:
    """Threads that claim and handle jobs until stopped, and one that keeps house."""

    def __init__(
        self,
        queue: DeliveryQueue,
        handler: TurnHandler,
        *,
        threads: int,
        poll_interval: float,
        limits: Limits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._handler = handler
        self._thread_count = threads
        self._poll_interval = poll_interval
        self._limits = limits
        self._clock = clock
        self._stopping = threading.Event()
        self._wakeup = threading.Condition()
        self._pending_wakeups = 0
        self._threads: list[threading.Thread] = []
        self._housekeeper: threading.Thread | None = None
        self._current: dict[str, Job] = {}
        self._throttles: dict[str, int] = {}
        self._last_purge = 0.0
        self._last_probe = 0.0
        self._identity = self._new_identity()

    @staticmethod
    def _new_identity() -> Worker:
        host, pid = process_namespace(), os.getpid()
        return Worker(f"{host}:{pid}:{secrets.token_hex(4)}", host, pid, 0.0)

    @property
    def process(self) -> str:
        return self._identity.process

    def start(self) -> None:
        """Start delivery in this process (call after fork, in the process that will run it)."""
        self._identity = self._new_identity()
        self.keep_house()  # first: release what a previous incarnation left running
        self._housekeeper = threading.Thread(
            target=self._keep_house_loop, name="bridge-housekeeping", daemon=True
        )
        self._housekeeper.start()
        for number in range(self._thread_count):
            thread = threading.Thread(
                target=self._run,
                args=(f"{self.process}:{number}",),
                name=f"bridge-delivery-{number}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        log.info(
            "delivery started",
            extra={"threads": self._thread_count, "worker_process": self.process},
        )

    def wake(self) -> None:
        """New work was committed in this process: wake an idle thread now."""
        with self._wakeup:
            self._pending_wakeups += 1
            self._wakeup.notify()

    def is_alive(self) -> bool:
        """True while every delivery thread runs."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float) -> bool:
        """Stop claiming; let in-flight turns finish within ``timeout``, then release the rest
        to the queue for the next process. True if every turn finished."""
        self._stopping.set()
        with self._wakeup:
            self._wakeup.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        unfinished = list(self._current.values())
        released = sum(
            self._queue.retry(job, at=self._clock(), error="released at shutdown", refund=True)
            for job in unfinished
        )
        if released:
            metrics.RELEASED.labels("shutdown").inc(released)
        self._handler.close()
        # Forget this process, so nobody waits for its heartbeat to go stale.
        self._queue.release_stale(now=self._clock(), stale_after=STALE_AFTER, dead=[self.process])
        log.info("delivery stopped", extra={"drained": not unfinished, "released": released})
        return not unfinished

    # --- one job ---------------------------------------------------------------------------

    def run_once(self, owner: str) -> bool:
        """Claim and handle one job; False when there was nothing to do."""
        job = self._queue.claim(
            owner=owner, process=self.process, now=self._clock(), lease=self._limits.lease
        )
        if job is None:
            return False
        self._current[owner] = job
        try:
            with log_context(**job_log_fields(job)):
                self._run_job(job)
        finally:
            self._current.pop(owner, None)
        return True

    def _run_job(self, job: Job) -> None:
        started = time.perf_counter()
        now = self._clock()
        age = now - job.order_ts / 1000
        if age > self._limits.max_event_age:
            self._expire(job, age, now)
            return
        try:
            sent = self._handler.handle(job, clock=self._clock)
        except NotAnswered as exc:
            self._not_answered(job, exc)
        except RetryLater as exc:
            self._retry(job, str(exc), cause=exc.cause)
        except GraphError as exc:
            self._graph_failed(job, exc)
        except Exception as exc:  # a bug must not kill the thread or lose the job
            log.exception("unexpected error while handling a job", extra={"job_id": job.id})
            self._retry(job, f"internal error: {type(exc).__name__}", cause="internal")
        else:
            self._queue.ack(job, now=self._clock(), sent=sent)
            self._throttles.pop(job.page, None)
            metrics.TURNS.inc()
            metrics.TURN_DURATION.observe(time.perf_counter() - started)
            metrics.ANSWER_LATENCY.observe(max(0.0, self._clock() - job.order_ts / 1000))
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

    def _expire(self, job: Job, age: float, now: float) -> None:
        if job.attempts > 1 or job.reply is not None:
            reason = f"too old after {job.attempts - 1} attempts; last error: {job.last_error}"
            self._queue.bury(job, reason=reason, now=now)
            metrics.DEAD_LETTERS.labels("too_old").inc()
        else:
            self._queue.drop(job, reason=f"too old when first handled ({age:.0f} s)", now=now)
            metrics.DROPPED.labels("too_old").inc()
        log.warning(
            "event too old to answer", extra={"job_id": job.id, "mid": job.key, "age_s": round(age)}
        )

    def _not_answered(self, job: Job, reason: NotAnswered) -> None:
        self._queue.drop(job, reason=reason.reason, now=self._clock())
        metrics.DROPPED.labels(reason.label).inc()
        level = logging.INFO if reason.label == "thread_held" else logging.WARNING
        log.log(
            level,
            "event not answered: %s",
            _NOT_ANSWERED[reason.label],
            extra={"job_id": job.id, "mid": job.key, "page": job.page, "reason": reason.label},
        )

    def _retry(self, job: Job, error: str, *, cause: str) -> None:
        now = self._clock()
        if job.attempts >= self._limits.max_attempts:
            self._queue.bury(job, reason=error, now=now)
            metrics.DEAD_LETTERS.labels("attempts").inc()
            log.error(
                "job gave up after %d attempts",
                job.attempts,
                extra={"job_id": job.id, "mid": job.key, "error": error},
            )
            return
        at = now + retry_delay(job.attempts)
        self._queue.retry(job, at=at, error=error)
        metrics.RETRIES.labels(cause).inc()
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

    def _graph_failed(self, job: Job, error: GraphError) -> None:
        with log_context(fbtrace_id=error.fbtrace_id):  # on every line about it, retries too
            self._handle_graph_error(job, error)

    def _handle_graph_error(self, job: Job, error: GraphError) -> None:
        decision = classify(error)
        now = self._clock()
        context = {
            "job_id": job.id,
            "mid": job.key,
            "page": job.page,
            "error": error.describe(),
            "fbtrace_id": error.fbtrace_id,
            "decision": decision.action.value,
        }
        if decision.action is Action.THROTTLE:
            count = self._throttles[job.page] = self._throttles.get(job.page, 0) + 1
            delay = throttle_delay(error, count)
            self._queue.block_page(job.page, until=now + delay, reason=decision.reason, now=now)
            self._queue.retry(job, at=now + delay, error=decision.reason, refund=True)
            metrics.PAGE_THROTTLES.inc()
            log.warning(
                "Page throttled by Graph; holding its sends",
                extra={**context, "hold_s": round(delay, 1)},
            )
        elif decision.action is Action.PAUSE:
            if self._queue.pause_page(job.page, reason=decision.reason, now=now):
                metrics.PAGE_PAUSES.inc()
                log.error(
                    "Page paused: sending stops until a probe succeeds; fix the cause "
                    "(e.g. a new Page access token)",
                    extra=context,
                )
            self._queue.retry(job, at=now, error=decision.reason, refund=True)
        elif decision.action in (Action.DROP, Action.NOT_OWNER) or (
            decision.action is Action.RETRY_ONCE and job.attempts >= 2
        ):
            self._queue.drop(job, reason=decision.reason, now=now)
            dropped = {Action.DROP: "undeliverable", Action.NOT_OWNER: "not_thread_owner"}.get(
                decision.action, "attachment_failed"
            )
            metrics.DROPPED.labels(dropped).inc()
            log.warning("message cannot be delivered to this person; not retrying", extra=context)
        elif decision.action is Action.ASSUME_SENT:
            self._queue.ack(job, now=now)
        else:
            self._retry(job, decision.reason, cause="graph")

    # --- housekeeping ------------------------------------------------------------------------

    def keep_house(self) -> None:
        """Heartbeat, release jobs of dead processes, probe paused Pages, purge old jobs."""
        now = self._clock()
        self._queue.heartbeat(
            Worker(self._identity.process, self._identity.host, self._identity.pid, now)
        )
        released = self._queue.release_stale(
            now=now, stale_after=STALE_AFTER, dead=self._dead_neighbours()
        )
        if released:
            metrics.RELEASED.labels("stale_worker").inc(released)
            log.warning("released jobs of a stopped worker", extra={"count": released})
            self.wake()
        if now - self._last_probe >= self._limits.probe_interval:
            self._last_probe = now
            self._probe_paused_pages()
        if now - self._last_purge >= PURGE_EVERY:
            self._last_purge = now
            purged = self._queue.purge(before=now - DONE_RETENTION)
            if purged:
                log.info("purged finished jobs", extra={"count": purged})

    def _dead_neighbours(self) -> list[str]:
        """Processes on this host that reported before but no longer exist."""
        me = self._identity
        dead = []
        for worker in self._queue.workers():
            if worker.host != me.host or worker.process == me.process:
                continue
            if worker.pid == me.pid or not pid_alive(worker.pid):
                dead.append(worker.process)  # gone, or its pid now belongs to us
        return dead

    def _probe_paused_pages(self) -> None:
        """Probe each paused Page with its own token; resume it when the probe works."""
        for page in self._queue.pages():
            if not page.paused:
                continue
            route = self._handler.route(page.page)
            if route is None:
                # No longer served: let its jobs end as page_not_configured.
                if self._queue.resume_page(page.page):
                    log.warning(
                        "paused Page is no longer served; resumed", extra={"page": page.page}
                    )
                    self.wake()
                continue
            try:
                with metrics.graph_call("probe"):
                    route.graph.probe()
            except GraphError as exc:
                log.debug(
                    "paused Page still failing",
                    extra={
                        "page": page.page,
                        "error": exc.describe(),
                        "fbtrace_id": exc.fbtrace_id,
                    },
                )
                continue
            if self._queue.resume_page(page.page):
                metrics.PAGE_RESUMES.inc()
                log.warning("Page resumed: the probe succeeded", extra={"page": page.page})
                self.wake()

    def _keep_house_loop(self) -> None:
        while not self._stopping.wait(HEARTBEAT_EVERY):
            try:
                self.keep_house()
            except Exception:
                log.exception("housekeeping failed; trying again shortly")

    # --- the loop ----------------------------------------------------------------------------

    def _run(self, owner: str) -> None:
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
