"""What the end of a turn means for its job: ack, retry with backoff, dead letter or drop.

Graph errors are handled by the policy in ``bridge.messenger.graph_policy``: retry with backoff,
hold the whole Page while throttled, pause it (one error log) until a probe works
(``bridge.delivery.housekeeping``), or drop the job for a person who cannot be messaged.
Attempts the bridge caused itself (a throttled or paused Page) are refunded, so they never
bury a job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bridge.errors import GraphError, LeaseLost, NotAnswered, RetryLater
from bridge.messenger.graph_policy import Action, Decision, classify, retry_delay, throttle_delay
from bridge.obs import metrics, stages
from bridge.obs.logs import hash_id, log_context
from bridge.outbound.jobs import is_outbound
from bridge.queue import Claim, DeliveryQueue, Job

log = logging.getLogger(__name__)

_NOT_ANSWERED = {
    "thread_held": "someone else holds the conversation",
    "not_thread_owner": "another app owns the conversation",
    "outside_window": "a reply would be outside Messenger's 24-hour window",
    "page_not_configured": "its Page is not served",
    "unknown_recipient": "no event of this person (or no such token) is known",
    "token_expired": "the notification-messages token expired or was stopped",
}
_DROPPED = {Action.DROP: "undeliverable", Action.NOT_OWNER: "not_thread_owner"}


class Outcomes:
    """Ends (or postpones) jobs in ``queue``; remembers how often each Page was throttled."""

    def __init__(
        self, queue: DeliveryQueue, *, max_attempts: int, clock: Callable[[], float]
    ) -> None:
        self._queue = queue
        self._max_attempts = max_attempts
        self._clock = clock
        self._throttles: dict[str, int] = {}

    def run(
        self, job: Job, turn: Callable[[], int], *, started: float, claim: Claim | None
    ) -> Job | None:
        """Run ``turn`` (the job's turn; the parts it sent) and settle the job by how it
        ended; the next job taken with its ack (``claim``), if any. A bug in a turn is retried
        like any failure: it never kills a delivery thread or loses a job."""
        try:
            sent = turn()
        except NotAnswered as exc:
            self.not_answered(job, exc)
        except RetryLater as exc:
            self.retry(job, str(exc), cause=exc.cause)
        except LeaseLost as exc:
            self.lease_lost(job, str(exc))
        except GraphError as exc:
            self.graph_failed(job, exc)
        except Exception as exc:  # noqa: BLE001 - retried, with its trace in the log
            log.exception("unexpected error while handling a job", extra={"job_id": job.id})
            self.retry(job, f"internal error: {type(exc).__name__}", cause="internal")
        else:
            return self.delivered(job, sent=sent, started=started, claim=claim)
        return None

    def delivered(
        self, job: Job, *, sent: int, started: float, claim: Claim | None = None
    ) -> Job | None:
        """Every part went out: ack the job, and with ``claim`` take the next claimable job in
        the same commit (``started``: the turn's ``perf_counter`` start). Returns the job
        taken, if any."""
        now = self._clock()
        taken = None
        with stages.stage("ack"):
            if claim is None:
                acked = self._queue.ack(job, now=now, sent=sent)
            else:
                acked, taken = self._queue.ack_and_claim(job, now=now, sent=sent, claim=claim)
        if not acked:
            self.lease_lost(job, "lost the job's lease before the ack")
            return taken
        self._throttles.pop(job.page, None)
        _count_outbound(job, "sent")
        metrics.TURNS.inc()
        metrics.TURN_DURATION.observe(time.perf_counter() - started)
        metrics.ANSWER_LATENCY.observe(max(0.0, now - job.order_ts / 1000))
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info(
            "turn delivered",
            extra={
                "job_id": job.id,
                "mid": job.key,
                "attempt": job.attempts,
                "user": hash_id(job.conversation),
                "elapsed_ms": elapsed_ms,
            },
        )
        return taken

    def lease_lost(self, job: Job, error: str) -> None:
        """Another process took the job over: this one leaves it alone and says so."""
        metrics.LEASES_LOST.inc()
        log.warning(
            "another process has taken this job over; this turn stops and sends nothing more",
            extra={"job_id": job.id, "mid": job.key, "attempt": job.attempts, "error": error},
        )

    def expire(self, job: Job, age: float, now: float) -> None:
        """The event is too old to answer: bury a job that was tried, drop a fresh one."""
        if job.attempts > 1 or job.reply is not None:
            reason = f"too old after {job.attempts - 1} attempts; last error: {job.last_error}"
            self._queue.bury(job, reason=reason, now=now)
            metrics.DEAD_LETTERS.labels("too_old").inc()
            _count_outbound(job, "dead")
        else:
            self._queue.drop(job, reason=f"too old when first handled ({age:.0f} s)", now=now)
            metrics.DROPPED.labels("too_old").inc()
            _count_outbound(job, "dropped")
        log.warning(
            "event too old to answer", extra={"job_id": job.id, "mid": job.key, "age_s": round(age)}
        )

    def not_answered(self, job: Job, reason: NotAnswered) -> None:
        self._queue.drop(job, reason=reason.reason, now=self._clock())
        metrics.DROPPED.labels(reason.label).inc()
        _count_outbound(job, "dropped")
        level = logging.INFO if reason.label == "thread_held" else logging.WARNING
        log.log(
            level,
            "event not answered: %s",
            _NOT_ANSWERED[reason.label],
            extra={"job_id": job.id, "mid": job.key, "page": job.page, "reason": reason.label},
        )

    def retry(self, job: Job, error: str, *, cause: str) -> None:
        """Try again after a backoff, or bury the job after its last attempt."""
        now = self._clock()
        if job.attempts >= self._max_attempts:
            self._queue.bury(job, reason=error, now=now)
            metrics.DEAD_LETTERS.labels("attempts").inc()
            _count_outbound(job, "dead")
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

    def graph_failed(self, job: Job, error: GraphError) -> None:
        with log_context(fbtrace_id=error.fbtrace_id):  # on every line about it, retries too
            self._handle_graph_error(job, error)

    def _handle_graph_error(self, job: Job, error: GraphError) -> None:
        decision = classify(error)
        context = {
            "job_id": job.id,
            "mid": job.key,
            "page": job.page,
            "error": error.describe(),
            "fbtrace_id": error.fbtrace_id,
            "decision": decision.action.value,
        }
        if decision.action is Action.THROTTLE:
            self._throttle(job, error, decision, context)
        elif decision.action is Action.PAUSE:
            self._pause(job, decision, context)
        elif decision.action in (Action.DROP, Action.NOT_OWNER) or (
            decision.action is Action.RETRY_ONCE and job.attempts >= 2
        ):
            self._drop(job, decision, context)
        elif decision.action is Action.ASSUME_SENT:
            self._queue.ack(job, now=self._clock())
            _count_outbound(job, "sent")
        else:
            self.retry(job, decision.reason, cause="graph")

    def _throttle(
        self, job: Job, error: GraphError, decision: Decision, context: dict[str, object]
    ) -> None:
        """Hold the Page's sends for a while; its job keeps its attempt."""
        now = self._clock()
        count = self._throttles[job.page] = self._throttles.get(job.page, 0) + 1
        delay = throttle_delay(error, count)
        self._queue.block_page(job.page, until=now + delay, reason=decision.reason, now=now)
        self._queue.retry(job, at=now + delay, error=decision.reason, refund=True)
        metrics.PAGE_THROTTLES.inc()
        log.warning(
            "Page throttled by Graph; holding its sends",
            extra={**context, "hold_s": round(delay, 1)},
        )

    def _pause(self, job: Job, decision: Decision, context: dict[str, object]) -> None:
        """Stop the Page's sends until a probe works; logged once, when the pause begins."""
        now = self._clock()
        if self._queue.pause_page(job.page, reason=decision.reason, now=now):
            metrics.PAGE_PAUSES.inc()
            log.error(
                "Page paused: sending stops until a probe succeeds; fix the cause "
                "(e.g. a new Page access token)",
                extra=context,
            )
        self._queue.retry(job, at=now, error=decision.reason, refund=True)

    def _drop(self, job: Job, decision: Decision, context: dict[str, object]) -> None:
        self._queue.drop(job, reason=decision.reason, now=self._clock())
        metrics.DROPPED.labels(_DROPPED.get(decision.action, "attachment_failed")).inc()
        _count_outbound(job, "dropped")
        log.warning("message cannot be delivered to this person; not retrying", extra=context)


def _count_outbound(job: Job, status: str) -> None:
    """An outbound message's delivery ended (``sent``, ``dropped``, ``dead``)."""
    if is_outbound(job):
        metrics.OUTBOUND_MESSAGES.labels(status).inc()
