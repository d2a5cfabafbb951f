"""Posting deliveries to a bridge and, against one in local mode, following what it did.

This is the replay's only I/O (besides reading the files): one POST per attempt, then, when
the bridge is in local mode, polling ``/local/status`` until each event's job is final and
reading what was sent back from the local Graph inbox. Time and sleeping are injected so
pacing and waiting are tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bridge.errors import NotAWebhookBody, ReplayError
from bridge.ops.replay.bodies import Body, load_body, retime
from bridge.ops.replay.outcomes import EventState, Outcome
from bridge.ops.replay.target import local_url, request_headers, webhook_url

FINAL_STATES = frozenset({"done", "dropped", "dead"})
# Answered 200 but no job: the bridge left the event out (an entry for another Page).
NOT_QUEUED = "not_queued"
POLL_INTERVAL = 0.05
REQUEST_TIMEOUT = 10.0
# What a bridge that stops answering (or answers oddly) while being followed raises.
_FOLLOW_ERRORS = (requests.RequestException, ValueError, KeyError)


@dataclass
class Pacer:
    """Sends start at least ``1 / rate`` seconds apart. A late send never makes the next ones
    hurry to catch up (no bursts); ``rate=None`` means no pacing."""

    rate: float | None
    _next: float | None = None

    def delay(self, now: float) -> float:
        """Seconds to wait before a send wanted at ``now``; the send is then counted."""
        if not self.rate:
            return 0.0
        start = now if self._next is None else max(now, self._next)
        self._next = start + 1.0 / self.rate
        return start - now


class Replayer:
    """Posts deliveries and, against a local-mode bridge, follows their events and replies."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        wait: float | None = 30.0,
        repeat: int = 1,
        rate: float | None = None,
        retime: bool = False,
        http: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = webhook_url(url)
        self.secret = secret
        self.wait = wait  # None: don't follow
        self.repeat = repeat
        self.retime = retime
        self.pacer = Pacer(rate)
        self.http = http or requests.Session()
        self.clock = clock
        self.sleep = sleep
        self.local = False
        self._cursors: dict[str, int] = {}

    def probe(self) -> bool:
        """Whether the server is a bridge in local mode (asked once, only if following)."""
        if self.wait is None:
            return False
        try:
            response = self.http.get(
                local_url(self.url, "status"), params={"key": ""}, timeout=REQUEST_TIMEOUT
            )
        except requests.RequestException as error:
            raise ReplayError(
                f"cannot reach the bridge at {self.url}: {type(error).__name__}"
            ) from None
        try:
            self.local = response.status_code == 200 and "state" in response.json()
        except ValueError:
            self.local = False
        return self.local

    def replay(self, path: Path, name: str) -> Iterator[Outcome]:
        """Every attempt at one file (``repeat`` times, back to back), then, if followed, its
        events' final states and replies on the last attempt's outcome."""
        try:
            body = self._read(path)
        except (OSError, NotAWebhookBody) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            yield Outcome(name, None, error=reason or type(error).__name__)
            return
        cursors, problem = self._cursors_before(body)
        outcomes = []
        for attempt in range(1, self.repeat + 1):
            outcome = self._post(body, name, attempt)
            outcomes.append(outcome)
            if attempt < self.repeat:
                yield outcome
        last = outcomes[-1]
        if cursors is not None and any(o.accepted for o in outcomes):
            try:
                self._follow(body, last, cursors)
            except _FOLLOW_ERRORS as error:
                problem = f"could not follow: {type(error).__name__}"
        last.error = last.error or problem
        yield last

    def _read(self, path: Path) -> Body:
        data = path.read_bytes()
        if self.retime:
            data = retime(data, int(time.time() * 1000))
        return load_body(data)

    def _cursors_before(self, body: Body) -> tuple[dict[str, int] | None, str | None]:
        """Each sender's inbox position before the first attempt (None: not following), and
        why following is impossible if it is."""
        if not (self.local and self.wait is not None and body.events):
            return None, None
        try:
            return {sender: self._cursor(sender) for sender in body.senders}, None
        except _FOLLOW_ERRORS as error:
            return None, f"could not follow: {type(error).__name__}"

    def _post(self, body: Body, name: str, attempt: int) -> Outcome:
        pause = self.pacer.delay(self.clock())
        if pause > 0:
            self.sleep(pause)
        outcome = Outcome(
            name,
            attempt,
            events=[EventState(e.key, e.sender) for e in body.events],
            skipped=list(body.skipped),
        )
        started = time.perf_counter()
        try:
            response = self.http.post(
                self.url,
                data=body.data,
                headers=request_headers(body.data, self.secret),
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException as error:
            outcome.error = f"could not send: {type(error).__name__}"
        else:
            outcome.status = response.status_code
        outcome.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return outcome

    def _inbox(self, sender: str, after: int) -> tuple[list[dict[str, Any]], int]:
        response = self.http.get(
            local_url(self.url, "graph/inbox"),
            params={"recipient": sender, "after": str(after)},
            timeout=REQUEST_TIMEOUT,
        )
        response.raise_for_status()
        data = response.json()
        self._cursors[sender] = int(data["last"])
        return list(data["entries"]), int(data["last"])

    def _cursor(self, sender: str) -> int:
        """The inbox position for ``sender`` now (asking only for what is new since last time)."""
        return self._inbox(sender, self._cursors.get(sender, 0))[1]

    def _state(self, key: str) -> str | None:
        response = self.http.get(
            local_url(self.url, "status"), params={"key": key}, timeout=REQUEST_TIMEOUT
        )
        response.raise_for_status()
        state = response.json().get("state")
        return str(state) if state is not None else None

    def _follow(self, body: Body, outcome: Outcome, cursors: dict[str, int]) -> None:
        """Wait for each event to reach a final state (or ``wait`` seconds), then read what
        was sent to its sender since the cursor taken before the first attempt."""
        assert self.wait is not None
        deadline = self.clock() + self.wait
        pending = {event.key: event for event in outcome.events}
        while True:
            for key, event in list(pending.items()):
                state = self._state(key)
                # After a 200 the jobs are committed: no job now means none is coming.
                event.state = NOT_QUEUED if state is None else state
                if event.state in FINAL_STATES or event.state == NOT_QUEUED:
                    del pending[key]
            if not pending or self.clock() >= deadline:
                break
            self.sleep(POLL_INTERVAL)
        entries = [
            entry for sender in body.senders for entry in self._inbox(sender, cursors[sender])[0]
        ]
        outcome.replies = [entry["body"] for entry in sorted(entries, key=lambda e: e["seq"])]
        outcome.followed = True
        outcome.timed_out = bool(pending)
