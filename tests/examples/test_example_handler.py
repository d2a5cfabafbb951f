"""The symptom bot's Lambda code hook (examples/symptom_bot): the Lex V2 events of
examples/symptom_bot/events/ (every intent, every slot state: empty, elicited, filled, unknown)
through ``handle`` over the shipped data, the Lex V2 response shape and limits, the same
answers as the local bot, logs without user text, and a table that cannot be read."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bridge.local.sample_bot.conditions import Condition, Overview, Symptom, catalog
from bridge.local.sample_bot.symptoms import respond
from bridge.local.sample_bot.turn import SlotValue, Turn, card, plain
from examples.symptom_bot import EXAMPLE_DIR
from examples.symptom_bot.dynamo import StoreError
from examples.symptom_bot.handler import handle
from examples.symptom_bot.lexv2 import (
    BOT_INTENTS,
    fit_messages,
    fit_session,
    lex_response,
    parse_event,
    slot_value,
)

EVENTS = EXAMPLE_DIR / "events"
ASSETS = "https://assets.example/symptom-bot"
NOTE_EN = catalog().note["en"]


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def answer(name: str, **changes: Any) -> dict[str, Any]:
    return handle({**event(name), **changes}, catalog(), asset_base=ASSETS)


def texts(response: dict[str, Any]) -> list[str]:
    return [m["content"] for m in response["messages"] if m["contentType"] == "PlainText"]


def cards(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        m["imageResponseCard"]
        for m in response["messages"]
        if m["contentType"] == "ImageResponseCard"
    ]


def values(response_card: dict[str, Any]) -> list[str]:
    return [b["value"] for b in response_card["buttons"]]


def state(response: dict[str, Any]) -> dict[str, Any]:
    session_state: dict[str, Any] = response["sessionState"]
    return session_state


ALL_EVENTS = sorted(p.stem for p in EVENTS.glob("*.json"))


def test_there_is_an_event_for_every_intent_and_slot_state() -> None:
    recorded = [event(name) for name in ALL_EVENTS]
    intents = {e["sessionState"]["intent"]["name"] for e in recorded}
    assert intents == BOT_INTENTS
    for intent, slot in [("SymptomsOf", "Condition"), ("MatchSymptom", "Symptom")]:
        states = {
            (
                e["sessionState"]["sessionAttributes"].get("pending") == slot,
                e["sessionState"]["intent"]["slots"][slot] is not None,
            )
            for e in recorded
            if e["sessionState"]["intent"]["name"] == intent
        }
        # empty, filled at once, filled after being elicited
        assert {(False, False), (False, True), (True, True)} <= states
    assert {e["invocationSource"] for e in recorded} == {"DialogCodeHook", "FulfillmentCodeHook"}


# --- each recorded event ---------------------------------------------------------------------


def test_welcome() -> None:
    response = answer("welcome")
    assert state(response)["dialogAction"] == {"type": "Close"}
    assert state(response)["intent"] == {
        "name": "Welcome",
        "slots": {},
        "state": "Fulfilled",
        "confirmationState": "None",
    }
    greeting, note = texts(response)
    assert "symptom checker" in greeting and note == NOTE_EN
    [menu] = cards(response)
    assert values(menu) == ["list", "check a symptom", "symptoms of flu"]
    attributes = state(response)["sessionAttributes"]
    assert attributes == {
        "lang": "en",
        "turns": "1",
        "pending": "",
        "history": "[]",
        "page": "0",
    }


def test_list_conditions_and_more() -> None:
    first = answer("list-conditions")
    [page] = cards(first)
    assert page["title"] == "Common conditions (1/3)"
    assert page["imageUrl"] == f"{ASSETS}/conditions.svg"
    assert values(page)[-1] == "more" and len(page["buttons"]) == 5
    assert state(first)["sessionAttributes"]["page"] == "1"
    second = answer("more-conditions")
    assert cards(second)[0]["title"] == "Common conditions (2/3)"
    assert state(second)["intent"]["name"] == "ListConditions"
    assert state(second)["sessionAttributes"]["page"] == "2"


def test_symptoms_of_a_condition_named_in_the_utterance() -> None:
    response = answer("symptoms-of-filled")
    assert state(response)["dialogAction"] == {"type": "Close"}
    intent = state(response)["intent"]
    assert (intent["name"], intent["state"]) == ("SymptomsOf", "Fulfilled")
    assert intent["slots"]["Condition"]["value"]["interpretedValue"] == "Influenza"
    assert texts(response)[0].startswith("Common symptoms of Influenza: fever, chills")
    assert json.loads(state(response)["sessionAttributes"]["history"]) == ["Influenza"]


def test_a_slot_only_lex_understood_is_used() -> None:
    """The rules do not know the sentence; Lex's SymptomsOf with its slot answers it."""
    response = answer("symptoms-of-lex-only")
    assert texts(response)[0].startswith("Common symptoms of Influenza:")
    slot = state(response)["intent"]["slots"]["Condition"]["value"]
    assert slot == {
        "originalValue": "influenza",
        "interpretedValue": "Influenza",
        "resolvedValues": ["Influenza"],
    }


