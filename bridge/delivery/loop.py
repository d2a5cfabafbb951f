"""The delivery loop: threads that claim jobs, run their turns and settle each job.

``Delivery`` runs the loop in named threads, inside each gunicorn worker process (started after
fork) or alone in ``python -m bridge worker``, plus a housekeeping thread
(``bridge.delivery.housekeeping``). A turn (``bridge.delivery.turn``) ends in an ack or in one
of the outcomes of ``bridge.delivery.outcomes`` (retry, dead letter, drop, a held or paused
Page); a bug in a turn is retried like any failure, so it never kills a thread or loses a job.
``stop`` lets in-flight turns finish, and releases those that cannot finish in time to the next
process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from functools import partial

from bridge.delivery.housekeeping import Housekeeper
from bridge.delivery.limits import Limits
from bridge.delivery.outcomes import Outcomes
from bridge.delivery.turn import TurnHandler
from bridge.messenger.events import TokenUpdate
from bridge.messenger.thread_control import ThreadSignal
from bridge.obs import metrics, stages
from bridge.obs.logs import hash_id, log_context
from bridge.queue import Claim, DeliveryQueue, Job, NewJob, PutResult

log = logging.getLogger(__name__)

# True while a webhook is answered on the server's event loop (``bridge.web.worker``): its 200
# is never held there, since that would stall every connection of the process.
UNHELD: ContextVar[bool] = ContextVar("bridge_acks_unheld", default=False)


def job_log_fields(job: Job) -> dict[str, object]:
    """What every log line about a job carries: its ids, never the person's words or PSID."""
    return {
        "delivery_id": job.delivery_id or None,
        "job_id": job.id,
        "mid": job.key,
        "page": job.page,
        "user": hash_id(job.conversation),
    }


