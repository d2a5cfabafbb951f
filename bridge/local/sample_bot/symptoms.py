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

Session attributes are Lex's string→string map; structured values are JSON, never Python
literals, and anything missing or malformed starts fresh:
``lang`` ("en"/"ko"), ``turns`` (JSON number), ``pending`` ("Condition", "Symptom" or ""),
``history`` (JSON list of the last diseases whose symptoms were shown), ``page`` (JSON number:
the last page of the condition list shown). Keys the bot does not own are kept.

Intents: Welcome, ListConditions, SymptomsOf (slot Condition), MatchSymptom (slot Symptom),
Goodbye, FallbackIntent, and Diagnostics (``#card``, ``#long``, ``#turns``, ``#ssml``: one of
each rendering path, for tests and bot authors). Every list stays within Lex's limits: the
condition list and the conditions causing a symptom are paged behind a "More…" button.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.local.sample_bot.conditions import (
    DATA_FILE,
    SYMPTOM_WORD,
    Condition,
    Conditions,
    Lang,
    Overview,
    Symptom,
    build_catalog,
    catalog,
    clean,
    is_korean,
    key,
    lookup_keys,
    normalise,
)
from bridge.local.sample_bot.turn import SlotValue, Turn, card, plain, ssml
from bridge.messenger.text import utf16_len

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

Slot = Literal["Condition", "Symptom"]

PAGE_SIZE = 4  # conditions per list card: with "More…", within Lex's 5 buttons
BUTTONS_MAX = 5  # Lex: buttons on a card
HISTORY_SIZE = 5
CONTENT_MAX = 1024  # Lex: a message's content, in UTF-16 code units
QUOTE_MAX = 100  # an unknown name quoted back is cut to this
COUNT_MAX = 10**12  # larger "turns" or "page" values are garbage
POPULAR_CONDITIONS = ("Common cold", "Influenza", "COVID-19", "Strep throat", "Migraine")
COMMON_SYMPTOMS = ("fever", "cough", "headache", "sore throat", "nausea")
LONG_PARAGRAPH = (
    "Messenger refuses a text of 2000 characters or more, so the bridge splits long answers "
    "at paragraph, sentence or word boundaries and sends the parts in order. "
)

