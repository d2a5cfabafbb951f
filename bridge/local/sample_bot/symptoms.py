"""The sample bot: a symptom checker over a small bilingual (English/Korean) table of common
conditions (rows keyed by ``Disease`` with a ``Symptoms`` list: ``data/conditions.json`` in local
mode, a DynamoDB table on AWS).

One dialog, two front doors: the local Lex endpoint calls ``respond`` with the text alone; the
AWS example's Lambda code hook (``examples/symptom_bot``) calls it with what Lex understood as
a ``Hint``. Either way the same rules read the text first, so what works locally works on AWS;
Lex's intent and slot value answer what the rules do not know. The data is read through
``Conditions`` (bridge/local/sample_bot/conditions.py): the shipped file here, DynamoDB by key
there.

``respond`` is pure apart from those reads: one input and the session attributes in, a ``Turn``
out; the caller stores the session. Standard library only, so a Lambda code hook can carry it.
This module is the dialog's flow; its parts are beside it: what the user may say
(matching.py), the state in the session attributes (session.py: ``lang``, ``turns``,
``pending``, ``history``, ``page``), the answers (answers.py) in the bot's words (wording.py),
and the diagnostics (diagnostics.py).

Intents: Welcome, ListConditions, SymptomsOf (slot Condition), MatchSymptom (slot Symptom),
Goodbye, FallbackIntent, and Diagnostics (``#card``, ``#long``, ``#turns``, ``#ssml``: one of
each rendering path, for tests and bot authors). Every list stays within Lex's limits: the
condition list and the conditions causing a symptom are paged behind a "More…" button.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bridge.local.sample_bot.answers import (
    Answer,
    Ask,
    cancelled,
    causes,
    condition_list,
    elicit,
    fallback,
    goodbye,
    symptoms_of,
    unknown_condition,
    unknown_symptom,
    welcome,
)
from bridge.local.sample_bot.conditions import (
    DATA_FILE,
    SYMPTOM_WORD,
    Condition,
    Conditions,
    Symptom,
    build_catalog,
    catalog,
    clean,
    is_korean,
    key,
    lookup_keys,
    normalise,
)
from bridge.local.sample_bot.diagnostics import diagnostic
from bridge.local.sample_bot.matching import (
    CANCEL,
    CAUSES_PATTERNS,
    CHECK_SYMPTOM,
    GOODBYE,
    LEADING_ARTICLE,
    LIST,
    MORE,
    NAME_SYMPTOMS,
    RULES,
    WELCOME,
    Slot,
    language,
)
from bridge.local.sample_bot.session import (
    State,
    read_state,
    remember,
    remembered_lang,
    write_state,
)
from bridge.local.sample_bot.turn import SlotValue, Turn, plain
from bridge.local.sample_bot.wording import PAGE_SIZE, TEXT, pages

__all__ = [
    "DATA_FILE",
    "Hint",
    "build_catalog",
    "catalog",
    "is_korean",
    "key",
    "respond",
    "unavailable",
]


@dataclass(frozen=True)
class Hint:
    """What Lex understood, from the AWS front door: the intent it chose and, for SymptomsOf
    and MatchSymptom, the slot's value (None: not filled). Used when the rules understand
    nothing in the text."""

    intent: str
    slot: SlotValue | None = None


def respond(
    text: str,
    session: Mapping[str, str],
    *,
    asset_base: str,
    store: Conditions | None = None,
    hint: Hint | None = None,
) -> Turn:
    """One turn of the symptom checker; pure apart from the reads from ``store`` (the shipped
    file unless given): the caller stores the session. An empty ``asset_base`` means cards
    without images."""
    ask = _ask(text, session, asset_base, catalog() if store is None else store)
    answer = _answer(ask, hint)
    state = ask.state
    after = State(
        lang=ask.lang,
        turns=ask.turn,
        pending=answer.pending,
        history=remember(state.history, answer.shown),
        page=state.page if answer.page is None else answer.page,
    )
    return Turn(
        answer.intent,
        answer.messages,
        write_state(session, after),
        elicit=answer.pending or None,
        slots=answer.slots,
    )


def _ask(text: str, session: Mapping[str, str], asset_base: str, store: Conditions) -> Ask:
    """The input and the state it arrives in, as the intents see them."""
    overview = store.overview()
    state = read_state(session, overview)
    stripped = text.strip()
    return Ask(
        text=stripped,
        clean=clean(stripped),
        normal=normalise(stripped),
        lang=language(stripped, state.lang),
        state=state,
        turn=state.turns + 1,
        asset_base=asset_base.rstrip("/"),
        store=store,
        overview=overview,
    )


def unavailable(text: str, session: Mapping[str, str]) -> Turn:
    """The turn for when the data cannot be read: an apology in the user's language, the
    session unchanged."""
    lang = language(text.strip(), remembered_lang(session))
    return Turn("FallbackIntent", [plain(TEXT[lang]["unavailable"])], dict(session))


def _answer(ask: Ask, hint: Hint | None) -> Answer:
    diagnosed = diagnostic(ask)
    if diagnosed is not None:
        return diagnosed
    if ask.normal in CANCEL:
        return cancelled(ask)
    understood = _understand(ask)
    if understood is None and hint is not None:
        understood = _from_hint(ask, hint)
    if understood is not None:
        return understood
    # While a slot is pending, what was not understood is taken as the slot's value.
    if ask.state.pending == "Condition":
        return unknown_condition(ask, ask.text)
    if ask.state.pending == "Symptom":
        return unknown_symptom(ask, ask.text)
    return fallback(ask)


def _understand(ask: Ask) -> Answer | None:
    """The intent the input expresses, or None."""
    if ask.normal in WELCOME:
        return welcome(ask)
    if ask.normal in GOODBYE:
        return goodbye(ask)
    if ask.normal in LIST:
        return condition_list(ask, 1)
    if ask.normal in MORE:
        count = pages(len(ask.overview.order), PAGE_SIZE)
        return condition_list(ask, ask.state.page + 1 if 0 < ask.state.page < count else 1)
    if ask.normal in CHECK_SYMPTOM:
        return elicit(ask, "Symptom")
    if ask.normal in NAME_SYMPTOMS:
        return elicit(ask, "Condition")
    for pattern in CAUSES_PATTERNS:
        match = pattern.fullmatch(ask.clean)
        if match:
            return _about(ask, match.group("s"), "Symptom", page=int(match.group("p") or 1))
    for patterns, group, slot in RULES:
        for pattern in patterns:
            match = pattern.fullmatch(ask.clean)
            if match:
                return _about(ask, match.groupdict().get(group) or "", slot)
    found = ask.store.find(lookup_keys(ask.clean))
    return None if found is None else _named(ask, found, ask.clean)


def _from_hint(ask: Ask, hint: Hint) -> Answer | None:
    """The answer for the intent Lex chose, or None (its fallback: the rules go on)."""
    if hint.intent == "Welcome":
        return welcome(ask)
    if hint.intent == "Goodbye":
        return goodbye(ask)
    if hint.intent == "ListConditions":
        return condition_list(ask, 1)
    if hint.intent in ("SymptomsOf", "MatchSymptom"):
        slot: Slot = "Condition" if hint.intent == "SymptomsOf" else "Symptom"
        if hint.slot is None and ask.state.pending == slot and ask.text:
            return None  # Lex did not fill the slot it was asked for: the answer is the text
        if hint.slot is None:
            return elicit(ask, slot)
        keys = lookup_keys(hint.slot.interpreted)
        keys += [k for k in lookup_keys(hint.slot.original) if k not in keys]
        return _about(ask, hint.slot.original, slot, keys=keys)
    return None


def _about(
    ask: Ask, phrase: str, slot: Slot, *, page: int = 1, keys: Sequence[str] | None = None
) -> Answer:
    """The answer for a phrase naming a condition or a symptom (``slot`` says which was
    expected, for when it names neither); ``keys`` replace the phrase's own lookup keys."""
    found = ask.store.find(lookup_keys(phrase) if keys is None else keys)
    if found is not None:
        return _named(ask, found, phrase, page=page)
    if not key(SYMPTOM_WORD.sub("", phrase)):
        return elicit(ask, slot)
    said = LEADING_ARTICLE.sub("", phrase)  # "I have a zzz": quote "zzz"
    if slot == "Condition":
        return unknown_condition(ask, said)
    return unknown_symptom(ask, said)


def _named(ask: Ask, found: Condition | Symptom, said: str, *, page: int = 1) -> Answer:
    if isinstance(found, Condition):
        return symptoms_of(ask, found, said)
    return causes(ask, found, said, page)
