"""Posting the cases: a few threads, each with one keep-alive connection (``http.client``),
each making and sending every ``connections``-th case in turn, one request at a time.

A request the server never began to answer because it had closed the kept-alive connection
(the client finds out only when it reads) is sent again once on a new connection and counted
as ``resent``; one that still gets no answer has status 0.
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.fuzz.cases import Case
from bridge.messenger.signature import SIGNATURE_HEADER

NO_ANSWER = 0


@dataclass(frozen=True)
class Outcome:
    """What one case got: its status (``NO_ANSWER``: none) against the statuses expected."""

    index: int
    kind: str
    source: str
    size: int
    note: str
    expected: frozenset[int]
    status: int

    @property
    def failed(self) -> bool:
        return self.status not in self.expected


@dataclass
class Sent:
    outcomes: list[Outcome | None]
    seconds: float = 0.0
    resent: int = 0
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def finished(self) -> list[Outcome]:
        return [o for o in self.outcomes if o is not None]


def connect(base_url: str, timeout: float = 60.0) -> http.client.HTTPConnection:
    """A connection to the server at ``base_url`` (http or https)."""
    url = urlsplit(base_url)
    if url.scheme == "https":
        return http.client.HTTPSConnection(url.netloc, timeout=timeout)
    return http.client.HTTPConnection(url.netloc, timeout=timeout)


def webhook_path(base_url: str) -> str:
    return urlsplit(base_url).path.rstrip("/") + "/webhook"


def send_all(
    base_url: str,
    make: Callable[[int], Case],
    indexes: list[int],
    *,
    connections: int,
    progress: bool = True,
) -> Sent:
    """Send the cases of ``indexes`` on ``connections`` connections; every outcome, in the
    order of ``indexes``."""
    sent = Sent([None] * len(indexes))
    started = time.perf_counter()
    threads = [
        threading.Thread(
            target=_run,
            args=(base_url, make, indexes, sent, number, connections),
            name=f"fuzz-{number}",
            daemon=True,
        )
        for number in range(max(1, min(connections, len(indexes))))
    ]
    for thread in threads:
        thread.start()
    _wait(threads, sent, len(indexes), started, progress)
    sent.seconds = time.perf_counter() - started
    return sent


def _wait(
    threads: list[threading.Thread], sent: Sent, total: int, started: float, progress: bool
) -> None:
    """Join the threads, printing how far they got (stderr) every 10 seconds."""
    shown = time.perf_counter()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)
            if progress and time.perf_counter() - shown >= 10:
                shown = time.perf_counter()
                rate = sent.done / (shown - started)
                print(f"  {sent.done:,} / {total:,} sent, {rate:,.0f}/s", file=sys.stderr)


def _run(
    base_url: str,
    make: Callable[[int], Case],
    indexes: list[int],
    sent: Sent,
    number: int,
    step: int,
) -> None:
    conn = connect(base_url)
    path = webhook_path(base_url)
    try:
        for position in range(number, len(indexes), step):
            case = make(indexes[position])
            status, resent = _post(conn, path, case)
            outcome = Outcome(
                case.index, case.kind, case.source, len(case.body), case.note, case.expected, status
            )
            with sent.lock:
                sent.outcomes[position] = outcome
                sent.done += 1
                sent.resent += resent
    finally:
        conn.close()


def _post(conn: http.client.HTTPConnection, path: str, case: Case) -> tuple[int, int]:
    """The status of the case's POST, and 1 if it was sent a second time."""
    headers = {"Content-Type": "application/json"}
    if case.signature is not None:
        headers[SIGNATURE_HEADER] = case.signature
    for attempt in (0, 1):
        try:
            return _exchange(conn, path, case.body, headers), attempt
        except (http.client.HTTPException, OSError):
            conn.close()
    return NO_ANSWER, 1


def _exchange(
    conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]
) -> int:
    try:
        conn.request("POST", path, body=body, headers=headers)
    except OSError:
        pass  # cut off while sending: the server may have answered already (a 413)
    response = conn.getresponse()
    response.read()
    if response.status == 413:
        conn.close()  # its body may be unread, and gunicorn drains at most 64 KiB of it
    return response.status