@pytest.mark.parametrize("name", ["symptoms-of-empty", "symptoms-of-empty-lex-only"])
def test_an_empty_condition_slot_is_elicited(name: str) -> None:
    response = answer(name)
    assert state(response)["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Condition"}
    assert state(response)["intent"]["state"] == "InProgress"
    assert state(response)["intent"]["slots"] == {"Condition": None}
    assert texts(response) == ["Which condition?"]
    [choices] = cards(response)
    assert values(choices) == ["Common cold", "Influenza", "COVID-19", "Strep throat", "Migraine"]
    assert state(response)["sessionAttributes"]["pending"] == "Condition"


def test_the_elicited_condition_is_answered() -> None:
    response = answer("symptoms-of-elicited")
    assert state(response)["dialogAction"] == {"type": "Close"}
    assert texts(response)[0].startswith("Common symptoms of Influenza:")
    assert state(response)["sessionAttributes"]["pending"] == ""
    assert state(response)["sessionAttributes"]["turns"] == "3"


@pytest.mark.parametrize("name", ["symptoms-of-unknown", "symptoms-of-unknown-unfilled"])
def test_an_unknown_condition_gets_a_clear_message_and_the_list(name: str) -> None:
    """Whether Lex kept the unknown name in the slot or left the slot it asked for empty."""
    response = answer(name)
    assert texts(response) == ["I don't know “Zika” yet."]
    assert cards(response)[0]["title"] == "Common conditions (1/3)"
    assert state(response)["dialogAction"] == {"type": "Close"}
    assert state(response)["intent"]["slots"] == {"Condition": None}


def test_conditions_matching_a_symptom() -> None:
    response = answer("match-symptom-filled")
    assert texts(response)[0].startswith("Conditions that can cause fever: Influenza, COVID-19")
    assert texts(response)[1] == NOTE_EN
    [see] = cards(response)
    assert values(see)[0] == "symptoms of Influenza" and len(see["buttons"]) == 5
    assert state(response)["intent"]["slots"]["Symptom"]["value"]["interpretedValue"] == "fever"


def test_an_empty_symptom_slot_is_elicited_then_answered() -> None:
    asked = answer("match-symptom-empty")
    assert state(asked)["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Symptom"}
    assert texts(asked) == ["Which symptom?"]
    assert values(cards(asked)[0]) == ["fever", "cough", "headache", "sore throat", "nausea"]
    answered = answer("match-symptom-elicited")
    assert state(answered)["dialogAction"] == {"type": "Close"}
    assert texts(answered)[0].startswith("Conditions that can cause cough:")


def test_an_unknown_symptom_is_asked_again() -> None:
    response = answer("match-symptom-unknown")
    assert texts(response) == ["I don't know the symptom “purple toes”."]
    assert state(response)["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Symptom"}
    assert state(response)["intent"]["slots"] == {"Symptom": None}


def test_the_more_button_of_a_long_list_of_causes() -> None:
    response = answer("match-symptom-more")
    [see] = cards(response)
    assert len(response["messages"]) == 1
    assert values(see) == [
        f"symptoms of {d}" for d in catalog().by_symptom["headache"].conditions[4:]
    ]


def test_goodbye_keeps_the_history() -> None:
    response = answer("goodbye")
    assert texts(response)[0].startswith("Take care")
    assert state(response)["intent"]["name"] == "Goodbye"
    assert json.loads(state(response)["sessionAttributes"]["history"]) == ["Influenza"]


def test_the_fallback_quotes_the_input() -> None:
    response = answer("fallback")
    assert texts(response) == [
        "Sorry, I didn't understand \"what's the weather\". "
        'Try "list", "symptoms of flu" or "I have a fever".'
    ]
    assert state(response)["intent"]["name"] == "FallbackIntent"
    assert state(response)["intent"]["state"] == "Fulfilled"


def test_korean_reaches_the_dialog_through_the_fallback_intent() -> None:
    response = answer("fallback-korean")
    assert texts(response)[0].startswith("발열 증상이 나타날 수 있는 질환: 독감")
    assert state(response)["intent"]["name"] == "MatchSymptom"
    assert state(response)["dialogAction"] == {"type": "Close"}
    assert state(response)["sessionAttributes"]["lang"] == "ko"


