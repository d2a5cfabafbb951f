"""Seeded fault decisions for the fakes: which call fails, the same way in every run.

A call's fate is drawn from a hash of the seed, the call's own bytes (a Send API body, a Lex
session and text) and how many identical calls came before it, not from the order calls
arrive in: with one seed the first send of a reply fails in every run, and its retry (the
same bytes, one more before it) gets a draw of its own. ``draw`` maps that to [0, 1);
``graph_fault`` and ``lex_fault`` turn a draw into what the fake does. Pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Graph's error bodies for a failed send (messenger.md §6: both mean "retry with backoff").
GRAPH_5XX = {
    500: {"message": "An unknown error occurred", "type": "OAuthException", "code": 1},
    503: {
        "message": "An unexpected error has occurred. Please retry your request later.",
        "type": "OAuthException",
        "code": 2,
    },
}
HOLD = "hold"
THROTTLE = "throttle"


@dataclass(frozen=True)
class GraphFaults:
    """Shares of Send API calls answered 5xx (500 or 503, half each) and held."""

    error_rate: float = 0.0
    hold_rate: float = 0.0
    seed: int = 7


def draw(seed: int, key: bytes, nth: int) -> float:
    """A number in [0, 1) fixed by the seed, the call's bytes and its count of predecessors."""
    digest = hashlib.blake2b(key, digest_size=8, salt=nth.to_bytes(8, "big"))
    digest.update(seed.to_bytes(8, "big", signed=True))
    return int.from_bytes(digest.digest(), "big") / 2**64


def graph_fault(faults: GraphFaults, key: bytes, nth: int) -> int | str | None:
    """What the Graph fake does with this call: a 5xx status, ``HOLD`` or None (answer it)."""
    value = draw(faults.seed, key, nth)
    if value < faults.error_rate:
        return 500 if value < faults.error_rate / 2 else 503
    if value < faults.error_rate + faults.hold_rate:
        return HOLD
    return None


def lex_fault(throttle_rate: float, seed: int, key: bytes, nth: int) -> str | None:
    """``THROTTLE`` for a Lex call the fake answers 429 ThrottlingException, else None."""
    return THROTTLE if draw(seed, key, nth) < throttle_rate else None
