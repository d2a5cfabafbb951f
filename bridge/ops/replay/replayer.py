"""``python -m bridge replay``: post recorded webhook bodies to a bridge, signed, and show what
it did.

Each file is one raw webhook body. Its bytes are sent unchanged (never re-serialised: the
signature covers them exactly) with ``X-Hub-Signature-256`` as Meta computes it. Against a
bridge in local mode each event is then followed to a final queue state and what the bridge
sent back is read from the local Graph inbox.

Everything but :class:`Replayer` (the HTTP) and :func:`run` (the printing) is pure: finding
files, checking bodies, URLs, signing, pacing, summaries and formatting.
"""

from __future__ import annotations

import codecs
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import click
import requests

from bridge import __version__
from bridge.config.hosts import is_loopback_url
from bridge.config.settings import LOCAL_APP_SECRET, LOCAL_PREFIX
from bridge.errors import NotAWebhookBody, ReplayError
from bridge.messenger.events import dedupe_key, meta_bytes, parse_webhook
from bridge.messenger.signature import SIGNATURE_HEADER, sign
from bridge.ops.chat import describe

FINAL_STATES = frozenset({"done", "dropped", "dead"})
# Answered 200 but no job: the bridge left the event out (an entry for another Page).
NOT_QUEUED = "not_queued"
POLL_INTERVAL = 0.05
REQUEST_TIMEOUT = 10.0
PROGRESS_MIN = 20  # more deliveries than this is a long run: show a progress bar
KEY_WIDTH = 24
_SKIPPED_NAMES = ("index.json",)
_EXPECTATION_SUFFIX = ".expected.json"


# --- files and bodies -------------------------------------------------------------------------


def find_files(paths: Sequence[Path]) -> list[Path]:
    """The files to send, in order: files as named, and each directory's ``*.json`` sorted by
    name, without expectation files (``*.expected.json``) and an index (``index.json``; an
    ``index.jsonl`` is not ``*.json``). Raises ValueError for a directory with none."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        bodies = sorted(
            (
                child
                for child in path.glob("*.json")
                if child.is_file()
                and not child.name.endswith(_EXPECTATION_SUFFIX)
                and child.name not in _SKIPPED_NAMES
            ),
            key=lambda child: child.name,
        )
        if not bodies:
            raise ValueError(f"no webhook bodies (*.json) in {path}")
        found.extend(bodies)
    return found


@dataclass(frozen=True, slots=True)
class EventRef:
    """One event the bridge hands to the bot: its queue key and who sent it."""

    key: str
    sender: str


@dataclass(frozen=True, slots=True)
class Body:
    """A webhook body to send: the exact bytes, its events and the items the bridge skips."""

    data: bytes
    events: tuple[EventRef, ...]
    skipped: tuple[str, ...]

    @property
    def senders(self) -> list[str]:
        return list(dict.fromkeys(event.sender for event in self.events))


def load_body(data: bytes) -> Body:
    """Check that ``data`` is a webhook body (UTF-8 JSON, an object with ``"object"`` and an
    ``"entry"`` list) and read its events; raises NotAWebhookBody saying why not."""
    if not data.strip():
        raise NotAWebhookBody("empty file")
    if data.startswith(codecs.BOM_UTF8):
        raise NotAWebhookBody("starts with a byte-order mark, which Meta never sends")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotAWebhookBody(
            f"not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotAWebhookBody(
            f"not JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(decoded, dict):
        raise NotAWebhookBody(f"not a webhook body: the top level is {_json_type(decoded)}")
    if "object" not in decoded:
        raise NotAWebhookBody('not a webhook body: no "object" field')
    if "entry" not in decoded:
        raise NotAWebhookBody('not a webhook body: no "entry" list')
    if not isinstance(decoded["entry"], list):
        raise NotAWebhookBody(
            f'not a webhook body: "entry" is {_json_type(decoded["entry"])}, not a list'
        )
    parsed = parse_webhook(decoded)  # every Page: the server's own filter shows as not_queued
    events = dict.fromkeys(EventRef(dedupe_key(event), event.sender_id) for event in parsed.events)
    return Body(data, tuple(events), tuple(skip.reason for skip in parsed.skipped))


def retime(data: bytes, now_ms: int) -> bytes:
    """Shift every ``time``/``timestamp`` so the newest is ``now_ms``, keeping the gaps, and
    serialise as Meta does. For recordings older than the bridge answers (24 h by default);
    the bytes change, so the body is signed anew like any other. Not JSON: returned as is."""
    try:
        decoded = json.loads(data)
    except ValueError:
        return data
    stamps = list(_stamps(decoded))
    if not stamps:
        return data
    shift = now_ms - max(_as_ms(value) for _, _, value in stamps)
    for holder, name, value in stamps:
        moved = _as_ms(value) + shift
        holder[name] = str(moved) if isinstance(value, str) else moved
    return meta_bytes(decoded)


def _stamps(body: object) -> Iterator[tuple[dict[str, Any], str, int | str]]:
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        holders = [entry] + [
            item
            for key in ("messaging", "standby")
            for item in (entry.get(key) or [])
            if isinstance(item, dict)
        ]
        for holder in holders:
            for name in ("time", "timestamp"):
                value = holder.get(name)
                if (isinstance(value, int) and not isinstance(value, bool)) or (
                    isinstance(value, str) and value.isascii() and value.isdigit()
                ):
                    yield holder, name, value


def _as_ms(value: int | str) -> int:
    number = int(value)
    return number * 1000 if number < 10**11 else number  # seconds, as in some Meta samples


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


# --- URLs and signing -------------------------------------------------------------------------


def webhook_url(url: str) -> str:
    """The webhook endpoint for ``--url``: ``/webhook`` appended unless it ends with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url must be an http:// or https:// URL, not {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"--url has a bad port: {url!r}") from None
    path = parts.path.rstrip("/")
    if not path.endswith("/webhook"):
        path += "/webhook"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def local_url(webhook: str, endpoint: str) -> str:
    """A local-mode endpoint (``status``, ``graph/inbox``) beside a webhook URL."""
    parts = urlsplit(webhook)
    root = parts.path.removesuffix("/webhook")
    return urlunsplit((parts.scheme, parts.netloc, f"{root}{LOCAL_PREFIX}/{endpoint}", "", ""))


