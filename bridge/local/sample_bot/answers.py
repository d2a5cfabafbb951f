"""The sample bot's answers: the messages and cards for each intent, in the user's language,
within Lex's limits (a message's length, the buttons on a card, a paged list).

``Ask`` is one input as the intents see it, ``Answer`` what the bot says to it and what it
changes in the dialog's state. Pure apart from the reads from ``Conditions``; standard library
only, like the rest of the dialog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.local.sample_bot.conditions import Condition, Conditions, Lang, Overview, Symptom
from bridge.local.sample_bot.matching import Slot
from bridge.local.sample_bot.session import State
from bridge.local.sample_bot.turn import SlotValue, card, plain
from bridge.local.sample_bot.wording import (
    BUTTONS_MAX,
    CONTENT_MAX,
    MENU,
    PAGE_SIZE,
    QUOTE_MAX,
    TEXT,
    clip,
    pages,
)
from bridge.messenger.text import utf16_len

POPULAR_CONDITIONS = ("Common cold", "Influenza", "COVID-19", "Strep throat", "Migraine")
COMMON_SYMPTOMS = ("fever", "cough", "headache", "sore throat", "nausea")


@dataclass(frozen=True)
class Ask:
    """One input, as the intents see it."""

    text: str  # stripped
    clean: str  # clean(text)
    normal: str  # normalise(text)
    lang: Lang
    state: State
    turn: int  # the number of this turn
    asset_base: str
    store: Conditions
    overview: Overview


@dataclass(frozen=True)
class Answer:
    """What the bot answers to one input, and what it changes in the dialog's state."""

    intent: str
    messages: list[dict[str, Any]]
    pending: str = ""  # the slot to elicit next
    page: int | None = None  # the list page shown, if one was
    shown: tuple[str, ...] = ()  # diseases whose symptoms were shown
    slots: dict[str, SlotValue | None] = field(default_factory=dict)


def _note(ask: Ask) -> dict[str, Any]:
    """The data's note (general information, not medical advice), in the user's language."""
    return plain(ask.overview.note[ask.lang])


def _menu(lang: Lang) -> dict[str, Any]:
    return card(TEXT[lang]["menu"], buttons=MENU[lang])


def welcome(ask: Ask) -> Answer:
    return Answer("Welcome", [plain(TEXT[ask.lang]["greeting"]), _note(ask), _menu(ask.lang)])


def goodbye(ask: Ask) -> Answer:
    return Answer("Goodbye", [plain(TEXT[ask.lang]["goodbye"])])


def cancelled(ask: Ask) -> Answer:
    """The answer to "cancel": whatever was pending is dropped, the menu shown again."""
    return Answer("Welcome", [plain(TEXT[ask.lang]["cancelled"]), _menu(ask.lang)])


def image(ask: Ask, name: str) -> str | None:
    """The URL of one of the bot's pictures (None: cards without images)."""
    return f"{ask.asset_base}/{name}" if ask.asset_base else None


def _symptoms_button(condition: Condition, lang: Lang) -> tuple[str, str]:
    value = TEXT[lang]["symptoms_value"].format(name=condition.name(lang))
    return condition.label(lang), value