TEXT: dict[Lang, dict[str, str]] = {
    "en": {
        "greeting": "Hi! I'm a symptom checker. I can list common conditions, tell you the usual "
        "symptoms of one, and show which conditions can cause a symptom.",
        "menu": "What would you like to do?",
        "anything_else": "Anything else?",
        "list_title": "Common conditions ({page}/{pages})",
        "list_subtitle": "Tap one to see its symptoms",
        "more": "More…",
        "more_value": "more",
        "symptoms_of": "Common symptoms of {name}: {symptoms}.",
        "symptoms_value": "symptoms of {name}",
        "which_condition": "Which condition?",
        "pick_condition": "Type a name or tap one:",
        "unknown_condition": "I don't know “{name}” yet.",
        "causes": "Conditions that can cause {symptom}: {names}.",
        "see_symptoms": "See the symptoms of:",
        "causes_value": "causes of {symptom}, page {page}",
        "and_more": " and {count} more",
        "which_symptom": "Which symptom?",
        "pick_symptom": "Type a symptom or tap one:",
        "unknown_symptom": "I don't know the symptom “{name}”.",
        "goodbye": "Take care, and I hope you feel well soon! Say “hi” any time to start again.",
        "cancelled": "OK, cancelled.",
        "unavailable": "Sorry, I can't look that up right now. Please try again in a moment.",
        "fallback": 'Sorry, I didn\'t understand "{input}". '
        'Try "list", "symptoms of flu" or "I have a fever".',
    },
    "ko": {
        "greeting": "안녕하세요! 저는 증상 안내 봇이에요. 흔한 질환 목록을 보여 드리고, 질환의 "
        "대표 증상과 어떤 증상이 어떤 질환에서 나타날 수 있는지 알려 드려요.",
        "menu": "무엇을 도와드릴까요?",
        "anything_else": "더 궁금한 것이 있으신가요?",
        "list_title": "흔한 질환 ({page}/{pages})",
        "list_subtitle": "눌러서 증상을 확인하세요",
        "more": "더 보기…",
        "more_value": "더 보기",
        "symptoms_of": "{name}의 흔한 증상: {symptoms}.",
        "symptoms_value": "{name} 증상",
        "which_condition": "어떤 질환인가요?",
        "pick_condition": "이름을 입력하거나 하나를 고르세요:",
        "unknown_condition": "아직 모르는 질환이에요: “{name}”.",
        "causes": "{symptom} 증상이 나타날 수 있는 질환: {names}.",
        "see_symptoms": "증상 보기:",
        "causes_value": "{symptom} 원인 {page}쪽",
        "and_more": " 외 {count}개",
        "which_symptom": "어떤 증상인가요?",
        "pick_symptom": "증상을 입력하거나 하나를 고르세요:",
        "unknown_symptom": "아직 모르는 증상이에요: “{name}”.",
        "goodbye": "몸 건강히 지내세요! 언제든 “안녕”이라고 하면 다시 시작할 수 있어요.",
        "cancelled": "취소했어요.",
        "unavailable": "죄송해요, 지금은 찾아볼 수 없어요. 잠시 후 다시 시도해 주세요.",
        "fallback": '죄송해요, 이해하지 못했어요: "{input}". '
        '"목록", "독감 증상" 또는 "열이 나요"라고 해 보세요.',
    },
}
MENU: dict[Lang, list[tuple[str, str]]] = {
    "en": [
        ("List conditions", "list"),
        ("Check a symptom", "check a symptom"),
        ("Symptoms of flu", "symptoms of flu"),
    ],
    "ko": [("질환 목록", "질환 목록"), ("증상 확인", "증상 확인"), ("독감 증상", "독감 증상")],
}

# What the user may say, compared after normalise(): case, punctuation and spacing ignored.
WELCOME = frozenset(
    {"hi", "hello", "hey", "help", "start", "get started", "menu", "hi there", "hello there"}
    | {"hey there", "what can you do", "안녕", "안녕하세요", "도움말", "도움", "시작", "메뉴"}
)
GOODBYE = frozenset(
    {"thanks", "thank you", "thanks a lot", "thank you very much", "thx", "ok thanks"}
    | {"okay thanks", "ok thank you", "bye", "goodbye", "good bye", "bye bye", "see you"}
    | {"고마워", "고마워요", "고맙습니다", "감사", "감사해요", "감사합니다", "안녕히"}
    | {"안녕히 가세요", "안녕히 계세요", "잘 있어", "잘 있어요"}
)
LIST = frozenset(
    {"list", "conditions", "list conditions", "list the conditions", "list all conditions"}
    | {"show conditions", "all conditions", "common conditions", "목록", "질환 목록"}
    | {"질병 목록", "질환", "질병", "질환 보기"}
)
MORE = frozenset({"more", "more conditions", "next", "next page", "더 보기", "더보기", "다음"})
CHECK_SYMPTOM = frozenset(
    {"check a symptom", "check symptom", "check symptoms", "check my symptoms", "symptom"}
    | {"symptom check", "symptom checker", "증상 확인", "증상 확인하기", "증상 체크"}
)
NAME_SYMPTOMS = frozenset({"symptoms", "증상", "증상은"})
CANCEL = frozenset({"cancel", "never mind", "nevermind", "stop", "취소", "그만"})
NEUTRAL = frozenset({"get started", "more"})  # button values that keep the session's language

