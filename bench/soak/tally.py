"""The soak's accounting: was every acked message answered, once, in order? Pure.

The Lex fake answers ``echo: <text>``, and each message's text is unique (``s17 m5``), so
every reply the Graph fake accepted maps to the message it answers. A message is **lost** when
it was acked but its reply never reached Graph; **duplicated** when its reply reached Graph
more than once; **out of order** when its reply reached its sender after the reply to a later
message of theirs (first copies only: a duplicate is counted as such, not twice).

A duplicate is *ambiguous* — one the bridge could not have avoided — when each copy but the
last was a send whose outcome the bridge could not know: one the Graph fake held past the
client's timeout (it lists those), or one Graph accepted within ``KILL_WINDOW`` before a
``kill -9`` or while the server was down after it (the send ledger's window, README "Delivery
guarantees": the process died between Graph's answer and its record). Any other duplicate
misses the target. The same rule judges a Lex turn run twice for one message: only a turn cut
off by the kill -9 may run again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KILL_WINDOW = 1.0  # seconds before a kill -9 in which an unrecorded send counts as ambiguous
HELD = "held past the timeout"
AT_KILL = "at the kill -9"
KILL = "kill -9"
_ECHO = re.compile(r"^echo: (?P<text>s(?P<sender>\d+) m(?P<number>\d+))$")


@dataclass(frozen=True)
class Outage:
    """The server stopped by ``kind`` (``kill -9`` or ``SIGTERM``) at ``at``, serving again at
    ``up`` (``time.time()`` both); ``stopped``: when its last process had exited."""

    kind: str
    at: float
    up: float
    stopped: float


@dataclass(frozen=True)
class Written:
    """A message as Meta delivered it: its text and whether a post of it was acked."""

    text: str
    acked: bool


@dataclass(frozen=True)
class Repeat:
    """A message answered (or a Lex turn run) ``copies`` times; ``causes``: why each copy but
    the last was ambiguous, or empty when one of them was not; ``before_kill``: for a copy
    judged at the kill -9, how long before the signal it went out (negative: after it, from a
    call in flight)."""

    text: str
    copies: int
    causes: tuple[str, ...]
    before_kill: float | None = None

    @property
    def ambiguous(self) -> bool:
        return bool(self.causes)


@dataclass(frozen=True)
class Tally:
    sent: int
    acked: int
    unacked: list[str]  # written, never acked (Meta gave up)
    lost: list[str]  # acked, never answered
    duplicates: list[Repeat]
    out_of_order: list[str]  # replies that reached their sender after a later message's
    unexpected: list[str]  # replies that answer no message written (a fallback text, say)
    repeated_turns: list[Repeat]  # Lex turns run more than once for one message


def echoed(reply: str) -> str | None:
    """The message text a reply answers (``echo: s17 m5`` → ``s17 m5``), None for any other."""
    match = _ECHO.match(reply)
    return match["text"] if match else None


def _number(text: str) -> int:
    return int(text.rsplit(" m", 1)[1])


def _kill_of(at: float, kills: Sequence[Outage], window: float) -> Outage | None:
    """The kill -9 whose window ``at`` falls in: up to ``window`` before it, or while down."""
    return next((k for k in kills if k.at - window <= at <= k.up), None)


def _repeat(
    text: str, seen: list[tuple[float, bool]], kills: Sequence[Outage], window: float
) -> Repeat:
    """``text`` seen at these (time, held) moments, judged copy by copy (all but the last)."""
    causes: list[str] = []
    before: float | None = None
    for at, held in sorted(seen)[:-1]:
        kill = _kill_of(at, kills, window)
        if held:
            causes.append(HELD)
        elif kill is not None:
            causes.append(AT_KILL)
            before = kill.at - at
        else:
            return Repeat(text, len(seen), ())
    return Repeat(text, len(seen), tuple(dict.fromkeys(causes)), before)


def repeats(
    copies: Iterable[tuple[float, str, bool]], kills: Sequence[Outage], window: float
) -> list[Repeat]:
    """Texts seen more than once among ``copies`` (time, text, held), in order of first
    appearance, each judged: ambiguous when every copy but its last was."""
    by_text: dict[str, list[tuple[float, bool]]] = {}
    for at, text, held in copies:
        by_text.setdefault(text, []).append((at, held))
    return [_repeat(text, seen, kills, window) for text, seen in by_text.items() if len(seen) > 1]


def out_of_order(replies: Iterable[tuple[str, str]]) -> list[str]:
    """Message texts whose first reply (``(recipient, text)``, in arrival order) reached the
    recipient after the first reply to a later message of theirs."""
    highest: dict[str, int] = {}
    answered: set[str] = set()
    late = []
    for recipient, text in replies:
        if text in answered:
            continue
        answered.add(text)
        number = _number(text)
        if number < highest.get(recipient, 0):
            late.append(text)
        highest[recipient] = max(number, highest.get(recipient, 0))
    return late


def tally(
    written: Sequence[Written],
    replies: Sequence[tuple[float, str, str]],
    held: set[int],
    turns: Sequence[tuple[float, str, str]],
    outages: Sequence[Outage],
    window: float = KILL_WINDOW,
) -> Tally:
    """Account for ``written`` from the Graph fake's ``replies`` (time, recipient, reply text;
    ``held``: the indices it held) and the Lex fake's ``turns`` (time, session, text)."""
    kills = [o for o in outages if o.kind == KILL]
    texts = {m.text for m in written}
    acked = [m.text for m in written if m.acked]
    matched: list[tuple[int, float, str, str]] = []  # (index, time, recipient, message text)
    unexpected = []
    for index, (at, recipient, reply) in enumerate(replies):
        text = echoed(reply)
        if text is not None and text in texts:
            matched.append((index, at, recipient, text))
        else:
            unexpected.append(reply)
    got = {text for _, _, _, text in matched}
    return Tally(
        sent=len(written),
        acked=len(acked),
        unacked=[m.text for m in written if not m.acked],
        lost=[text for text in acked if text not in got],
        duplicates=repeats(((at, text, i in held) for i, at, _, text in matched), kills, window),
        out_of_order=out_of_order((to, text) for _, _, to, text in matched),
        unexpected=unexpected,
        repeated_turns=repeats(((at, text, False) for at, _, text in turns), kills, window),
    )