def test_diagnostics_answer_under_the_invoked_intent_and_keep_other_keys() -> None:
    response = answer("fallback-diagnostic")
    assert texts(response) == ["This is turn 7 of our conversation."]
    assert state(response)["intent"]["name"] == "FallbackIntent"
    assert state(response)["sessionAttributes"]["topic"] == "kept"


def test_a_long_answer_is_split_under_lex_message_limit() -> None:
    response = answer("fallback-long")
    parts = texts(response)
    assert len(parts) == 5
    assert all(len(part.encode("utf-16-le")) // 2 <= 1024 for part in parts)
    [local] = respond("#long", {}, asset_base=ASSETS).messages
    assert "\n\n".join(parts) == local["content"]


def test_cancel_while_a_slot_is_elicited() -> None:
    response = answer("cancel-while-eliciting")
    assert texts(response) == ["OK, cancelled."]
    assert state(response)["dialogAction"] == {"type": "Close"}
    assert state(response)["intent"]["name"] == "Welcome"
    assert state(response)["sessionAttributes"]["pending"] == ""


# --- every event -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_every_response_is_a_valid_lex_v2_response(name: str) -> None:
    response = answer(name)
    assert set(response) == {"sessionState", "messages"}
    session_state = state(response)
    action, intent = session_state["dialogAction"], session_state["intent"]
    assert action["type"] in ("Close", "ElicitSlot")
    assert intent["name"] in BOT_INTENTS
    if action["type"] == "ElicitSlot":
        assert action["slotToElicit"] in intent["slots"]
        assert intent["state"] == "InProgress"
    else:
        assert set(action) == {"type"} and intent["state"] == "Fulfilled"
    for slot in intent["slots"].values():
        assert slot is None or set(slot["value"]) == {
            "originalValue",
            "interpretedValue",
            "resolvedValues",
        }
    attributes = session_state["sessionAttributes"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())
    for structured in ("turns", "history", "page"):
        json.loads(attributes[structured])
    assert 1 <= len(response["messages"]) <= 10
    for message in response["messages"]:
        if message["contentType"] == "ImageResponseCard":
            response_card = message["imageResponseCard"]
            assert 1 <= len(response_card["title"]) <= 250
            assert len(response_card["buttons"]) <= 5
            for button in response_card["buttons"]:
                assert 1 <= len(button["text"]) <= 50 and 1 <= len(button["value"]) <= 50
        else:
            assert message["contentType"] in ("PlainText", "SSML")
            assert 1 <= len(message["content"].encode("utf-16-le")) // 2 <= 1024
    assert len(json.dumps(response).encode()) < 25_000


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_the_code_hook_answers_as_the_local_bot_does(name: str) -> None:
    """One dialog: whatever the local bot understands gets the same messages and session."""
    recorded = event(name)
    text = recorded["inputTranscript"]
    session = recorded["sessionState"]["sessionAttributes"]
    local = respond(text, session, asset_base=ASSETS)
    if local.intent == "FallbackIntent" and recorded["sessionState"]["intent"]["name"] != (
        "FallbackIntent"
    ):
        return  # a sentence only Lex understood: see test_a_slot_only_lex_understood_is_used
    response = answer(name)
    assert response["messages"] == fit_messages(local.messages)
    assert state(response)["sessionAttributes"] == local.session_attributes


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_logs_carry_no_user_text(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="symptom_bot")
    recorded = event(name)
    answer(name)
    [record] = caplog.records
    line = json.loads(record.getMessage())
    assert line["event"] == "turn"
    assert line["lex_intent"] == recorded["sessionState"]["intent"]["name"]
    assert recorded["sessionId"] not in record.getMessage()
    said = [recorded["inputTranscript"]] + [
        s["value"]["originalValue"]
        for s in recorded["sessionState"]["intent"]["slots"].values()
        if s is not None
    ]
    for words in said:
        assert words not in record.getMessage()


# --- a table that cannot be read -------------------------------------------------------------


class BrokenStore:
    """A table that answers nothing (as when DynamoDB is unreachable)."""

    def overview(self) -> Overview:
        raise StoreError("DynamoDB answered ProvisionedThroughputExceededException")

    def find(self, keys: Sequence[str]) -> Condition | Symptom | None:
        raise StoreError("DynamoDB answered ProvisionedThroughputExceededException")

    def conditions(self, diseases: Sequence[str]) -> list[Condition]:
        raise StoreError("unreachable")

    def symptoms(self, names: Sequence[str]) -> list[Symptom]:
        raise StoreError("unreachable")


def test_a_table_that_cannot_be_read_gets_an_apology(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="symptom_bot")
    recorded = event("symptoms-of-filled")
    response = handle(recorded, BrokenStore(), asset_base="")
    assert texts(response) == [
        "Sorry, I can't look that up right now. Please try again in a moment."
    ]
    assert state(response)["dialogAction"] == {"type": "Close"}
    assert state(response)["intent"]["name"] == "SymptomsOf"
    assert state(response)["intent"]["state"] == "Failed"
    assert state(response)["sessionAttributes"] == recorded["sessionState"]["sessionAttributes"]
    error, turn = (json.loads(r.getMessage()) for r in caplog.records)
    assert error == {
        "event": "store_error",
        "error": "DynamoDB answered ProvisionedThroughputExceededException",
    }
    assert turn["intent_state"] == "Failed"
    assert "flu" not in caplog.text


# --- parsing and fitting, piece by piece ------------------------------------------------------


def test_slot_values_prefer_what_lex_resolved() -> None:
    filled = {
        "value": {
            "originalValue": "flu",
            "interpretedValue": "flu",
            "resolvedValues": ["Influenza"],
        }
    }
    assert slot_value(filled) == SlotValue("flu", "Influenza")
    assert slot_value({"value": {"interpretedValue": "Zika"}}) == SlotValue("Zika", "Zika")
    unresolved = {
        "value": {"originalValue": "Zika", "interpretedValue": "Zika", "resolvedValues": []}
    }
    assert slot_value(unresolved) == SlotValue("Zika", "Zika")
    for empty in (None, {}, {"value": None}, {"value": {"interpretedValue": " "}}, "flu"):
        assert slot_value(empty) is None


def test_a_malformed_event_reads_as_an_empty_fallback_turn() -> None:
    request = parse_event({"sessionState": {"sessionAttributes": {"lang": "ko", "n": 3}}})
    assert (request.text, request.intent, request.hint.slot) == ("", "FallbackIntent", None)
    assert request.session == {"lang": "ko"}
    response = handle({}, catalog(), asset_base="")
    assert state(response)["intent"]["name"] == "FallbackIntent"
    assert texts(response)[0].startswith("Sorry, I didn't understand")


def test_session_attributes_are_json_never_python_literals() -> None:
    sneaky = copy.deepcopy(event("goodbye"))
    sneaky["sessionState"]["sessionAttributes"]["history"] = "__import__('os').system('false')"
    response = handle(sneaky, catalog(), asset_base="")
    assert json.loads(state(response)["sessionAttributes"]["history"]) == []


def test_messages_are_fitted_to_lex_limits() -> None:
    long_card = card(
        "t" * 300,
        subtitle="s" * 300,
        image_url="https://example.com/" + "i" * 300,
        buttons=[("b" * 60, f"value {n}") for n in range(7)] + [("bad", "v" * 51)],
    )
    [fitted] = fit_messages([long_card])
    response_card = fitted["imageResponseCard"]
    assert len(response_card["title"]) == 250 and len(response_card["subtitle"]) == 250
    assert "imageUrl" not in response_card
    assert len(response_card["buttons"]) == 5
    assert all(len(b["text"]) <= 50 for b in response_card["buttons"])
    assert fit_messages([plain("x")] * 12) == [plain("x")] * 10
    assert fit_messages([plain("word " * 400)])[0]["content"].endswith("…")
    assert fit_messages([{"contentType": "ImageResponseCard", "imageResponseCard": {}}]) == []


def test_oversized_foreign_session_values_are_dropped_not_the_turn() -> None:
    session = {"lang": "en", "turns": "1", "pending": "", "history": "[]", "page": "0"}
    assert fit_session({**session, "small": "x"}) == {**session, "small": "x"}
    assert fit_session({**session, "huge": "x" * 13_000}) == session


def test_an_elicited_slot_switches_to_the_intent_that_owns_it() -> None:
    request = parse_event(event("fallback"))
    turn = Turn(
        "SymptomsOf", [plain("Which condition?")], {}, elicit="Condition", slots={"Condition": None}
    )
    response = lex_response(request, turn)
    assert state(response)["intent"]["name"] == "SymptomsOf"
    assert state(response)["intent"]["slots"] == {"Condition": None}
    assert state(response)["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Condition"}


def test_the_recorded_events_are_lex_v2_shaped() -> None:
    for name in ALL_EVENTS:
        recorded = event(name)
        assert recorded["messageVersion"] == "1.0"
        assert recorded["inputMode"] == "Text"
        assert len(recorded["bot"]["id"]) == 10 and recorded["bot"]["localeId"] == "en_US"
        assert recorded["requestAttributes"] == {"x-amz-lex:channels:platform": "Facebook"}
        assert recorded["sessionState"]["intent"]["confirmationState"] == "None"
        assert Path(EVENTS / f"{name}.json").read_text(encoding="utf-8").endswith("}\n")
