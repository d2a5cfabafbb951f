"""The dialog's state, kept in Lex's session attributes.

Session attributes are Lex's string→string map; structured values are JSON, never Python
literals, and anything missing or malformed starts fresh. Keys the bot does not own are kept.
Standard library only, like the rest of the dialog.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from bridge.local.sample_bot.conditions import Lang, Overview
from bridge.local.sample_bot.wording import PAGE_SIZE, pages

HISTORY_SIZE = 5
COUNT_MAX = 10**12  # larger "turns" or "page" values are garbage


@dataclass(frozen=True)
class State:
    """The dialog state kept in the session attributes."""

    lang: Lang = "en"
    turns: int = 0
    pending: str = ""  # the slot being elicited, or ""
    history: tuple[str, ...] = ()
    page: int = 0


def _json(value: object) -> object:
    if not isinstance(value, str):
        return None
    try:
        parsed: object = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return parsed


def _count(value: object, limit: int = COUNT_MAX) -> int:
    number = _json(value)
    if isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= limit:
        return number
    return 0


def remembered_lang(session: Mapping[str, str]) -> Lang:
    return "ko" if session.get("lang") == "ko" else "en"


def read_state(session: Mapping[str, str], overview: Overview) -> State:
    """The state in ``session``; whatever is missing or malformed starts fresh."""
    pending = session.get("pending", "")
    history = _json(session.get("history"))
    known = set(overview.order)
    shown = (
        [d for d in history if isinstance(d, str) and d in known]
        if isinstance(history, list)
        else []
    )
    return State(
        lang=remembered_lang(session),
        turns=_count(session.get("turns")),
        pending=pending if pending in ("Condition", "Symptom") else "",
        history=tuple(shown[-HISTORY_SIZE:]),
        page=_count(session.get("page"), pages(len(overview.order), PAGE_SIZE)),
    )


def write_state(session: Mapping[str, str], state: State) -> dict[str, str]:
    """``session`` with the state written over the bot's keys (other keys are kept)."""
    return {
        **session,
        "lang": state.lang,
        "turns": json.dumps(state.turns),
        "pending": state.pending,
        "history": json.dumps(list(state.history), ensure_ascii=False, separators=(",", ":")),
        "page": json.dumps(state.page),
    }


def remember(history: tuple[str, ...], shown: tuple[str, ...]) -> tuple[str, ...]:
    """``history`` with the diseases just ``shown`` moved to its end, the oldest dropped."""
    kept = [d for d in history if d not in shown] + list(shown)
    return tuple(kept[-HISTORY_SIZE:])