def choose_secret(given: str | None, url: str) -> str:
    """``--secret`` (or FB_APP_SECRET), else the local-mode secret for a loopback URL only."""
    if given:
        return given
    if is_loopback_url(url):
        return LOCAL_APP_SECRET
    raise ValueError(
        "no app secret to sign with: pass --secret or set FB_APP_SECRET "
        "(the local-mode secret is only used for a loopback --url)"
    )


def request_headers(data: bytes, secret: str) -> dict[str, str]:
    """The headers Meta sends with a delivery, the signature computed over ``data`` exactly."""
    return {
        "Content-Type": "application/json",
        "User-Agent": f"messenger-lex-bridge-replay/{__version__}",
        SIGNATURE_HEADER: sign(secret, data),
    }


# --- pacing and summaries ---------------------------------------------------------------------


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


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (``p`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class EventState:
    key: str
    sender: str
    state: str | None = None  # None: not followed (no local bridge, --no-wait, or refused)


@dataclass
class Outcome:
    """What happened to one delivery attempt, or to a file that could not be sent."""

    file: str
    attempt: int | None  # None: the file was not sent (not a webhook body)
    status: int | None = None  # None: not sent, or no answer
    latency_ms: float | None = None
    error: str | None = None
    events: list[EventState] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)  # Send API bodies, in order
    followed: bool = False
    timed_out: bool = False

    @property
    def accepted(self) -> bool:
        return self.status == 200


@dataclass(frozen=True, slots=True)
class Summary:
    sent: int  # POSTs attempted
    accepted: int  # answered 200
    refused: int  # answered anything else
    failed: int  # no answer (connection error, timeout)
    invalid: int  # files that are not webhook bodies (not sent)
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    states: dict[str, int]  # final job states of followed events
    unfinished: int  # followed deliveries whose events were not final by --wait
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return (
            not self.interrupted
            and self.invalid == 0
            and self.sent > 0
            and self.accepted == self.sent
        )


def summarise(outcomes: Iterable[Outcome], *, interrupted: bool = False) -> Summary:
    outcomes = list(outcomes)
    sent = [o for o in outcomes if o.attempt is not None]
    latencies = [o.latency_ms for o in sent if o.latency_ms is not None and o.status is not None]
    states = Counter(
        event.state for o in outcomes if o.followed for event in o.events if event.state
    )
    return Summary(
        sent=len(sent),
        accepted=sum(1 for o in sent if o.accepted),
        refused=sum(1 for o in sent if o.status is not None and not o.accepted),
        failed=sum(1 for o in sent if o.status is None),
        invalid=len(outcomes) - len(sent),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        max_ms=max(latencies, default=None),
        states=dict(sorted(states.items())),
        unfinished=sum(1 for o in outcomes if o.timed_out),
        interrupted=interrupted,
    )


def wants_progress(total: int, *, as_json: bool, stderr_tty: bool) -> bool:
    """A progress bar for long runs, unless --json output goes to a non-terminal stderr."""
    return total > PROGRESS_MIN and (stderr_tty or not as_json)


# --- formatting -------------------------------------------------------------------------------


def outcome_json(outcome: Outcome) -> str:
    """One JSON line for a delivery attempt (or a file that was not sent)."""
    return json.dumps(
        {
            "file": outcome.file,
            "attempt": outcome.attempt,
            "status": outcome.status,
            "latency_ms": outcome.latency_ms,
            "error": outcome.error,
            "events": [
                {"key": e.key, "sender": e.sender, "state": e.state} for e in outcome.events
            ],
            "skipped": outcome.skipped,
            "replies": outcome.replies,
            "followed": outcome.followed,
            "timed_out": outcome.timed_out,
        },
        ensure_ascii=False,
    )


def summary_json(summary: Summary) -> str:
    return json.dumps(
        {
            "summary": {
                "sent": summary.sent,
                "accepted": summary.accepted,
                "refused": summary.refused,
                "failed": summary.failed,
                "invalid": summary.invalid,
                "latency_ms": {"p50": summary.p50_ms, "p95": summary.p95_ms, "max": summary.max_ms},
                "states": summary.states,
                "unfinished": summary.unfinished,
                "interrupted": summary.interrupted,
                "ok": summary.ok,
            }
        }
    )


def format_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def short_key(key: str) -> str:
    return key if len(key) <= KEY_WIDTH else key[: KEY_WIDTH - 1] + "…"


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def _skipped_note(reasons: Sequence[str]) -> str:
    counts = Counter(reasons)
    return "skipped: " + ", ".join(
        reason if count == 1 else f"{reason} ×{count}" for reason, count in counts.items()
    )


def format_outcome(outcome: Outcome, *, width: int = 0, repeat: int = 1) -> list[str]:
    """Terminal lines for a delivery attempt: file, attempt (if ``repeat`` > 1), status,
    latency, then (when followed) each sender's jobs and the replies, rendered as
    ``bridge chat`` shows them (sender actions left out)."""
    name = outcome.file.ljust(width)
    if repeat > 1:
        name += f" #{outcome.attempt or '-':<{len(str(repeat))}}"
    status = "---" if outcome.status is None else str(outcome.status)
    notes: list[str] = []
    if outcome.error:
        notes.append(outcome.error)
    elif not outcome.accepted:
        notes.append("refused")
    if outcome.events:
        notes.append(_plural(len(outcome.events), "event"))
    if outcome.skipped:
        notes.append(_skipped_note(outcome.skipped))
    lines = [f"{name}  {status:>3}  {format_ms(outcome.latency_ms):>8}  {'  '.join(notes)}"]
    if not outcome.followed:
        return [lines[0].rstrip()]
    for sender in dict.fromkeys(event.sender for event in outcome.events):
        jobs = ", ".join(
            f"{short_key(e.key)} {e.state or '?'}" for e in outcome.events if e.sender == sender
        )
        lines.append(f"  {sender}  {jobs}")
        said = [
            line
            for body in outcome.replies
            if (body.get("recipient") or {}).get("id") == sender and "message" in body
            for line in describe(body)[0]
        ]
        lines.extend(f"    {line}" for line in said or ["(no reply)"])
    if outcome.timed_out:
        lines.append("  (not finished within the --wait time)")
    return lines


def format_summary(summary: Summary) -> list[str]:
    lines = [
        f"sent {summary.sent}: {summary.accepted} accepted, {summary.refused} refused, "
        f"{summary.failed} failed to send"
        + (f"; {_plural(summary.invalid, 'file')} not a webhook body" if summary.invalid else "")
    ]
    if summary.p50_ms is not None:
        lines.append(
            f"latency p50 {format_ms(summary.p50_ms)}, p95 {format_ms(summary.p95_ms)}, "
            f"max {format_ms(summary.max_ms)}"
        )
    if summary.states or summary.unfinished:
        states = ", ".join(f"{count} {state}" for state, count in summary.states.items())
        unfinished = (
            f" ({_plural(summary.unfinished, 'delivery')} not finished in time)"
            if summary.unfinished
            else ""
        )
        lines.append(f"jobs: {states or 'none'}{unfinished}")
    if summary.interrupted:
        lines.append("interrupted")
    return lines


# --- I/O ----------------------------------------------------------------------------------------


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
            data = path.read_bytes()
            if self.retime:
                data = retime(data, int(time.time() * 1000))
            body = load_body(data)
        except (OSError, NotAWebhookBody) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            yield Outcome(name, None, error=reason or type(error).__name__)
            return
        cursors: dict[str, int] | None = None
        problem = None
        if self.local and self.wait is not None and body.events:
            try:
                cursors = {sender: self._cursor(sender) for sender in body.senders}
            except (requests.RequestException, ValueError, KeyError) as error:
                problem = f"could not follow: {type(error).__name__}"
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
            except (requests.RequestException, ValueError, KeyError) as error:
                problem = f"could not follow: {type(error).__name__}"
        last.error = last.error or problem
        yield last

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


def run(
    paths: Sequence[Path],
    replayer: Replayer,
    *,
    as_json: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Replay ``paths`` (files, already found) and print; returns the exit code (0 if every
    delivery was answered 200, else 1)."""
    out = out or sys.stdout
    err = err or sys.stderr
    total = len(paths) * replayer.repeat
    try:
        local = replayer.probe()
    except ReplayError as error:
        click.echo(f"error: {error}", file=err)
        return 1
    mode = (
        f"following each event for up to {replayer.wait:g} s"
        if local
        else "statuses only: --no-wait"
        if replayer.wait is None
        else "statuses only: not a bridge in local mode"
    )
    click.echo(
        f"replaying {_plural(len(paths), 'file')} ({_plural(total, 'delivery')}) to "
        f"{replayer.url}; {mode}",
        file=err,
    )
    names = [str(path) for path in paths]
    width = min(max(map(len, names), default=0), 48)
    erase = "\r\x1b[2K" if err.isatty() else ""
    outcomes: list[Outcome] = []
    interrupted = False
    with click.progressbar(
        length=total,
        label="replaying",
        file=err,
        hidden=not wants_progress(total, as_json=as_json, stderr_tty=err.isatty()),
    ) as bar:
        try:
            for path, name in zip(paths, names, strict=True):
                for outcome in replayer.replay(path, name):
                    outcomes.append(outcome)
                    if erase and not bar.hidden:
                        err.write(erase)
                    if outcome.attempt is None:
                        click.echo(f"error: {name}: {outcome.error}", file=err)
                    if as_json:
                        click.echo(outcome_json(outcome), file=out)
                    elif outcome.attempt is not None:
                        for line in format_outcome(outcome, width=width, repeat=replayer.repeat):
                            click.echo(line, file=out)
                    bar.update(replayer.repeat if outcome.attempt is None else 1)
        except KeyboardInterrupt:
            interrupted = True
    summary = summarise(outcomes, interrupted=interrupted)
    if as_json:
        click.echo(summary_json(summary), file=out)
    else:
        for line in format_summary(summary):
            click.echo(line, file=out)
    return 0 if summary.ok else 1
