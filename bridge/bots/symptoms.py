"""The sample bot: a symptom checker over a small bilingual (English/Korean) table of common
conditions, ``data/conditions.json`` (rows keyed by ``Disease`` with a ``Symptoms`` list, the
shape of the DynamoDB table the AWS version reads).

``respond`` is pure: one input and the session attributes in, a ``Turn`` out; the caller stores
the session. The only I/O is reading the data file once. Standard library only, so a Lambda
code hook can run the same dialog.

Session attributes are Lex's string→string map; structured values are JSON, never Python
literals, and anything missing or malformed starts fresh:
``lang`` ("en"/"ko"), ``turns`` (JSON number), ``pending`` ("Condition", "Symptom" or ""),
``history`` (JSON list of the last diseases whose symptoms were shown), ``page`` (JSON number:
the last page of the condition list shown). Keys the bot does not own are kept.

Intents: Welcome, ListConditions, SymptomsOf (slot Condition), MatchSymptom (slot Symptom),
Goodbye, FallbackIntent, and Diagnostics (``#card``, ``#long``, ``#turns``, ``#ssml``: one of
each rendering path, for tests and bot authors).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from bridge.bots.turn import SlotValue, Turn, card, plain, ssml

Lang = Literal["en", "ko"]
Slot = Literal["Condition", "Symptom"]

DATA_FILE = Path(__file__).with_name("data") / "conditions.json"
PAGE_SIZE = 4  # conditions per list card: with "More…", within Lex's 5 buttons
HISTORY_SIZE = 5
CONTENT_MAX = 1024  # Lex: a message's content, in UTF-16 code units
QUOTE_MAX = 100  # an unknown name quoted back is cut to this
LABEL_MAX = 20  # Messenger shows a quick reply or button title up to 20 characters
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
        "which_symptom": "Which symptom?",
        "pick_symptom": "Type a symptom or tap one:",
        "unknown_symptom": "I don't know the symptom “{name}”.",
        "goodbye": "Take care, and I hope you feel well soon! Say “hi” any time to start again.",
        "cancelled": "OK, cancelled.",
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
        "which_symptom": "어떤 증상인가요?",
        "pick_symptom": "증상을 입력하거나 하나를 고르세요:",
        "unknown_symptom": "아직 모르는 증상이에요: “{name}”.",
        "goodbye": "몸 건강히 지내세요! 언제든 “안녕”이라고 하면 다시 시작할 수 있어요.",
        "cancelled": "취소했어요.",
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

_APOSTROPHES = re.compile(r"['’ʼ`]")
_NON_WORD = re.compile(r"[\W_]+")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z]")
_SYMPTOM_WORD = re.compile(r"\s*(?:\bsymptoms?|증상)$", re.IGNORECASE)
_FILLER = frozenset(
    {"a", "an", "the", "some", "my", "of", "bad", "really", "very", "terrible", "slight"}
    | {"mild", "little", "bit", "high", "severe", "constant", "persistent", "lot"}
)
_LEADING_ARTICLE = re.compile(r"^(?:(?:a|an|the|some|my) )+(?=\S)", re.IGNORECASE)
_SUFFIXES = ("ish", "ing", "es", "s", "e", "y")
_KOREAN_ENDINGS = ("이에요", "예요", "입니다", "이요", "요")
_KOREAN_PARTICLES = ("이", "가", "은", "는", "을", "를", "의", "도")


# --- text ----------------------------------------------------------------------------------


def clean(text: str) -> str:
    """``text`` with apostrophes dropped and other punctuation and spacing collapsed."""
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text))
    return _NON_WORD.sub(" ", text).strip()


def normalise(text: str) -> str:
    """``clean(text)``, case-folded: how commands are compared."""
    return clean(text).casefold()


def _stem(word: str) -> str:
    """A crude English stem ("fevers", "feverish" → "fever"); other words unchanged."""
    if not (word.isascii() and word.isalpha()):
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def key(text: str) -> str:
    """The lookup key of a name or symptom: normalised, filler words dropped, words stemmed."""
    return " ".join(_stem(word) for word in normalise(text).split() if word not in _FILLER)


def _variants(phrase_key: str) -> Iterator[str]:
    """``phrase_key``, then without a Korean polite ending ("독감이요") and/or particle ("열이")."""
    yield phrase_key
    if not phrase_key or not _HANGUL.match(phrase_key[-1]):
        return
    bases = [phrase_key] + [
        phrase_key[: -len(ending)].rstrip()
        for ending in _KOREAN_ENDINGS
        if phrase_key.endswith(ending) and len(phrase_key) > len(ending)
    ]
    for base in bases:
        yield base
        for particle in _KOREAN_PARTICLES:
            if base.endswith(particle) and len(base) > len(particle):
                yield base[: -len(particle)].rstrip()


def is_korean(text: str) -> bool:
    return _HANGUL.search(text) is not None


def units(text: str) -> int:
    """Length in UTF-16 code units, as Lex counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, ending with "…" when cut."""
    if units(text) <= limit:
        return text
    kept: list[str] = []
    room = limit - 1
    for char in text:
        room -= units(char)
        if room < 0:
            break
        kept.append(char)
    while kept and (unicodedata.combining(kept[-1]) or kept[-1] in "\u200d\ufe0e\ufe0f"):
        kept.pop()  # do not leave a joiner or a mark without what it joins or marks
    return "".join(kept).rstrip() + "…"


# --- the data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One row of the table, in both languages."""

    disease: str
    symptoms: tuple[str, ...]
    ko_disease: str
    ko_symptoms: tuple[str, ...]
    aliases: tuple[str, ...]

    def name(self, lang: Lang) -> str:
        return self.ko_disease if lang == "ko" else self.disease

    def symptom_names(self, lang: Lang) -> tuple[str, ...]:
        return self.ko_symptoms if lang == "ko" else self.symptoms

    def label(self, lang: Lang) -> str:
        """A button text: the name, or a short alias in the same language if it is too long."""
        name = self.name(lang)
        if len(name) <= LABEL_MAX:
            return name
        short = (a for a in self.aliases if len(a) <= LABEL_MAX and is_korean(a) == (lang == "ko"))
        return next(short, name)


