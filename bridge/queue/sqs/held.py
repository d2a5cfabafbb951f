"""The SQS messages one process holds, and which of them a delivery thread may take next.

A received message stays invisible to every other process while this one holds it (its
visibility timeout, renewed by the lease thread of bridge/queue/sqs/queue.py). A process holds a
message from its receipt until its job ends (deleted) or the process lets it go:

- waiting for a free delivery thread (a batch receive brings up to 10);
- waiting behind an earlier message of its conversation (an SQS FIFO batch may hold several
  messages of one message group, in order; only the first may run);
- waiting for a retry time (``not_before``), or for its Page's throttle or pause to end;
- running: a delivery thread claimed its job (``token``), until the claim's lease ends.

No clock is read here: callers pass the monotonic time (visibility) and the wall-clock time
(retry times, which the table stores too). All methods are thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from bridge.queue import NewJob


@dataclass
class Held:
    """One received message and what this process is doing with it."""

    message_id: str
    receipt: str
    job: NewJob
    group: str
    receives: int
    received_at: float  # monotonic, when the receive that brought it started
    visible_until: float  # monotonic: SQS may hand it to another process from then on
    token: str | None = None  # the running claim's owner token
    claiming: bool = False  # a delivery thread is claiming its job right now
    run_until: float = 0.0  # monotonic: the running claim's lease ends (no renewal after)
    not_before: float = 0.0  # wall clock: parked until then (a retry)

    @property
    def busy(self) -> bool:
        return self.claiming or self.token is not None


class Holdings:
    """Held messages by conversation (SQS message group, in order), id and claim token."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, list[Held]] = {}
        self._by_id: dict[str, Held] = {}
        self._by_token: dict[str, Held] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)

    def add(self, held: Held) -> bool:
        """Hold a received message; False if it was already held (SQS gave it again after its
        visibility ran out: its new receipt replaces the old, its place and state stay)."""
        with self._lock:
            known = self._by_id.get(held.message_id)
            if known is not None:
                known.receipt = held.receipt
                known.receives = held.receives
                known.visible_until = held.visible_until
                known.received_at = held.received_at
                return False
            self._by_id[held.message_id] = held
            self._groups.setdefault(held.group, []).append(held)
            return True

    def next_ready(
        self, *, now: float, monotonic: float, page_held: Callable[[str], bool], margin: float
    ) -> Held | None:
        """The oldest conversation's first message that may run now, marked ``claiming``:
        nothing of its conversation runs, its retry time passed, its Page is not held, and it
        stays ours for at least ``margin`` seconds."""
        with self._lock:
            for messages in self._groups.values():
                head = messages[0]
                if head.busy or head.not_before > now or head.visible_until - monotonic < margin:
                    continue
                if page_held(head.job.page):
                    continue
                head.claiming = True
                return head
            return None

    def started(self, held: Held, token: str, run_until: float) -> None:
        """A delivery thread claimed the job."""
        with self._lock:
            held.claiming = False
            held.token = token
            held.run_until = run_until
            self._by_token[token] = held

    def unclaim(self, held: Held, *, not_before: float | None = None) -> None:
        """The claim did not happen (or was given back): the message waits here again."""
        with self._lock:
            held.claiming = False
            if held.token is not None:
                self._by_token.pop(held.token, None)
                held.token = None
            if not_before is not None:
                held.not_before = not_before

    def by_token(self, token: str) -> Held | None:
        with self._lock:
            return self._by_token.get(token)

    def forget(self, held: Held) -> None:
        """Stop holding the message (deleted, or left to SQS): the next of its group is first."""
        with self._lock:
            self._forget(held)

    def _forget(self, held: Held) -> None:
        if self._by_id.get(held.message_id) is not held:
            return
        del self._by_id[held.message_id]
        if held.token is not None:
            self._by_token.pop(held.token, None)
        messages = self._groups.get(held.group, [])
        if held in messages:
            messages.remove(held)
        if not messages:
            self._groups.pop(held.group, None)

    def lapsed(self, monotonic: float) -> list[Held]:
        """Forget idle messages whose visibility ran out (SQS may give them to anyone now)."""
        with self._lock:
            gone = [h for h in self._by_id.values() if not h.busy and h.visible_until <= monotonic]
            for held in gone:
                self._forget(held)
            return gone

    def due(self, monotonic: float, *, within: float) -> list[Held]:
        """Messages whose visibility ends within ``within`` seconds (to be renewed)."""
        with self._lock:
            return [h for h in self._by_id.values() if h.visible_until - monotonic < within]

    def take_all(self) -> list[Held]:
        """Forget every message (the process stops) and return them."""
        with self._lock:
            every = list(self._by_id.values())
            self._groups.clear()
            self._by_id.clear()
            self._by_token.clear()
            return every

    def counts(self) -> tuple[int, int]:
        """(running or being claimed, waiting) messages."""
        with self._lock:
            busy = sum(1 for h in self._by_id.values() if h.busy)
            return busy, len(self._by_id) - busy