_SYMPTOM_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"(?:i|we) (?:have|ve|m|am|got|get|feel|keep)"
        r"(?: (?:got|been|having|getting|feeling))* (?P<s>.+)",
        r"(?:ive|im|weve)(?: (?:got|been|having|getting|feeling))* (?P<s>.+)",
        r"(?:which|what) (?:conditions?|illness(?:es)?|diseases?|sickness(?:es)?) "
        r"(?:can |could |might )?(?:cause|causes|give|gives|have|has|include|includes) (?P<s>.+)",
        r"what (?:can |could |might )?(?:cause|causes|gives?) (?P<s>.+)",
        r"whats causing (?P<s>.+)",
        r"symptom (?!(?:of|for)\b)(?P<s>.+)",
        r"check (?:a |my )?symptoms? (?P<s>.+)",
    )
)
_CONDITION_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"(?:(?:what|which) (?:are|is|re)(?: the)? |whats(?: the)? |tell me(?: the)? "
        r"|show me(?: the)? |show(?: the)? |list(?: the)? |give me(?: the)? )?"
        r"(?:common |usual |typical |main )?symptoms? (?:of|for)(?: (?P<x>.+))?",
        r"(?:what|which) (?:are|is)(?: the)? symptoms?",
        r"(?:(?:what|which) (?:are|is)(?: the)? )?(?P<x>.+?) symptoms?",
        r"(?P<x>.+?)(?:의)? ?증상(?:은|이|좀)? ?(?:뭐야|뭐예요|뭐에요|뭔가요|무엇인가요"
        r"|알려 ?줘|알려 ?주세요|보여 ?줘|보여 ?주세요)?",
    )
)
_KOREAN_SYMPTOM_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"(?P<s>.+?) ?증상(?:이|도)? ?(?:있어요|있어|있습니다|있는데|있음)",
        r"(?P<s>.+?)(?:이|가|도)? ?(?:나요|나|납니다|나는데|나와요|있어요|있어|있습니다|심해요"
        r"|아파요|아파|아픕니다)",
        r"(?P<s>.+?)(?:을|를) ?(?:해요|합니다|했어요)",
    )
)
# In this order: a Korean "X 증상" asks for X's symptoms, "X 증상이 있어요" says one has X.
_RULES: tuple[tuple[tuple[re.Pattern[str], ...], str, Slot], ...] = (
    (_SYMPTOM_PATTERNS, "s", "Symptom"),
    (_CONDITION_PATTERNS, "x", "Condition"),
    (_KOREAN_SYMPTOM_PATTERNS, "s", "Symptom"),
)

_LATIN = re.compile(r"[A-Za-z]")
_LEADING_ARTICLE = re.compile(r"^(?:(?:a|an|the|some|my) )+(?=\S)", re.IGNORECASE)
# "causes of headache, page 2" / "두통 원인 2쪽": the conditions causing a symptom, one page.
_CAUSES_PATTERNS = (
    re.compile(
        r"(?:what are the )?(?:causes|conditions) (?:of|for|with) (?P<s>.+?)"
        r"(?: page (?P<p>\d{1,4}))?",
        re.IGNORECASE,
    ),
    re.compile(r"(?P<s>.+?) ?원인(?: ?(?P<p>\d{1,4}) ?쪽)?"),
)


# --- text ----------------------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, ending with "…" when cut."""
    if utf16_len(text) <= limit:
        return text
    kept: list[str] = []
    room = limit - 1
    for char in text:
        room -= utf16_len(char)
        if room < 0:
            break
        kept.append(char)
    while kept and (unicodedata.combining(kept[-1]) or kept[-1] in "\u200d\ufe0e\ufe0f"):
        kept.pop()  # do not leave a joiner or a mark without what it joins or marks
    return "".join(kept).rstrip() + "…"


