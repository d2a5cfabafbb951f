"""The SQS side of the messages one process holds: renewing, releasing, deleting, burying.

A received message stays invisible to the others for its visibility timeout
(``BRIDGE_SQS_VISIBILITY_TIMEOUT``). One thread per process renews the messages it holds
(``ChangeMessageVisibility[Batch]``) until the job ends, so a long Lex call keeps its message,
but a running job only until the claim's lease (the worker's ``lease``) runs out, as the SQLite
backend releases an expired lease. A process that dies lets its messages reappear within one
visibility timeout. A retry keeps the message in the process, invisible until the retry time
(the table records it too, so whoever gets the message after a crash waits for it); so do
messages of a throttled or paused Page, which hold nothing else up. A message is received again
only when its holder died, stopped, or held it for SQS's 12-hour maximum.

What is held, and by which claim, is ``bridge.queue.sqs.held.Holdings`` (no I/O); this module
makes the calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bridge.errors import QueueError
from bridge.queue.sqs.aws import calling, describe
from bridge.queue.sqs.dead import DeadLetters
from bridge.queue.sqs.held import Held, Holdings
from bridge.queue.sqs.page_cache import PageCache

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 12 * 3600 - 60  # SQS keeps a received message invisible 12 hours at most
PAUSED_HOLD = 4  # a paused Page's messages are renewed this many visibility timeouts at a time


class Leases:
    """The lease thread of one process and the SQS calls on the messages it holds."""

    def __init__(
        self,
        *,
        url: str,
        sqs: Callable[[], Any],
        visibility: int,
        held: Holdings,
        pages: PageCache,
        dead: DeadLetters,
    ) -> None:
        self._url = url
        self._client = sqs
        self._visibility = visibility
        self._held = held
        self._pages = pages
        self._dead = dead
        self._lock = threading.Lock()
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def _sqs(self) -> Any:
        return self._client()

    def ensure_running(self) -> None:
        """Start the lease thread, unless it runs."""
        with self._lock:
            if self._renewer is not None and self._renewer.is_alive():
                return
            self._stop = threading.Event()
            self._renewer = threading.Thread(
                target=self._renew_loop, args=(self._stop,), name="sqs-leases", daemon=True
            )
            self._renewer.start()

    def stop(self) -> None:
        """Stop renewing (held messages reappear after their visibility timeout)."""
        self._stop.set()

    def stop_holding(self) -> int:
        """Stop renewing and make every held message visible again at once; returns how many."""
        self.stop()
        return self.release(self._held.take_all())

    def _renew_loop(self, stop: threading.Event) -> None:
        while not stop.wait(max(0.1, self._visibility / 6)):
            try:
                self.renew()
            except Exception:  # the thread must outlive one failed round
                log.exception("renewing queue leases failed; trying again shortly")

    def renew(self) -> None:
        """Renew the visibility of held messages that would reappear within two thirds of a
        visibility timeout (one ChangeMessageVisibilityBatch per 10)."""
        now, monotonic = time.time(), time.monotonic()
        self._held.lapsed(monotonic)
        due = self._held.due(monotonic, within=self._visibility * 2 / 3)
        if not due:
            return
        self._pages.refresh()
        planned = [(h, self._wanted(h, now, monotonic)) for h in due]
        changes = [(h, seconds) for h, seconds in planned if seconds is not None]
        for start in range(0, len(changes), 10):
            self._change_visibility(changes[start : start + 10])

    def _wanted(self, held: Held, now: float, monotonic: float) -> int | None:
        """How long ``held`` should stay invisible from now; None: let it go."""
        if held.token is not None and monotonic >= held.run_until:
            return None  # the claim's lease is over: another process may take the job
        seconds = float(self._visibility)
        if held.token is None:
            if held.not_before > now:
                seconds += held.not_before - now
            page = self._pages.get(held.job.page)
            if page is not None and page.paused:
                seconds *= PAUSED_HOLD
            elif page is not None and page.blocked_until > now:
                seconds += page.blocked_until - now
        left = held.received_at + MAX_IN_FLIGHT - monotonic
        if left < self._visibility:
            return None  # SQS's 12-hour limit: let it reappear, a new receive starts over
        return int(min(seconds, left))

    def _change_visibility(self, changes: list[tuple[Held, int]]) -> None:
        sent = time.monotonic()
        entries = [
            {"Id": str(i), "ReceiptHandle": h.receipt, "VisibilityTimeout": seconds}
            for i, (h, seconds) in enumerate(changes)
        ]
        response = calling(
            "lease renewal",
            lambda: self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=entries),
        )
        for success in response.get("Successful") or []:
            held, seconds = changes[int(success["Id"])]
            held.visible_until = sent + seconds
        for failure in response.get("Failed") or []:
            held, _ = changes[int(failure["Id"])]
            log.warning(
                "queue lease not renewed",
                extra={"mid": held.job.key, "error": str(failure.get("Code"))},
            )
            if not held.busy:
                self._held.forget(held)

    def release(self, held: list[Held]) -> int:
        """Make messages visible again at once (the process stops); returns how many."""
        released = 0
        for start in range(0, len(held), 10):
            chunk = held[start : start + 10]
            entries = [
                {"Id": str(i), "ReceiptHandle": h.receipt, "VisibilityTimeout": 0}
                for i, h in enumerate(chunk)
            ]
            try:
                response = self._sqs.change_message_visibility_batch(
                    QueueUrl=self._url, Entries=entries
                )
            except Exception as exc:  # noqa: BLE001 - they reappear after their timeout anyway
                log.warning("queue messages not released", extra={"error": describe(exc)})
                continue
            released += len(response.get("Successful") or [])
        return released

    def delete_for(self, token: str) -> None:
        """Delete the message of the claim ``token``, if this process holds it."""
        held = self._held.by_token(token)
        if held is not None:
            self.delete(held)

    def delete(self, held: Held) -> None:
        """DeleteMessage; a failure is only logged: the message comes back and, its job being
        finished, is deleted then."""
        self._held.forget(held)
        try:
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=held.receipt)
        except Exception as exc:  # noqa: BLE001 - the job's state is already durable
            log.warning(
                "queue message not deleted; it will be discarded when it comes back",
                extra={"mid": held.job.key, "error": describe(exc)},
            )

    def bury(self, held: Held, attempts: int) -> None:
        """Copy a dead job's message to the dead-letter queue, then delete it here. If the copy
        fails, the message is let go: it comes back, and its claim tries again."""
        try:
            self._dead.add(held.job, attempts)
        except QueueError as exc:
            log.warning("dead letter not moved yet", extra={"mid": held.job.key, "error": str(exc)})
            self._held.forget(held)
            return
        self.delete(held)