class Delivery:
    """Threads that claim and handle jobs until stopped, and one that keeps house.

    ``ack_hold`` (``BRIDGE_ACK_HOLD``): while every thread here is busy, a webhook whose jobs
    were committed behind them waits up to that many seconds for a turn here to end before
    its 200 (``accept``); 0: never."""

    def __init__(
        self,
        queue: DeliveryQueue,
        handler: TurnHandler,
        *,
        threads: int,
        poll_interval: float,
        limits: Limits,
        clock: Callable[[], float] = time.time,
        ack_hold: float = 0.0,
    ) -> None:
        self._queue = queue
        self._ack_hold = ack_hold
        self._handler = handler
        self._thread_count = threads
        self._poll_interval = poll_interval
        self._limits = limits
        self._clock = clock
        self._outcomes = Outcomes(queue, max_attempts=limits.max_attempts, clock=clock)
        self._house = Housekeeper(
            queue,
            route=handler.route,
            wake=self.wake,
            probe_interval=limits.probe_interval,
            clock=clock,
        )
        self._stopping = threading.Event()
        lock = threading.RLock()
        self._wakeup = threading.Condition(lock)
        self._finished = threading.Condition(lock)  # a turn here ended: a held ack may go
        self._credits = 0  # turns ended here that no held ack has been matched with yet
        self._pending_wakeups = 0
        self._idle_threads = 0  # threads waiting for work, for ``accept``
        self._handoff: deque[Job] = deque()  # jobs ``accept`` claimed for this process
        self._promised = 0  # of them, claimed in a batch not yet committed
        self._threads: list[threading.Thread] = []
        self._current: dict[str, Job] = {}

    @property
    def process(self) -> str:
        return self._house.identity.process

    def start(self) -> None:
        """Start delivery in this process (call after fork, in the process that will run it)."""
        self._house.start(self._stopping)
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

    def accept(
        self,
        jobs: list[NewJob],
        *,
        now: float,
        signals: Sequence[ThreadSignal] = (),
        tokens: Sequence[TokenUpdate] = (),
    ) -> PutResult:
        """Commit a webhook's jobs (and thread signals and tokens). While threads here are
        idle, the same commit claims the new jobs for them (no claim of their own, no wait for
        a wake-up); otherwise the threads find the new jobs when they claim next. Threads are
        woken once the jobs are committed (in a ``batch``, after the put returns)."""
        with self._wakeup:
            room = self._idle_threads - len(self._handoff) - self._promised
        if room <= 0 or self._stopping.is_set():
            result = self._queue.put(jobs, now=now, signals=signals, tokens=tokens)
            if result.added:
                self._queue.after_commit(self._woken)
                self._pace()
            return result
        claim = Claim(f"{self.process}:accepted", self.process, self._limits.lease)
        result, taken = self._queue.put_and_claim(
            jobs, now=now, signals=signals, tokens=tokens, claim=claim, limit=room
        )
        with self._wakeup:
            self._promised += len(taken)  # theirs once committed: not room for the next put
        self._queue.after_commit(partial(self._hand_off, taken, bool(result.added)))
        return result

    def _hand_off(self, taken: list[Job], added: bool, committed: bool) -> None:
        """The jobs ``accept`` claimed for threads here are committed (or undone): theirs."""
        with self._wakeup:
            self._promised -= len(taken)
            if not committed:
                return
            self._handoff.extend(taken)
            self._pending_wakeups += max(len(taken), 1 if added else 0)
            self._wakeup.notify(self._pending_wakeups)

    def _woken(self, committed: bool) -> None:
        if committed:
            self.wake()

    def _pace(self) -> None:
        """Every thread here is busy and new work was queued behind them: hold this
        webhook's 200 (its jobs are committed) until a turn here ends, at most ``ack_hold``
        seconds, so under saturation acks go at the pace answers do and the delivery threads
        get the CPU, rather than acks running ahead and answers falling seconds behind."""
        if self._ack_hold <= 0 or UNHELD.get():
            return
        deadline = time.monotonic() + self._ack_hold
        with self._wakeup:
            while not self._credits and not self._idle_threads and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._finished.wait(remaining)
            self._credits = max(0, self._credits - 1)

    def _turn_ended(self) -> None:
        with self._wakeup:
            self._credits = min(self._credits + 1, self._thread_count)
            self._finished.notify()

    def wake(self) -> None:
        """New work was committed in this process: wake an idle thread now."""
        with self._wakeup:
            self._pending_wakeups += 1
            self._wakeup.notify()

    def holds_acks(self) -> bool:
        """Whether a webhook's 200 would be held now (``ack_hold``, every thread busy)."""
        return self._ack_hold > 0 and self._idle_threads - len(self._handoff) - self._promised <= 0

    @property
    def idle_threads(self) -> int:
        """Threads waiting for work now."""
        with self._wakeup:
            return self._idle_threads

    def is_alive(self) -> bool:
        """True while every delivery thread runs."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def keep_house(self) -> None:
        """One round of housekeeping now (``bridge.delivery.housekeeping``)."""
        self._house.keep_house()

    def stop(self, timeout: float) -> bool:
        """Stop claiming; let in-flight turns finish within ``timeout``, then release the rest
        to the queue for the next process. True if every turn finished."""
        self._stopping.set()
        with self._wakeup:
            self._wakeup.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._wakeup:
            unfinished = list(self._current.values()) + list(self._handoff)
            self._handoff.clear()
        released = self._release(unfinished)
        if released:
            metrics.RELEASED.labels("shutdown").inc(released)
        self._handler.close()
        self._house.forget()
        log.info("delivery stopped", extra={"drained": not unfinished, "released": released})
        return not unfinished

    def run_once(self, owner: str) -> bool:
        """Claim and handle one job; False when there was nothing to do."""
        job = self._next(owner, None)
        if job is None:
            return False
        self._handle(owner, job, take_next=False)
        return True

    def _next(self, owner: str, taken: Job | None) -> Job | None:
        """The job to run next: one taken with the last ack, one the webhook claimed for
        this process, or the oldest claimable one."""
        if taken is not None:
            return taken
        with self._wakeup:
            if self._handoff:
                return self._handoff.popleft()
        started = time.perf_counter()
        job = self._queue.claim(
            owner=owner, process=self.process, now=self._clock(), lease=self._limits.lease
        )
        if job is not None:
            stages.observe_stage("claim", time.perf_counter() - started)
        return job

    def _handle(self, owner: str, job: Job, *, take_next: bool) -> Job | None:
        """Handle ``job``; with ``take_next``, the next job taken with its ack, if any."""
        self._current[owner] = job
        take_next = take_next and not self._stopping.is_set()
        claim = Claim(owner, self.process, self._limits.lease) if take_next else None
        try:
            with log_context(**job_log_fields(job)):
                taken = self._run_job(job, claim)
            if taken is not None:
                self._current[owner] = taken
        finally:
            self._turn_ended()
            if self._current.get(owner) is job:
                self._current.pop(owner, None)
        return taken

    def _run_job(self, job: Job, claim: Claim | None) -> Job | None:
        started = time.perf_counter()
        now = self._clock()
        age = now - job.order_ts / 1000
        if age > self._limits.max_event_age:
            self._outcomes.expire(job, age, now)
            return None
        turn = partial(self._handler.handle, job, clock=self._clock)
        return self._outcomes.run(job, turn, started=started, claim=claim)

    def _run(self, owner: str) -> None:
        taken: Job | None = None
        while not self._stopping.is_set():
            try:
                job = self._next(owner, taken)
                taken = None if job is None else self._handle(owner, job, take_next=True)
            except Exception:
                log.exception("delivery loop error; pausing before the next claim")
                job = taken = None
            if job is None:
                self._idle()
        if taken is not None:  # taken with the last ack as the process stops: give it back
            self._release([taken])
            self._current.pop(owner, None)

    def _idle(self) -> None:
        with self._wakeup:
            if self._pending_wakeups == 0 and not self._stopping.is_set():
                self._idle_threads += 1
                try:
                    self._wakeup.wait(self._poll_interval)
                finally:
                    self._idle_threads -= 1
            self._pending_wakeups = max(0, self._pending_wakeups - 1)

    def _release(self, jobs: list[Job]) -> int:
        """Give jobs this process will not run back to the queue, their attempt refunded."""
        now = self._clock()
        return sum(
            self._queue.retry(job, at=now, error="released at shutdown", refund=True)
            for job in jobs
        )