def _list_card(ask: Ask, page: int) -> dict[str, Any]:
    text, order = TEXT[ask.lang], ask.overview.order
    count = pages(len(order), PAGE_SIZE)
    shown = ask.store.conditions(order[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    buttons = [_symptoms_button(c, ask.lang) for c in shown]
    if page < count:
        buttons.append((text["more"], text["more_value"]))
    return card(
        text["list_title"].format(page=page, pages=count),
        subtitle=text["list_subtitle"],
        image_url=image(ask, "conditions.svg"),
        buttons=buttons,
    )


def condition_list(ask: Ask, page: int) -> Answer:
    """One page of the list of conditions, as a card of buttons."""
    return Answer("ListConditions", [_list_card(ask, page)], page=page)


def symptoms_of(ask: Ask, condition: Condition, said: str) -> Answer:
    text, lang = TEXT[ask.lang], ask.lang
    answer = text["symptoms_of"].format(
        name=condition.name(lang), symptoms=", ".join(condition.symptom_names(lang))
    )
    return Answer(
        "SymptomsOf",
        [
            plain(clip(answer, CONTENT_MAX)),
            _note(ask),
            card(text["anything_else"], buttons=MENU[lang][:2]),
        ],
        shown=(condition.disease,),
        slots={"Condition": SlotValue(said, condition.disease)},
    )


def _names(template: str, names: Sequence[str], more: str, **fields: str) -> str:
    """``template`` with as many of ``names`` as fit in a Lex message; the rest counted."""
    for shown in range(len(names), 0, -1):
        listed = ", ".join(names[:shown])
        if shown < len(names):
            listed += more.format(count=len(names) - shown)
        line = template.format(names=listed, **fields)
        if utf16_len(line) <= CONTENT_MAX:
            return line
    return clip(template.format(names="…", **fields), CONTENT_MAX)


def _causes_page(symptom: Symptom, lang: Lang, page: int) -> tuple[slice, str | None]:
    """The conditions on a page of the "See the symptoms of" card, and the value of its
    "More…" button (None on the last page)."""
    count = len(symptom.conditions)
    if count <= BUTTONS_MAX:
        return slice(0, count), None
    size = BUTTONS_MAX - 1
    if not 1 <= page <= pages(count, size):
        page = 1
    shown = slice((page - 1) * size, page * size)
    if page * size >= count:
        return shown, None
    value = TEXT[lang]["causes_value"].format(symptom=symptom.name(lang), page=page + 1)
    return shown, value


def causes(ask: Ask, symptom: Symptom, said: str, page: int = 1) -> Answer:
    text, lang = TEXT[ask.lang], ask.lang
    shown, more = _causes_page(symptom, lang, page)
    first_page = not shown.start  # the text names them all; a later page is the card alone
    read = ask.store.conditions(symptom.conditions if first_page else symptom.conditions[shown])
    on_card = read[shown] if first_page else read
    buttons = [_symptoms_button(c, lang) for c in on_card]
    if more is not None:
        buttons.append((text["more"], more))
    see = card(text["see_symptoms"], buttons=buttons)
    slots: dict[str, SlotValue | None] = {"Symptom": SlotValue(said, symptom.symptom)}
    if not first_page:
        return Answer("MatchSymptom", [see], slots=slots)
    names = [c.name(lang) for c in read]
    answer = _names(text["causes"], names, text["and_more"], symptom=symptom.name(lang))
    return Answer("MatchSymptom", [plain(answer), _note(ask), see], slots=slots)


def _choices(ask: Ask, slot: Slot) -> dict[str, Any]:
    """The quick replies offered when a slot is elicited."""
    return choices(ask.store, slot, ask.lang)


def choices(store: Conditions, slot: Slot, lang: Lang) -> dict[str, Any]:
    """The card offered when ``slot`` is elicited: popular conditions or common symptoms
    (also the slot prompts of the AWS example's bot definition)."""
    if slot == "Condition":
        conditions = store.conditions(POPULAR_CONDITIONS)
        buttons = [(c.label(lang), c.name(lang)) for c in conditions]
        return card(TEXT[lang]["pick_condition"], buttons=buttons)
    names = [s.name(lang) for s in store.symptoms(COMMON_SYMPTOMS)]
    return card(TEXT[lang]["pick_symptom"], buttons=[(n[:1].upper() + n[1:], n) for n in names])


def question(slot: Slot, lang: Lang) -> str:
    """What the bot asks when ``slot`` is elicited."""
    return TEXT[lang]["which_condition" if slot == "Condition" else "which_symptom"]


def elicit(ask: Ask, slot: Slot) -> Answer:
    intent = "SymptomsOf" if slot == "Condition" else "MatchSymptom"
    messages = [plain(question(slot, ask.lang)), _choices(ask, slot)]
    return Answer(intent, messages, pending=slot, slots={slot: None})


def unknown_condition(ask: Ask, name: str) -> Answer:
    said = TEXT[ask.lang]["unknown_condition"].format(name=clip(name, QUOTE_MAX))
    return Answer(
        "SymptomsOf",
        [plain(said), _list_card(ask, 1)],
        page=1,
        slots={"Condition": None},
    )


def unknown_symptom(ask: Ask, name: str) -> Answer:
    said = TEXT[ask.lang]["unknown_symptom"].format(name=clip(name, QUOTE_MAX))
    return Answer(
        "MatchSymptom",
        [plain(said), _choices(ask, "Symptom")],
        pending="Symptom",
        slots={"Symptom": None},
    )


def fallback(ask: Ask) -> Answer:
    template = TEXT[ask.lang]["fallback"]
    room = CONTENT_MAX - utf16_len(template.format(input=""))
    return Answer("FallbackIntent", [plain(template.format(input=clip(ask.text, room)))])