def pages(count: int, size: int) -> int:
    return max(1, -(-count // size))


# --- session state -------------------------------------------------------------------------


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


def _remember(history: tuple[str, ...], shown: tuple[str, ...]) -> tuple[str, ...]:
    kept = [d for d in history if d not in shown] + list(shown)
    return tuple(kept[-HISTORY_SIZE:])


# --- the dialog ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hint:
    """What Lex understood, from the AWS front door: the intent it chose and, for SymptomsOf
    and MatchSymptom, the slot's value (None: not filled). Used when the rules understand
    nothing in the text."""

    intent: str
    slot: SlotValue | None = None


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
    intent: str
    messages: list[dict[str, Any]]
    pending: str = ""  # the slot to elicit next
    page: int | None = None  # the list page shown, if one was
    shown: tuple[str, ...] = ()  # diseases whose symptoms were shown
    slots: dict[str, SlotValue | None] = field(default_factory=dict)


def language(text: str, remembered: Lang) -> Lang:
    """Korean for Hangul, English for other letters; the session's for language-free input
    (the Get Started payload, "more", "#turns", digits or emoji)."""
    if is_korean(text):
        return "ko"
    if text.lstrip().startswith("#") or normalise(text) in NEUTRAL or not _LATIN.search(text):
        return remembered
    return "en"


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
    data = catalog() if store is None else store
    overview = data.overview()
    state = read_state(session, overview)
    stripped = text.strip()
    ask = Ask(
        text=stripped,
        clean=clean(stripped),
        normal=normalise(stripped),
        lang=language(stripped, state.lang),
        state=state,
        turn=state.turns + 1,
        asset_base=asset_base.rstrip("/"),
        store=data,
        overview=overview,
    )
    answer = _answer(ask, hint)
    after = State(
        lang=ask.lang,
        turns=ask.turn,
        pending=answer.pending,
        history=_remember(state.history, answer.shown),
        page=state.page if answer.page is None else answer.page,
    )
    return Turn(
        answer.intent,
        answer.messages,
        write_state(session, after),
        elicit=answer.pending or None,
        slots=answer.slots,
    )


def unavailable(text: str, session: Mapping[str, str]) -> Turn:
    """The turn for when the data cannot be read: an apology in the user's language, the
    session unchanged."""
    lang = language(text.strip(), remembered_lang(session))
    return Turn("FallbackIntent", [plain(TEXT[lang]["unavailable"])], dict(session))


def _answer(ask: Ask, hint: Hint | None) -> Answer:
    diagnostic = _diagnostic(ask)
    if diagnostic is not None:
        return diagnostic
    if ask.normal in CANCEL:
        return Answer("Welcome", [plain(TEXT[ask.lang]["cancelled"]), _menu(ask.lang)])
    understood = _understand(ask)
    if understood is None and hint is not None:
        understood = _from_hint(ask, hint)
    if understood is not None:
        return understood
    # While a slot is pending, what was not understood is taken as the slot's value.
    if ask.state.pending == "Condition":
        return _unknown_condition(ask, ask.text)
    if ask.state.pending == "Symptom":
        return _unknown_symptom(ask, ask.text)
    return _fallback(ask)


def _understand(ask: Ask) -> Answer | None:
    """The intent the input expresses, or None."""
    if ask.normal in WELCOME:
        return _welcome(ask)
    if ask.normal in GOODBYE:
        return Answer("Goodbye", [plain(TEXT[ask.lang]["goodbye"])])
    if ask.normal in LIST:
        return _list(ask, 1)
    if ask.normal in MORE:
        count = pages(len(ask.overview.order), PAGE_SIZE)
        return _list(ask, ask.state.page + 1 if 0 < ask.state.page < count else 1)
    if ask.normal in CHECK_SYMPTOM:
        return _elicit(ask, "Symptom")
    if ask.normal in NAME_SYMPTOMS:
        return _elicit(ask, "Condition")
    for causes in _CAUSES_PATTERNS:
        match = causes.fullmatch(ask.clean)
        if match:
            return _about(ask, match.group("s"), "Symptom", page=int(match.group("p") or 1))
    for patterns, group, slot in _RULES:
        for pattern in patterns:
            match = pattern.fullmatch(ask.clean)
            if match:
                return _about(ask, match.groupdict().get(group) or "", slot)
    found = ask.store.find(lookup_keys(ask.clean))
    return None if found is None else _named(ask, found, ask.clean)


def _from_hint(ask: Ask, hint: Hint) -> Answer | None:
    """The answer for the intent Lex chose, or None (its fallback: the rules go on)."""
    if hint.intent == "Welcome":
        return _welcome(ask)
    if hint.intent == "Goodbye":
        return Answer("Goodbye", [plain(TEXT[ask.lang]["goodbye"])])
    if hint.intent == "ListConditions":
        return _list(ask, 1)
    if hint.intent in ("SymptomsOf", "MatchSymptom"):
        slot: Slot = "Condition" if hint.intent == "SymptomsOf" else "Symptom"
        if hint.slot is None and ask.state.pending == slot and ask.text:
            return None  # Lex did not fill the slot it was asked for: the answer is the text
        if hint.slot is None:
            return _elicit(ask, slot)
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
        return _elicit(ask, slot)
    said = _LEADING_ARTICLE.sub("", phrase)  # "I have a zzz": quote "zzz"
    if slot == "Condition":
        return _unknown_condition(ask, said)
    return _unknown_symptom(ask, said)


def _named(ask: Ask, found: Condition | Symptom, said: str, *, page: int = 1) -> Answer:
    if isinstance(found, Condition):
        return _symptoms_of(ask, found, said)
    return _causes(ask, found, said, page)


# --- answers -------------------------------------------------------------------------------


def _note(ask: Ask) -> dict[str, Any]:
    return plain(ask.overview.note[ask.lang])


def _menu(lang: Lang) -> dict[str, Any]:
    return card(TEXT[lang]["menu"], buttons=MENU[lang])


def _welcome(ask: Ask) -> Answer:
    return Answer("Welcome", [plain(TEXT[ask.lang]["greeting"]), _note(ask), _menu(ask.lang)])


def _image(ask: Ask, name: str) -> str | None:
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
        image_url=_image(ask, "conditions.svg"),
        buttons=buttons,
    )


def _list(ask: Ask, page: int) -> Answer:
    return Answer("ListConditions", [_list_card(ask, page)], page=page)


def _symptoms_of(ask: Ask, condition: Condition, said: str) -> Answer:
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


def _causes(ask: Ask, symptom: Symptom, said: str, page: int = 1) -> Answer:
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


def _elicit(ask: Ask, slot: Slot) -> Answer:
    intent = "SymptomsOf" if slot == "Condition" else "MatchSymptom"
    messages = [plain(question(slot, ask.lang)), _choices(ask, slot)]
    return Answer(intent, messages, pending=slot, slots={slot: None})


def _unknown_condition(ask: Ask, name: str) -> Answer:
    said = TEXT[ask.lang]["unknown_condition"].format(name=clip(name, QUOTE_MAX))
    return Answer(
        "SymptomsOf",
        [plain(said), _list_card(ask, 1)],
        page=1,
        slots={"Condition": None},
    )


def _unknown_symptom(ask: Ask, name: str) -> Answer:
    said = TEXT[ask.lang]["unknown_symptom"].format(name=clip(name, QUOTE_MAX))
    return Answer(
        "MatchSymptom",
        [plain(said), _choices(ask, "Symptom")],
        pending="Symptom",
        slots={"Symptom": None},
    )


def _fallback(ask: Ask) -> Answer:
    template = TEXT[ask.lang]["fallback"]
    room = CONTENT_MAX - utf16_len(template.format(input=""))
    return Answer("FallbackIntent", [plain(template.format(input=clip(ask.text, room)))])


# --- developer diagnostics: one of each rendering path ---------------------------------------


def _diagnostic(ask: Ask) -> Answer | None:
    command = ask.text.casefold()
    if command == "#card":
        message = card(
            "Messenger Lex Bridge",
            subtitle="A Lex card becomes a Messenger generic template.",
            image_url=_image(ask, "card.svg"),
            buttons=[("Say hello", "hello"), ("Count my turns", "#turns")],
        )
    elif command == "#long":
        message = plain("\n\n".join(f"Part {n}. " + LONG_PARAGRAPH * 5 for n in range(1, 6)))
    elif command == "#turns":
        message = plain(f"This is turn {ask.turn} of our conversation.")
    elif command == "#ssml":
        message = ssml("<speak>Spoken <break time='1s'/> text.</speak>")
    else:
        return None
    return Answer("Diagnostics", [message])
