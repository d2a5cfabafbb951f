"""The sample bot's dialog (bridge/local/sample_bot/symptoms.py) and its data file: every intent in
English and Korean, slot elicitation and the turn after it, unknown names, cancel, list paging, the
session attributes (JSON, tolerant of garbage), Lex's limits on every answer, and the
ElicitSlot dialog action on the wire of the local RecognizeText endpoint."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import bridge
from bridge.app import create_app
from bridge.config.localmode import LOCAL_LEX_ALIAS_ID, LOCAL_LEX_BOT_ID
from bridge.config.settings import Settings
from bridge.local.sample_bot import answers, diagnostics, symptoms, wording
from bridge.local.sample_bot import front as local
from bridge.local.sample_bot.conditions import Catalog, Condition, Overview, Symptom
from bridge.local.sample_bot.symptoms import Hint, build_catalog, catalog, key, respond, unavailable
from bridge.local.sample_bot.turn import SlotValue, Turn
from bridge.messenger.graph import GraphClient
from bridge.messenger.text import utf16_len
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot

ASSETS = "http://127.0.0.1:8000/local/assets"
RAW = json.loads(symptoms.DATA_FILE.read_text(encoding="utf-8"))
ROWS: list[dict[str, Any]] = RAW["conditions"]
BY_DISEASE = {row["Disease"]: row for row in ROWS}
FALLBACK = 'Sorry, I didn\'t understand "{}". Try "list", "symptoms of flu" or "I have a fever".'
MENU_EN = [
    ("List conditions", "list"),
    ("Check a symptom", "check a symptom"),
    ("Symptoms of flu", "symptoms of flu"),
]
MENU_KO = [("질환 목록", "질환 목록"), ("증상 확인", "증상 확인"), ("독감 증상", "독감 증상")]


def talk(*texts: str, session: dict[str, str] | None = None) -> list[Turn]:
    """Each turn of a conversation, the session carried from one to the next."""
    turns = []
    state = dict(session or {})
    for text in texts:
        turn = respond(text, state, asset_base=ASSETS)
        state = turn.session_attributes
        turns.append(turn)
    return turns


def last(*texts: str, session: dict[str, str] | None = None) -> Turn:
    return talk(*texts, session=session)[-1]


def said(turn: Turn) -> list[str]:
    return [m["content"] for m in turn.messages if m["contentType"] == "PlainText"]


def cards(turn: Turn) -> list[dict[str, Any]]:
    return [
        m["imageResponseCard"] for m in turn.messages if m["contentType"] == "ImageResponseCard"
    ]


def buttons(response_card: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["text"], b["value"]) for b in response_card["buttons"]]


def note(lang: str) -> str:
    text: str = RAW["note"][lang]
    return text


def causes(symptom: str) -> list[dict[str, Any]]:
    return [row for row in ROWS if symptom in row["Symptoms"]]


def action(turn: Turn) -> dict[str, Any]:
    wire = local.recognize_text_response(session_id="1234", turn=turn, request_attributes={})
    state: dict[str, Any] = wire["sessionState"]
    return state


# --- the data file -------------------------------------------------------------------------


def test_the_data_file_ships_inside_the_package() -> None:
    package = Path(bridge.__file__).parent
    assert symptoms.DATA_FILE == package / "local" / "sample_bot" / "data" / "conditions.json"
    assert symptoms.DATA_FILE.is_file()


def test_a_dozen_bilingual_rows_shaped_for_the_table() -> None:
    assert len(ROWS) == 12
    for row in ROWS:
        assert set(row) == {"Disease", "Symptoms", "ko", "aliases"}
        assert set(row["ko"]) == {"Disease", "Symptoms"}
        assert row["Disease"] and not symptoms.is_korean(row["Disease"])
        assert symptoms.is_korean(row["ko"]["Disease"])
        assert 3 <= len(row["Symptoms"]) == len(row["ko"]["Symptoms"]) <= 10
        assert all(isinstance(s, str) and s and not symptoms.is_korean(s) for s in row["Symptoms"])
        assert all(symptoms.is_korean(s) for s in row["ko"]["Symptoms"])
        assert len(set(row["Symptoms"])) == len(row["Symptoms"])
    assert len(BY_DISEASE) == 12


def test_the_common_conditions_are_there() -> None:
    assert {
        "Common cold",
        "Influenza",
        "COVID-19",
        "Strep throat",
        "Sinusitis",
        "Migraine",
        "Gastroenteritis",
        "Food poisoning",
        "Seasonal allergies",
        "Asthma",
        "Urinary tract infection",
        "Conjunctivitis",
    } == set(BY_DISEASE)


def test_aliases_are_unique_and_include_both_names() -> None:
    seen: dict[str, str] = {}
    for row in ROWS:
        keys = {key(alias) for alias in row["aliases"]}
        assert key(row["Disease"]) in keys
        assert key(row["ko"]["Disease"]) in keys
        for alias_key in keys:
            assert seen.setdefault(alias_key, row["Disease"]) == row["Disease"], alias_key


def test_symptoms_translate_the_same_way_in_every_row() -> None:
    korean: dict[str, str] = {}
    for row in ROWS:
        for english, hangul in zip(row["Symptoms"], row["ko"]["Symptoms"], strict=True):
            assert korean.setdefault(english, hangul) == hangul, english


def test_the_note_says_it_is_not_medical_advice_in_both_languages() -> None:
    assert set(RAW["note"]) == {"en", "ko"}
    assert "not medical advice" in note("en")
    assert "doctor" in note("en") and "emergency" in note("en")
    assert "의학적 조언이 아닙니다" in note("ko")
    assert "119" in note("ko")


def test_names_and_symptoms_never_share_a_lookup_key() -> None:
    data = catalog()
    assert not set(data.condition_keys) & set(data.symptom_keys)
    assert set(data.korean) == {s for row in ROWS for s in row["Symptoms"]}
    assert set(RAW["symptom_aliases"]) <= set(data.korean)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda raw: raw["conditions"][0]["ko"]["Symptoms"].pop(),
        lambda raw: raw["conditions"][1]["aliases"].append("cold"),
        lambda raw: raw["conditions"][1]["aliases"].append("fever"),
        lambda raw: raw["conditions"][1]["ko"]["Symptoms"].__setitem__(0, "열"),
        lambda raw: raw["symptom_aliases"].setdefault("hiccups", ["hic"]),
        lambda raw: raw["symptom_aliases"]["fever"].append("the"),
    ],
    ids=[
        "unequal-lists",
        "alias-of-two-rows",
        "alias-is-a-symptom",
        "two-translations",
        "alias-of-no-symptom",
        "alias-without-words",
    ],
)
def test_inconsistent_data_is_refused_when_loaded(spoil: Any) -> None:
    raw = copy.deepcopy(RAW)
    spoil(raw)
    with pytest.raises(ValueError):
        build_catalog(raw)


# --- Welcome -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["hi", "Hello!", "hey", "HELP", "start", "GET_STARTED", "optin", "referral"]
)
def test_welcome_in_english(text: str) -> None:
    turn = last(text)
    assert turn.intent == "Welcome"
    [greeting, advice] = said(turn)
    assert "symptom checker" in greeting
    assert advice == note("en")
    [menu] = cards(turn)
    assert menu == {"title": "What would you like to do?", "buttons": menu["buttons"]}
    assert buttons(menu) == MENU_EN
    assert action(turn)["dialogAction"] == {"type": "Close"}


@pytest.mark.parametrize("text", ["안녕", "안녕하세요!", "도움말"])
def test_welcome_in_korean(text: str) -> None:
    turn = last(text)
    assert turn.intent == "Welcome"
    assert said(turn)[1] == note("ko")
    [menu] = cards(turn)
    assert menu == {"title": "무엇을 도와드릴까요?", "buttons": menu["buttons"]}
    assert buttons(menu) == MENU_KO
    assert turn.session_attributes["lang"] == "ko"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_menu_button_leads_somewhere(lang: str) -> None:
    menu = MENU_EN if lang == "en" else MENU_KO
    intents = [last(value).intent for _, value in menu]
    assert intents == ["ListConditions", "MatchSymptom", "SymptomsOf"]


# --- ListConditions ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["list", "Conditions", "list conditions", "목록", "질환 목록"])
def test_list_shows_the_first_page_as_a_card_with_an_image(text: str) -> None:
    turn = last(text)
    assert turn.intent == "ListConditions"
    [page] = cards(turn)
    lang = "ko" if symptoms.is_korean(text) else "en"
    assert page["imageUrl"] == f"{ASSETS}/conditions.svg"
    if lang == "en":
        assert page["title"] == "Common conditions (1/3)"
        assert page["subtitle"] == "Tap one to see its symptoms"
        assert buttons(page) == [
            ("Common cold", "symptoms of Common cold"),
            ("Influenza", "symptoms of Influenza"),
            ("COVID-19", "symptoms of COVID-19"),
            ("Strep throat", "symptoms of Strep throat"),
            ("More…", "more"),
        ]
    else:
        assert page["title"] == "흔한 질환 (1/3)"
        assert page["subtitle"]
        assert buttons(page)[:2] == [("감기", "감기 증상"), ("독감", "독감 증상")]
        assert buttons(page)[-1] == ("더 보기…", "더 보기")
    assert turn.session_attributes["page"] == "1"


def test_more_pages_through_every_condition_and_wraps() -> None:
    turns = talk("list", "more", "more", "more")
    titles = [cards(t)[0]["title"] for t in turns]
    assert titles == [
        "Common conditions (1/3)",
        "Common conditions (2/3)",
        "Common conditions (3/3)",
        "Common conditions (1/3)",
    ]
    values = [v for t in turns[:3] for _, v in buttons(cards(t)[0]) if v != "more"]
    assert values == [f"symptoms of {row['Disease']}" for row in ROWS]
    assert [len(cards(t)[0]["buttons"]) for t in turns] == [5, 5, 4, 5]
    assert [t.session_attributes["page"] for t in turns] == ["1", "2", "3", "1"]


def test_more_in_korean_and_more_without_a_list() -> None:
    turns = talk("목록", "더 보기", "더 보기")
    assert [cards(t)[0]["title"] for t in turns] == [
        "흔한 질환 (1/3)",
        "흔한 질환 (2/3)",
        "흔한 질환 (3/3)",
    ]
    values = [v for t in turns for _, v in buttons(cards(t)[0]) if v != "더 보기"]
    assert values == [f"{row['ko']['Disease']} 증상" for row in ROWS]
    assert cards(last("more"))[0]["title"] == "Common conditions (1/3)"


def test_a_long_name_gets_a_short_button_text() -> None:
    [page] = cards(last("list", "more", "more"))
    assert ("UTI", "symptoms of Urinary tract infection") in buttons(page)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_list_button_shows_that_conditions_symptoms(lang: str) -> None:
    first = "list" if lang == "en" else "목록"
    more = "more" if lang == "en" else "더 보기"
    pages = talk(first, more, more)
    values = [v for t in pages for _, v in buttons(cards(t)[0]) if v != more]
    for row, value in zip(ROWS, values, strict=True):
        turn = last(value)
        assert turn.intent == "SymptomsOf"
        name = row["Disease"] if lang == "en" else row["ko"]["Disease"]
        assert said(turn)[0].startswith(f"Common symptoms of {name}:" if lang == "en" else name)
        assert json.loads(turn.session_attributes["history"]) == [row["Disease"]]


# --- SymptomsOf ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "symptoms of flu",
        "Symptoms of Influenza",
        "flu symptoms",
        "What are the symptoms of the flu?",
        "what are the flu symptoms",
        "influenza",
        "I have the flu",
    ],
)
def test_symptoms_of_a_condition_in_english(text: str) -> None:
    turn = last(text)
    assert turn.intent == "SymptomsOf"
    flu = BY_DISEASE["Influenza"]["Symptoms"]
    assert said(turn) == [f"Common symptoms of Influenza: {', '.join(flu)}.", note("en")]
    assert said(turn)[0].startswith("Common symptoms of Influenza: fever, chills, ")
    [more] = cards(turn)
    assert more == {"title": "Anything else?", "buttons": more["buttons"]}
    assert buttons(more) == MENU_EN[:2]
    assert action(turn)["dialogAction"] == {"type": "Close"}
    assert action(turn)["intent"]["state"] == "Fulfilled"
    slot = turn.slots["Condition"]
    assert slot is not None and slot.interpreted == "Influenza"
    assert turn.slots == {"Condition": SlotValue(slot.original, "Influenza")}


@pytest.mark.parametrize(
    "text", ["독감 증상", "독감의 증상", "인플루엔자 증상", "독감 증상이 뭐야?", "독감"]
)
def test_symptoms_of_a_condition_in_korean(text: str) -> None:
    turn = last(text)
    assert turn.intent == "SymptomsOf"
    flu = BY_DISEASE["Influenza"]["ko"]["Symptoms"]
    assert said(turn) == [f"독감의 흔한 증상: {', '.join(flu)}.", note("ko")]
    assert buttons(cards(turn)[0]) == MENU_KO[:2]
    assert cards(turn)[0]["title"] == "더 궁금한 것이 있으신가요?"


@pytest.mark.parametrize(
    ("text", "disease"),
    [
        ("symptoms of COVID-19", "COVID-19"),
        ("covid symptoms", "COVID-19"),
        ("symptoms of pink eye", "Conjunctivitis"),
        ("hay fever symptoms", "Seasonal allergies"),
        ("symptoms of a UTI", "Urinary tract infection"),
        ("stomach flu", "Gastroenteritis"),
        ("migraines", "Migraine"),
        ("장염 증상", "Gastroenteritis"),
        ("코로나 증상", "COVID-19"),
    ],
)
def test_aliases_name_conditions(text: str, disease: str) -> None:
    turn = last(text)
    assert turn.intent == "SymptomsOf"
    assert json.loads(turn.session_attributes["history"]) == [disease]


@pytest.mark.parametrize(
    "text", ["symptoms", "symptoms of", "Symptoms?", "증상", "What are the symptoms?"]
)
def test_a_missing_condition_is_elicited(text: str) -> None:
    turn = last(text)
    assert turn.intent == "SymptomsOf"
    assert turn.elicit == "Condition"
    assert turn.session_attributes["pending"] == "Condition"
    state = action(turn)
    assert state["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Condition"}
    assert state["intent"]["state"] == "InProgress"
    assert state["intent"]["slots"] == {"Condition": None}
    [choices] = cards(turn)
    assert "imageUrl" not in choices and "subtitle" not in choices
    assert len(choices["buttons"]) == 5
    if symptoms.is_korean(text):
        assert said(turn) == ["어떤 질환인가요?"]
        assert buttons(choices)[1] == ("독감", "독감")
    else:
        assert said(turn) == ["Which condition?"]
        assert [v for _, v in buttons(choices)] == list(answers.POPULAR_CONDITIONS)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_each_offered_condition_answers_the_pending_slot(lang: str) -> None:
    ask = "symptoms" if lang == "en" else "증상"
    [choices] = cards(last(ask))
    for _, value in buttons(choices):
        elicited, answer = talk(ask, value)
        assert elicited.elicit == "Condition"
        assert answer.intent == "SymptomsOf"
        assert answer.elicit is None
        assert answer.session_attributes["pending"] == ""
        assert action(answer)["dialogAction"] == {"type": "Close"}
        assert action(answer)["intent"]["state"] == "Fulfilled"


def test_the_pending_condition_is_taken_from_the_next_turn() -> None:
    _, answer = talk("symptoms", "the flu")
    assert said(answer)[0].startswith("Common symptoms of Influenza:")
    slot = action(answer)["intent"]["slots"]["Condition"]
    assert slot == {
        "shape": "Scalar",
        "value": {
            "originalValue": "the flu",
            "interpretedValue": "Influenza",
            "resolvedValues": ["Influenza"],
        },
    }
    _, answer = talk("증상", "독감이요")
    assert said(answer)[0].startswith("독감의 흔한 증상:")


def test_an_unknown_pending_condition_gets_the_list() -> None:
    _, answer = talk("symptoms", "Zika")
    assert answer.intent == "SymptomsOf"
    assert said(answer) == ["I don't know “Zika” yet."]
    [page] = cards(answer)
    assert page["title"] == "Common conditions (1/3)"
    assert answer.session_attributes["pending"] == ""
    assert answer.session_attributes["page"] == "1"
    assert action(answer)["dialogAction"] == {"type": "Close"}
    _, answer = talk("증상", "뎅기열")
    assert said(answer) == ["아직 모르는 질환이에요: “뎅기열”."]
    assert cards(answer)[0]["title"] == "흔한 질환 (1/3)"


def test_an_unknown_named_condition_gets_the_list() -> None:
    turn = last("symptoms of Zika")
    assert said(turn) == ["I don't know “Zika” yet."]
    assert cards(turn)[0]["title"] == "Common conditions (1/3)"


@pytest.mark.parametrize(("ask", "cancel", "reply"), [("symptoms", "Cancel", "OK, cancelled.")])
def test_cancel_clears_the_pending_slot(ask: str, cancel: str, reply: str) -> None:
    _, cancelled, after = talk(ask, cancel, "Zika")
    assert said(cancelled) == [reply]
    assert buttons(cards(cancelled)[0]) == MENU_EN
    assert cancelled.session_attributes["pending"] == ""
    assert action(cancelled)["dialogAction"] == {"type": "Close"}
    assert after.intent == "FallbackIntent"  # no longer taken as a condition


def test_cancel_in_korean() -> None:
    _, cancelled = talk("증상 확인", "취소")
    assert said(cancelled) == ["취소했어요."]
    assert cancelled.session_attributes["pending"] == ""
    assert buttons(cards(cancelled)[0]) == MENU_KO


def test_a_clear_intent_while_a_slot_is_pending_is_answered() -> None:
    _, answer = talk("symptoms", "list")
    assert answer.intent == "ListConditions"
    assert answer.session_attributes["pending"] == ""
    _, answer = talk("symptoms", "#turns")
    assert said(answer) == ["This is turn 2 of our conversation."]


# --- MatchSymptom --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I have a fever",
        "I've got fevers",
        "I feel feverish",
        "I'm feverish",
        "which conditions cause fever",
        "Which conditions can cause a fever?",
        "what causes fever",
        "symptom fever",
        "fever",
        "high temperature",
        "fever symptoms",
    ],
)
def test_conditions_that_match_a_symptom_in_english(text: str) -> None:
    turn = last(text)
    assert turn.intent == "MatchSymptom"
    names = [row["Disease"] for row in causes("fever")]
    assert said(turn) == [f"Conditions that can cause fever: {', '.join(names)}.", note("en")]
    assert said(turn)[0].startswith("Conditions that can cause fever: Influenza, COVID-19, ")
    [see] = cards(turn)
    assert see["title"] == "See the symptoms of:"
    assert "imageUrl" not in see and "subtitle" not in see
    assert buttons(see) == [(n, f"symptoms of {n}") for n in names[:5]]
    slot = turn.slots["Symptom"]
    assert slot == SlotValue(text if slot is None else slot.original, "fever")
    assert action(turn)["dialogAction"] == {"type": "Close"}


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("what causes headache", "headache"),
        ("what causes headaches?", "headache"),
        ("I have a cough", "cough"),
        ("coughing", "cough"),
        ("which conditions cause a runny nose", "runny nose"),
        ("I'm dizzy", "dizziness"),
        ("I have a stomach ache", "abdominal pain"),
        ("it burns when I pee", "painful urination"),
        ("I have itchy eyes", "itchy eyes"),
        ("기침이 나요", "cough"),
        ("열이 나요", "fever"),
        ("열나요", "fever"),
        ("머리가 아파요", "headache"),
        ("두통 증상이 있어요", "headache"),
        ("콧물", "runny nose"),
        ("기침 증상", "cough"),
    ],
)
def test_symptom_words_in_either_language(text: str, symptom: str) -> None:
    turn = last(text)
    assert turn.intent == "MatchSymptom"
    slot = turn.slots["Symptom"]
    assert slot is not None and slot.interpreted == symptom
    lang = "ko" if symptoms.is_korean(text) else "en"
    data = catalog()
    names = ", ".join(
        row["ko"]["Disease"] if lang == "ko" else row["Disease"] for row in causes(symptom)
    )
    if lang == "ko":
        assert said(turn)[0] == f"{data.korean[symptom]} 증상이 나타날 수 있는 질환: {names}."
        assert cards(turn)[0]["title"] == "증상 보기:"
        assert said(turn)[1] == note("ko")
    else:
        assert said(turn)[0] == f"Conditions that can cause {symptom}: {names}."


def test_every_see_the_symptoms_button_works() -> None:
    for english in catalog().korean:
        for text in (f"I have {english}", catalog().korean[english] + "이 있어요"):
            turn = last(text)
            assert turn.intent == "MatchSymptom", text
            values = [v for _, v in buttons(cards(turn)[0])]
            while values:
                value = values.pop(0)
                answer = last(value)
                if answer.intent == "MatchSymptom":  # "More…": the next page of the card
                    values += [v for _, v in buttons(cards(answer)[0])]
                else:
                    assert answer.intent == "SymptomsOf", value


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_more_conditions_than_buttons_are_paged_behind_more(lang: str) -> None:
    """Headache has seven causes: four buttons and "More…", then the other three."""
    names = [row["Disease"] if lang == "en" else row["ko"]["Disease"] for row in causes("headache")]
    assert len(names) == 7
    first = last("I have a headache" if lang == "en" else "머리가 아파요")
    assert names[0] in said(first)[0] and names[-1] in said(first)[0]  # the text names them all
    page_one = buttons(cards(first)[0])
    more = (
        ("More…", "causes of headache, page 2") if lang == "en" else ("더 보기…", "두통 원인 2쪽")
    )
    assert page_one[-1] == more
    assert [text for text, _ in page_one[:-1]] == names[:4]
    second = last(more[1])
    assert second.intent == "MatchSymptom"
    assert second.messages == [second.messages[0]]  # the card alone
    assert [text for text, _ in buttons(cards(second)[0])] == names[4:]
    assert second.slots == {
        "Symptom": SlotValue("headache" if lang == "en" else "두통", "headache")
    }
    for wrong in ("causes of headache, page 9", "causes of headache, page 0"):
        assert last(wrong).messages[0]["contentType"] == "PlainText"  # page 1, text first
        assert len(cards(last(wrong))[0]["buttons"]) == 5


def test_causes_of_a_symptom_can_be_asked_for_by_name() -> None:
    turn = last("What are the causes of a fever?")
    assert turn.intent == "MatchSymptom"
    assert said(turn)[0].startswith("Conditions that can cause fever: ")
    assert last("기침 원인").intent == "MatchSymptom"


@pytest.mark.parametrize("text", ["check a symptom", "Check symptoms", "증상 확인"])
def test_a_missing_symptom_is_elicited(text: str) -> None:
    turn = last(text)
    assert turn.intent == "MatchSymptom"
    assert turn.elicit == "Symptom"
    state = action(turn)
    assert state["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Symptom"}
    assert state["intent"]["state"] == "InProgress"
    [choices] = cards(turn)
    assert "imageUrl" not in choices and "subtitle" not in choices
    if symptoms.is_korean(text):
        assert said(turn) == ["어떤 증상인가요?"]
        assert buttons(choices) == [(s, s) for s in ["발열", "기침", "두통", "인후통", "메스꺼움"]]
    else:
        assert said(turn) == ["Which symptom?"]
        assert buttons(choices) == [
            ("Fever", "fever"),
            ("Cough", "cough"),
            ("Headache", "headache"),
            ("Sore throat", "sore throat"),
            ("Nausea", "nausea"),
        ]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_each_offered_symptom_answers_the_pending_slot(lang: str) -> None:
    ask = "check a symptom" if lang == "en" else "증상 확인"
    for _, value in buttons(cards(last(ask))[0]):
        _, answer = talk(ask, value)
        assert answer.intent == "MatchSymptom"
        assert answer.elicit is None
        assert answer.session_attributes["pending"] == ""
        assert action(answer)["dialogAction"] == {"type": "Close"}


def test_an_unknown_symptom_asks_again() -> None:
    _, answer = talk("check a symptom", "purple toes")
    assert said(answer) == ["I don't know the symptom “purple toes”."]
    assert buttons(cards(answer)[0])[0] == ("Fever", "fever")
    assert answer.elicit == "Symptom"
    assert action(answer)["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Symptom"}
    assert said(last("I have a purple toe")) == ["I don't know the symptom “purple toe”."]
    _, answer = talk("증상 확인", "보라색 발가락")
    assert said(answer) == ["아직 모르는 증상이에요: “보라색 발가락”."]
    assert buttons(cards(answer)[0])[0] == ("발열", "발열")
    _, _, answer = talk("check a symptom", "purple toes", "cough")
    assert answer.intent == "MatchSymptom" and answer.elicit is None


def test_a_symptom_with_no_name_is_elicited() -> None:
    turn = last("I have")
    assert turn.intent == "FallbackIntent"  # "I have" alone is not a sentence the bot knows
    turn = last("I have a")
    assert turn.elicit == "Symptom"


# --- Goodbye and the fallback -------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["thanks", "Thank you!", "bye", "Goodbye.", "고마워", "감사합니다", "안녕히 가세요"]
)
def test_thanks_and_goodbye(text: str) -> None:
    turn = last("symptoms", text)
    assert turn.intent == "Goodbye"
    [line] = said(turn)
    assert ("Take care" in line) if not symptoms.is_korean(text) else ("건강" in line)
    assert turn.messages == [{"contentType": "PlainText", "content": line}]
    assert turn.session_attributes["pending"] == ""


@pytest.mark.parametrize(
    "text", ["What's the weather?", "naïve café", "cards please", "hello there bot", "01 says 4"]
)
def test_the_fallback_quotes_the_input(text: str) -> None:
    turn = last(text)
    assert turn.intent == "FallbackIntent"
    assert said(turn) == [FALLBACK.format(text)]
    assert action(turn)["dialogAction"] == {"type": "Close"}


def test_the_korean_fallback_quotes_the_input() -> None:
    text = "안녕 세상 \U0001f600"
    [line] = said(last(text))
    assert f'"{text}"' in line
    assert line.startswith("죄송해요")
    assert last(text).intent == "FallbackIntent"


def test_a_long_input_is_quoted_within_lex_limits() -> None:
    [line] = said(last("a" * 1024))
    assert utf16_len(line) <= 1024
    assert line.startswith("Sorry, I didn't understand \"aaaa")
    assert "…" in line
    [line] = said(last("\U0001f600" * 512))
    assert utf16_len(line) <= 1024
    [line] = said(last("symptoms of " + "zika " * 150))
    assert utf16_len(line) <= wording.QUOTE_MAX + 30


# --- diagnostics ---------------------------------------------------------------------------


def test_diagnostic_card() -> None:
    turn = last("#card")
    assert turn.intent == "Diagnostics"
    assert turn.messages == [
        {
            "contentType": "ImageResponseCard",
            "imageResponseCard": {
                "title": "Messenger Lex Bridge",
                "subtitle": "A Lex card becomes a Messenger generic template.",
                "imageUrl": f"{ASSETS}/card.svg",
                "buttons": [
                    {"text": "Say hello", "value": "hello"},
                    {"text": "Count my turns", "value": "#turns"},
                ],
            },
        }
    ]


def test_diagnostic_long_answer() -> None:
    [content] = said(last("#long"))
    assert len(content) > 2000
    assert [p[:8] for p in content.split("\n\n")] == [f"Part {n}. " for n in range(1, 6)]
    assert content.count(diagnostics.LONG_PARAGRAPH) == 25


def test_diagnostic_ssml() -> None:
    turn = last("#SSML")
    [message] = turn.messages
    assert message["contentType"] == "SSML"
    assert message["content"].startswith("<speak>") and message["content"].endswith("</speak>")


def test_turns_counts_every_turn_of_every_intent() -> None:
    turns = talk("hi", "list", "symptoms", "flu", "what?", "thanks", "#card", "#turns")
    assert said(turns[-1]) == ["This is turn 8 of our conversation."]
    assert [t.session_attributes["turns"] for t in turns] == [str(n) for n in range(1, 9)]


# --- language --------------------------------------------------------------------------------


def test_the_language_follows_the_input_and_is_remembered_for_values_without_one() -> None:
    turns = talk("안녕하세요", "GET_STARTED", "more", "#turns", "123", "hello", "더 보기")
    assert [t.session_attributes["lang"] for t in turns] == [
        "ko",
        "ko",
        "ko",
        "ko",
        "ko",
        "en",
        "ko",
    ]
    assert cards(turns[1])[0]["title"] == "무엇을 도와드릴까요?"
    assert cards(turns[2])[0]["title"] == "흔한 질환 (1/3)"
    assert said(turns[4])[0].startswith("죄송해요")
    assert cards(turns[5])[0]["title"] == "What would you like to do?"
    assert last("GET_STARTED").session_attributes["lang"] == "en"


# --- session attributes ----------------------------------------------------------------------


def test_session_attributes_are_strings_and_json_where_structured() -> None:
    turns = talk("symptoms of flu", "symptoms of covid", "list", "symptoms")
    attributes = turns[-1].session_attributes
    assert set(attributes) == {"lang", "turns", "pending", "history", "page"}
    assert all(isinstance(v, str) for v in attributes.values())
    assert json.loads(attributes["turns"]) == 4
    assert json.loads(attributes["history"]) == ["Influenza", "COVID-19"]
    assert json.loads(attributes["page"]) == 1
    assert attributes["lang"] == "en"
    assert attributes["pending"] == "Condition"


def test_history_keeps_the_last_five_diseases_shown() -> None:
    diseases = [
        "Influenza",
        "Asthma",
        "Migraine",
        "Sinusitis",
        "COVID-19",
        "Asthma",
        "Food poisoning",
    ]
    turn = last(*(f"symptoms of {d}" for d in diseases))
    assert json.loads(turn.session_attributes["history"]) == [
        "Migraine",
        "Sinusitis",
        "COVID-19",
        "Asthma",
        "Food poisoning",
    ]


def test_other_keys_are_kept_and_the_input_session_is_not_changed() -> None:
    session = {"topic": "weather", "turns": "40"}
    turn = respond("#turns", session, asset_base=ASSETS)
    assert said(turn) == ["This is turn 41 of our conversation."]
    assert turn.session_attributes["topic"] == "weather"
    assert session == {"topic": "weather", "turns": "40"}


@pytest.mark.parametrize(
    "garbage",
    [
        {"turns": "many", "history": "['Influenza']", "pending": "Whatever", "lang": "fr"},
        {"turns": "-3", "history": "{", "page": "99", "pending": "condition"},
        {"turns": "true", "history": '"Influenza"', "page": "1.5", "lang": "KO"},
        {"turns": "1e400", "history": "[" * 5000 + "]" * 5000, "page": "NaN"},
        {"turns": "9" * 5000, "history": '[1, null, "Nope", "Asthma"]', "page": "-1"},
        {"turns": "", "history": "", "pending": "", "lang": "", "page": ""},
    ],
)
def test_garbage_session_values_start_fresh(garbage: dict[str, str]) -> None:
    turn = respond("#turns", garbage, asset_base=ASSETS)
    assert said(turn) == ["This is turn 1 of our conversation."]
    attributes = turn.session_attributes
    assert attributes["lang"] == "en"
    assert attributes["pending"] == ""
    assert json.loads(attributes["history"]) in ([], ["Asthma"])
    assert json.loads(attributes["page"]) == 0
    assert last("more", session=garbage).intent == "ListConditions"
    assert last("Influenza", session=garbage).intent == "SymptomsOf"


def test_a_python_literal_history_is_not_evaluated() -> None:
    sneaky = {"history": "__import__('os').system('false')"}
    assert json.loads(respond("hi", sneaky, asset_base=ASSETS).session_attributes["history"]) == []


# --- Lex's limits, on every answer -----------------------------------------------------------

EVERYTHING = [
    "hi",
    "GET_STARTED",
    "list",
    "more",
    "more",
    "more",
    "symptoms",
    "Zika",
    "symptoms",
    "Influenza",
    "check a symptom",
    "purple toes",
    "cough",
    "I have a fever",
    "what causes headache",
    "symptoms of " + "x" * 900,
    "I have " + "y" * 900,
    "a" * 1024,
    "\U0001f600" * 512,
    "thanks",
    "#card",
    "#turns",
    "#ssml",
    "안녕하세요",
    "목록",
    "더 보기",
    "더 보기",
    "증상",
    "뎅기열",
    "증상 확인",
    "기침이 나요",
    "열이 나요",
    "독감 증상",
    "감사합니다",
    "안녕 세상",
    *(f"symptoms of {row['Disease']}" for row in ROWS),
    *(f"{row['ko']['Disease']} 증상" for row in ROWS),
    *(f"I have {s}" for s in catalog().korean),
    *(f"{s}이 있어요" for s in catalog().korean.values()),
]


def test_every_answer_keeps_lex_limits() -> None:
    for turn in talk(*EVERYTHING):
        assert 1 <= len(turn.messages) <= 10
        for message in turn.messages:
            if message["contentType"] == "ImageResponseCard":
                response_card = message["imageResponseCard"]
                assert 1 <= len(response_card["title"]) <= 250
                assert len(response_card.get("subtitle", "")) <= 250
                assert len(response_card.get("imageUrl", "")) <= 250
                assert len(response_card["buttons"]) <= 5
                for button in response_card["buttons"]:
                    assert 1 <= len(button["text"]) <= 50, button
                    assert 1 <= len(button["value"]) <= 50, button
                    assert len(button["text"]) <= 20, button  # Messenger's title limit
            else:
                assert message["contentType"] in ("PlainText", "SSML")
                assert 1 <= utf16_len(message["content"]) <= 1024, turn.intent
        assert turn.intent in {
            "Welcome",
            "ListConditions",
            "SymptomsOf",
            "MatchSymptom",
            "Goodbye",
            "FallbackIntent",
            "Diagnostics",
        }
        assert sum(len(k) + len(v) for k, v in turn.session_attributes.items()) < 1024


def test_only_the_long_diagnostic_goes_over_1024() -> None:
    [content] = said(last("#long"))
    assert utf16_len(content) > 1024


# --- through the local Lex endpoint ----------------------------------------------------------

LEX = f"/local/lex/bots/{LOCAL_LEX_BOT_ID}/botAliases/{LOCAL_LEX_ALIAS_ID}/botLocales/en_US"


@pytest.fixture
def client(local_settings: Settings, queue: SqliteQueue, graph: GraphClient) -> FlaskClient:
    app: Flask = create_app(local_settings, queue=queue, bot=ScriptedBot(), graph=graph)
    return app.test_client()


def recognize(client: FlaskClient, text: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{LEX}/sessions/6789012345678901/text", json={"text": text, **body})
    assert response.status_code == 200
    data: dict[str, Any] = response.get_json()
    return data


def test_the_wire_response_elicits_the_slot_then_closes(client: FlaskClient) -> None:
    asked = recognize(client, "symptoms")
    assert asked["sessionState"]["dialogAction"] == {
        "type": "ElicitSlot",
        "slotToElicit": "Condition",
    }
    assert asked["sessionState"]["intent"]["name"] == "SymptomsOf"
    assert asked["sessionState"]["intent"]["state"] == "InProgress"
    assert asked["interpretations"][0]["intent"]["state"] == "InProgress"
    assert asked["messages"][0] == {"contentType": "PlainText", "content": "Which condition?"}
    # The stored session carries the pending slot to the next call.
    answered = recognize(client, "Influenza")
    assert answered["sessionState"]["dialogAction"] == {"type": "Close"}
    assert answered["sessionState"]["intent"]["state"] == "Fulfilled"
    slot = answered["sessionState"]["intent"]["slots"]["Condition"]
    assert slot["value"]["interpretedValue"] == "Influenza"
    attributes = answered["sessionState"]["sessionAttributes"]
    assert json.loads(attributes["history"]) == ["Influenza"]
    assert json.loads(attributes["turns"]) == 2
    assert attributes["pending"] == ""


def test_the_wire_response_elicits_a_symptom_in_korean(client: FlaskClient) -> None:
    asked = recognize(client, "증상 확인")
    assert asked["sessionState"]["dialogAction"] == {
        "type": "ElicitSlot",
        "slotToElicit": "Symptom",
    }
    answered = recognize(client, "기침")
    assert answered["sessionState"]["intent"]["name"] == "MatchSymptom"
    assert answered["sessionState"]["dialogAction"] == {"type": "Close"}
    assert answered["messages"][0]["content"].startswith("기침 증상이 나타날 수 있는 질환:")


def test_the_list_image_is_served(client: FlaskClient) -> None:
    [message] = recognize(client, "list")["messages"]
    url = message["imageResponseCard"]["imageUrl"]
    assert url == "http://127.0.0.1:8000/local/assets/conditions.svg"
    response = client.get("/local/assets/conditions.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")


# --- the data behind the dialog: the Conditions protocol, a Lex hint --------------------------


class CountingStore:
    """The shipped catalog behind ``Conditions``, counting the names each read asks for."""

    def __init__(self, data: Catalog) -> None:
        self.data = data
        self.asked: list[tuple[str, int]] = []

    def overview(self) -> Overview:
        self.asked.append(("overview", 1))
        return self.data.overview()

    def find(self, keys: Sequence[str]) -> Condition | Symptom | None:
        self.asked.append(("find", len(keys)))
        return self.data.find(keys)

    def conditions(self, diseases: Sequence[str]) -> list[Condition]:
        self.asked.append(("conditions", len(diseases)))
        return self.data.conditions(diseases)

    def symptoms(self, names: Sequence[str]) -> list[Symptom]:
        self.asked.append(("symptoms", len(names)))
        return self.data.symptoms(names)


def test_the_dialog_reads_a_few_names_per_turn_never_the_whole_table() -> None:
    for text in EVERYTHING[:40]:
        store = CountingStore(catalog())
        respond(text, {}, asset_base=ASSETS, store=store)
        assert store.asked[0] == ("overview", 1)
        assert len(store.asked) <= 6, (text, store.asked)
        assert all(count <= 20 for _, count in store.asked), (text, store.asked)


def big_catalog(count: int) -> Catalog:
    """The shipped data plus ``count`` invented conditions that all have a fever."""
    raw = copy.deepcopy(RAW)
    for n in range(count):
        raw["conditions"].append(
            {
                "Disease": f"Condition number {n:03d} with a long name",
                "Symptoms": ["fever"],
                "ko": {"Disease": f"질환 {n:03d}", "Symptoms": ["발열"]},
                "aliases": [],
            }
        )
    return build_catalog(raw)


def test_long_lists_stay_within_lex_limits_and_page_behind_more() -> None:
    data = big_catalog(120)
    turn = respond("I have a fever", {}, asset_base=ASSETS, store=data)
    [text, _] = said(turn)
    assert utf16_len(text) <= 1024
    assert text.endswith(" more.")
    [see] = cards(turn)
    assert len(see["buttons"]) == 5 and buttons(see)[-1] == ("More…", "causes of fever, page 2")
    seen, value = [v for _, v in buttons(see)[:-1]], buttons(see)[-1][1]
    while value:
        [page] = cards(respond(value, {}, asset_base=ASSETS, store=data))
        assert len(page["buttons"]) <= 5
        seen += [v for t, v in buttons(page) if t != "More…"]
        value = buttons(page)[-1][1] if buttons(page)[-1][0] == "More…" else ""
    assert seen == [f"symptoms of {d}" for d in data.by_symptom["fever"].conditions]
    listing = respond("list", {}, asset_base=ASSETS, store=data)
    assert cards(listing)[0]["title"] == "Common conditions (1/33)"


def test_without_an_asset_base_cards_have_no_image() -> None:
    [page] = cards(respond("list", {}, asset_base="", store=catalog()))
    assert "imageUrl" not in page and page["subtitle"]
    [diagnostic] = cards(respond("#card", {}, asset_base=""))
    assert "imageUrl" not in diagnostic


def test_a_lex_hint_answers_what_the_rules_do_not_know() -> None:
    text = "how do I know if I have influenza"
    assert last(text).intent == "FallbackIntent"
    hinted = respond(
        text, {}, asset_base=ASSETS, hint=Hint("SymptomsOf", SlotValue("influenza", "Influenza"))
    )
    assert said(hinted)[0].startswith("Common symptoms of Influenza:")
    assert hinted.slots == {"Condition": SlotValue("influenza", "Influenza")}
    empty = respond("tell me more please", {}, asset_base=ASSETS, hint=Hint("MatchSymptom"))
    assert empty.elicit == "Symptom"
    asked = empty.session_attributes  # Lex left the slot it asked for empty: the text answers
    unfilled = respond("purple toes", asked, asset_base=ASSETS, hint=Hint("MatchSymptom"))
    assert said(unfilled) == ["I don't know the symptom “purple toes”."]
    unknown = respond(
        "purple", {}, asset_base=ASSETS, hint=Hint("MatchSymptom", SlotValue("purple", "purple"))
    )
    assert said(unknown) == ["I don't know the symptom “purple”."]
    for intent, expected in [("Welcome", "Welcome"), ("ListConditions", "ListConditions")]:
        assert respond("yo", {}, asset_base=ASSETS, hint=Hint(intent)).intent == expected
    assert respond("yo", {}, asset_base=ASSETS, hint=Hint("Goodbye")).intent == "Goodbye"
    assert respond("yo", {}, asset_base=ASSETS, hint=Hint("FallbackIntent")).intent == (
        "FallbackIntent"
    )


def test_the_rules_come_before_the_hint() -> None:
    """What the local bot understands is answered the same on AWS, whatever Lex chose."""
    hint = Hint("Goodbye")
    for text in ["list", "symptoms of flu", "I have a fever", "열이 나요", "#turns", "cancel"]:
        assert respond(text, {}, asset_base=ASSETS, hint=hint) == last(text)


def test_unavailable_apologises_in_the_session_language() -> None:
    turn = unavailable("123", {"lang": "ko", "turns": "3"})
    assert said(turn) == ["죄송해요, 지금은 찾아볼 수 없어요. 잠시 후 다시 시도해 주세요."]
    assert turn.session_attributes == {"lang": "ko", "turns": "3"}
    assert said(unavailable("hello", {}))[0].startswith("Sorry, I can't look that up")


def test_a_disease_name_may_not_start_with_the_reserved_character() -> None:
    raw = copy.deepcopy(RAW)
    raw["conditions"][0]["Disease"] = "#catalog"
    with pytest.raises(ValueError, match="not starting with"):
        build_catalog(raw)
    raw = copy.deepcopy(RAW)
    raw["conditions"].append(copy.deepcopy(raw["conditions"][0]))
    with pytest.raises(ValueError):
        build_catalog(raw)