@dataclass(frozen=True)
class Catalog:
    """The conditions, the note, and the indexes the dialog looks names up in."""

    conditions: tuple[Condition, ...]
    note: dict[str, str]
    korean: dict[str, str]  # English symptom → Korean
    by_disease: dict[str, Condition] = field(default_factory=dict)
    condition_keys: dict[str, Condition] = field(default_factory=dict)
    symptom_keys: dict[str, str] = field(default_factory=dict)  # key → English symptom

    def find(self, phrase: str) -> Condition | str | None:
        """The condition or (English) symptom ``phrase`` names, in either language."""
        for candidate in (phrase, _SYMPTOM_WORD.sub("", phrase)):
            for variant in _variants(key(candidate)):
                if variant in self.condition_keys:
                    return self.condition_keys[variant]
                if variant in self.symptom_keys:
                    return self.symptom_keys[variant]
        return None

    def causing(self, symptom: str) -> list[Condition]:
        return [c for c in self.conditions if symptom in c.symptoms]

    def symptom_name(self, symptom: str, lang: Lang) -> str:
        return self.korean[symptom] if lang == "ko" else symptom


def _index(index: dict[str, Any], name: str, target: Any, taken: dict[str, Any]) -> None:
    """Add ``name``'s key to ``index``; a key naming two things is an error in the data."""
    name_key = key(name)
    if not name_key:
        raise ValueError(f"{name!r} has no words to look up")
    for other in (index, taken):
        if other.get(name_key, target) != target:
            raise ValueError(f"{name!r} names both {other[name_key]} and {target}")
    index[name_key] = target


def build_catalog(raw: Mapping[str, Any]) -> Catalog:
    """The catalog of a parsed data file; raises ValueError if the data is inconsistent."""
    conditions = tuple(
        Condition(
            disease=row["Disease"],
            symptoms=tuple(row["Symptoms"]),
            ko_disease=row["ko"]["Disease"],
            ko_symptoms=tuple(row["ko"]["Symptoms"]),
            aliases=tuple(row["aliases"]),
        )
        for row in raw["conditions"]
    )
    korean: dict[str, str] = {}
    for condition in conditions:
        if len(condition.symptoms) != len(condition.ko_symptoms):
            raise ValueError(f"{condition.disease}: the symptom lists differ in length")
        for english, hangul in zip(condition.symptoms, condition.ko_symptoms, strict=True):
            if korean.setdefault(english, hangul) != hangul:
                raise ValueError(f"{english!r} is both {korean[english]!r} and {hangul!r}")
    condition_keys: dict[str, Condition] = {}
    symptom_keys: dict[str, str] = {}
    for condition in conditions:
        for name in (condition.disease, condition.ko_disease, *condition.aliases):
            _index(condition_keys, name, condition, symptom_keys)
    for english, hangul in korean.items():
        for name in (english, hangul, *raw.get("symptom_aliases", {}).get(english, [])):
            _index(symptom_keys, name, english, condition_keys)
    unknown = set(raw.get("symptom_aliases", {})) - set(korean)
    if unknown:
        raise ValueError(f"aliases for symptoms no condition has: {sorted(unknown)}")
    return Catalog(
        conditions=conditions,
        note=dict(raw["note"]),
        korean=korean,
        by_disease={c.disease: c for c in conditions},
        condition_keys=condition_keys,
        symptom_keys=symptom_keys,
    )


@cache
def catalog() -> Catalog:
    """The shipped data, read once."""
    return build_catalog(json.loads(DATA_FILE.read_text(encoding="utf-8")))


def page_count() -> int:
    return -(-len(catalog().conditions) // PAGE_SIZE)


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


def read_state(session: Mapping[str, str]) -> State:
    """The state in ``session``; whatever is missing or malformed starts fresh."""
    pending = session.get("pending", "")
    history = _json(session.get("history"))
    known = catalog().by_disease
    shown = (
        [d for d in history if isinstance(d, str) and d in known]
        if isinstance(history, list)
        else []
    )
    return State(
        lang="ko" if session.get("lang") == "ko" else "en",
        turns=_count(session.get("turns")),
        pending=pending if pending in ("Condition", "Symptom") else "",
        history=tuple(shown[-HISTORY_SIZE:]),
        page=_count(session.get("page"), page_count()),
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
class Ask:
    """One input, as the intents see it."""

    text: str  # stripped
    clean: str  # clean(text)
    normal: str  # normalise(text)
    lang: Lang
    state: State
    turn: int  # the number of this turn
    asset_base: str


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


def respond(text: str, session: Mapping[str, str], *, asset_base: str) -> Turn:
    """One turn of the symptom checker; pure: the caller stores the session."""
    state = read_state(session)
    stripped = text.strip()
    ask = Ask(
        text=stripped,
        clean=clean(stripped),
        normal=normalise(stripped),
        lang=language(stripped, state.lang),
        state=state,
        turn=state.turns + 1,
        asset_base=asset_base,
    )
    answer = _answer(ask)
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


def _answer(ask: Ask) -> Answer:
    diagnostic = _diagnostic(ask)
    if diagnostic is not None:
        return diagnostic
    if ask.normal in CANCEL:
        return Answer("Welcome", [plain(TEXT[ask.lang]["cancelled"]), _menu(ask.lang)])
    understood = _understand(ask)
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
        return _list(ask, ask.state.page + 1 if 0 < ask.state.page < page_count() else 1)
    if ask.normal in CHECK_SYMPTOM:
        return _elicit(ask, "Symptom")
    if ask.normal in NAME_SYMPTOMS:
        return _elicit(ask, "Condition")
    for patterns, group, slot in _RULES:
        for pattern in patterns:
            match = pattern.fullmatch(ask.clean)
            if match:
                return _about(ask, match.group(group) or "", slot)
    found = catalog().find(ask.clean)
    return None if found is None else _about(ask, ask.clean, "Condition")


def _about(ask: Ask, phrase: str, slot: Slot) -> Answer:
    """The answer for a phrase naming a condition or a symptom (``slot`` says which was
    expected, for when it names neither)."""
    found = catalog().find(phrase)
    if isinstance(found, Condition):
        return _symptoms_of(ask, found, phrase)
    if isinstance(found, str):
        return _causes(ask, found, phrase)
    if not key(_SYMPTOM_WORD.sub("", phrase)):
        return _elicit(ask, slot)
    said = _LEADING_ARTICLE.sub("", phrase)  # "I have a zzz": quote "zzz"
    if slot == "Condition":
        return _unknown_condition(ask, said)
    return _unknown_symptom(ask, said)


# --- answers -------------------------------------------------------------------------------


def _note(lang: Lang) -> dict[str, Any]:
    return plain(catalog().note[lang])


def _menu(lang: Lang) -> dict[str, Any]:
    return card(TEXT[lang]["menu"], buttons=MENU[lang])


def _welcome(ask: Ask) -> Answer:
    return Answer("Welcome", [plain(TEXT[ask.lang]["greeting"]), _note(ask.lang), _menu(ask.lang)])


def _symptoms_button(condition: Condition, lang: Lang) -> tuple[str, str]:
    value = TEXT[lang]["symptoms_value"].format(name=condition.name(lang))
    return condition.label(lang), value


def _list_card(lang: Lang, page: int, asset_base: str) -> dict[str, Any]:
    text, pages = TEXT[lang], page_count()
    shown = catalog().conditions[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    buttons = [_symptoms_button(c, lang) for c in shown]
    if page < pages:
        buttons.append((text["more"], text["more_value"]))
    return card(
        text["list_title"].format(page=page, pages=pages),
        subtitle=text["list_subtitle"],
        image_url=f"{asset_base}/conditions.svg",
        buttons=buttons,
    )


def _list(ask: Ask, page: int) -> Answer:
    return Answer("ListConditions", [_list_card(ask.lang, page, ask.asset_base)], page=page)


def _symptoms_of(ask: Ask, condition: Condition, said: str) -> Answer:
    text, lang = TEXT[ask.lang], ask.lang
    answer = text["symptoms_of"].format(
        name=condition.name(lang), symptoms=", ".join(condition.symptom_names(lang))
    )
    return Answer(
        "SymptomsOf",
        [
            plain(answer),
            _note(lang),
            card(text["anything_else"], buttons=MENU[lang][:2]),
        ],
        shown=(condition.disease,),
        slots={"Condition": SlotValue(said, condition.disease)},
    )


def _causes(ask: Ask, symptom: str, said: str) -> Answer:
    text, lang, data = TEXT[ask.lang], ask.lang, catalog()
    conditions = data.causing(symptom)
    answer = text["causes"].format(
        symptom=data.symptom_name(symptom, lang),
        names=", ".join(c.name(lang) for c in conditions),
    )
    buttons = [_symptoms_button(c, lang) for c in conditions[:5]]
    return Answer(
        "MatchSymptom",
        [plain(answer), _note(lang), card(text["see_symptoms"], buttons=buttons)],
        slots={"Symptom": SlotValue(said, symptom)},
    )


def _choices(slot: Slot, lang: Lang) -> dict[str, Any]:
    """The quick replies offered when a slot is elicited."""
    data = catalog()
    if slot == "Condition":
        conditions = [data.by_disease[d] for d in POPULAR_CONDITIONS]
        buttons = [(c.label(lang), c.name(lang)) for c in conditions]
        return card(TEXT[lang]["pick_condition"], buttons=buttons)
    names = [data.symptom_name(s, lang) for s in COMMON_SYMPTOMS]
    return card(TEXT[lang]["pick_symptom"], buttons=[(n[:1].upper() + n[1:], n) for n in names])


def _elicit(ask: Ask, slot: Slot) -> Answer:
    question = TEXT[ask.lang]["which_condition" if slot == "Condition" else "which_symptom"]
    intent = "SymptomsOf" if slot == "Condition" else "MatchSymptom"
    messages = [plain(question), _choices(slot, ask.lang)]
    return Answer(intent, messages, pending=slot, slots={slot: None})


def _unknown_condition(ask: Ask, name: str) -> Answer:
    said = TEXT[ask.lang]["unknown_condition"].format(name=clip(name, QUOTE_MAX))
    return Answer(
        "SymptomsOf",
        [plain(said), _list_card(ask.lang, 1, ask.asset_base)],
        page=1,
        slots={"Condition": None},
    )


def _unknown_symptom(ask: Ask, name: str) -> Answer:
    said = TEXT[ask.lang]["unknown_symptom"].format(name=clip(name, QUOTE_MAX))
    return Answer(
        "MatchSymptom",
        [plain(said), _choices("Symptom", ask.lang)],
        pending="Symptom",
        slots={"Symptom": None},
    )


def _fallback(ask: Ask) -> Answer:
    template = TEXT[ask.lang]["fallback"]
    room = CONTENT_MAX - units(template.format(input=""))
    return Answer("FallbackIntent", [plain(template.format(input=clip(ask.text, room)))])


# --- developer diagnostics: one of each rendering path ---------------------------------------


def _diagnostic(ask: Ask) -> Answer | None:
    command = ask.text.casefold()
    if command == "#card":
        message = card(
            "Messenger Lex Bridge",
            subtitle="A Lex card becomes a Messenger generic template.",
            image_url=f"{ask.asset_base}/card.svg",
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
