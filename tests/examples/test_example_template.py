"""The symptom bot's CloudFormation template (examples/symptom_bot/template.yaml): generated from
the dialog and its data, current, and shaped as the walkthrough and the code hook expect.
(cfn-lint validates it in `make lint`.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.local.sample_bot.answers import choices, question
from bridge.local.sample_bot.conditions import catalog
from bridge.local.sample_bot.matching import Slot
from examples.symptom_bot.lexv2 import BOT_INTENTS
from examples.symptom_bot.template import TEMPLATE_FILE, main, render


def loaded() -> dict[str, Any]:
    template: dict[str, Any] = yaml.safe_load(TEMPLATE_FILE.read_text(encoding="utf-8"))
    return template


def resource(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = loaded()["Resources"][name]["Properties"]
    return properties


def locale() -> dict[str, Any]:
    [only] = resource("Bot")["BotLocales"]
    assert only["LocaleId"] == "en_US"
    return dict(only)


def test_the_committed_template_is_what_the_generator_makes(tmp_path: Path) -> None:
    assert TEMPLATE_FILE.read_text(encoding="utf-8") == render()
    assert main(["--check"]) == 0
    stale = tmp_path / "template.yaml"
    stale.write_text("old", encoding="utf-8")
    assert main(["--check", "--out", str(stale)]) == 1
    assert main(["--out", str(stale)]) == 0 and stale.read_text() == render()


def test_the_intents_are_the_ones_the_code_hook_answers_for() -> None:
    intents = {i["Name"]: i for i in locale()["Intents"]}
    assert set(intents) == BOT_INTENTS
    assert intents["FallbackIntent"]["ParentIntentSignature"] == "AMAZON.FallbackIntent"
    for name, intent in intents.items():
        assert intent["FulfillmentCodeHook"] == {"Enabled": True}
        if name != "FallbackIntent":
            assert intent["DialogCodeHook"] == {"Enabled": True}


def test_utterances_are_unique_and_name_only_their_intents_slots() -> None:
    seen: set[str] = set()
    for intent in locale()["Intents"]:
        slots = {s["Name"] for s in intent.get("Slots", [])}
        for sample in intent.get("SampleUtterances", []):
            utterance = sample["Utterance"]
            assert utterance.casefold() not in seen, utterance
            seen.add(utterance.casefold())
            assert set(re.findall(r"\{(\w+)\}", utterance)) <= slots, utterance


@pytest.mark.parametrize(
    ("intent", "slot"), [("SymptomsOf", "Condition"), ("MatchSymptom", "Symptom")]
)
def test_slot_prompts_are_the_dialogs_question_and_card(intent: str, slot: Slot) -> None:
    [definition] = next(i for i in locale()["Intents"] if i["Name"] == intent)["Slots"]
    assert definition["Name"] == slot
    setting = definition["ValueElicitationSetting"]
    assert setting["SlotConstraint"] == "Required"
    text, prompt_card = setting["PromptSpecification"]["MessageGroupsList"]
    assert text["Message"]["PlainTextMessage"]["Value"] == question(slot, "en")
    dialog_card = choices(catalog(), slot, "en")["imageResponseCard"]
    assert prompt_card["Message"]["ImageResponseCard"] == {
        "Title": dialog_card["title"],
        "Buttons": [{"Text": b["text"], "Value": b["value"]} for b in dialog_card["buttons"]],
    }


def test_slot_types_list_the_data_and_keep_unknown_names() -> None:
    types = {t["Name"]: t for t in locale()["SlotTypes"]}
    conditions = [v["SampleValue"]["Value"] for v in types["ConditionType"]["SlotTypeValues"]]
    assert conditions == list(catalog().overview().order)
    symptoms = [v["SampleValue"]["Value"] for v in types["SymptomType"]["SlotTypeValues"]]
    assert symptoms == list(catalog().korean)
    for slot_type in types.values():
        assert slot_type["ValueSelectionSetting"] == {"ResolutionStrategy": "ORIGINAL_VALUE"}
        for value in slot_type["SlotTypeValues"]:
            synonyms = [s["Value"] for s in value.get("Synonyms", [])]
            assert len({s.casefold() for s in synonyms}) == len(synonyms)
            assert not any(re.search(r"[\uac00-\ud7a3]", s) for s in synonyms)


def test_the_table_is_keyed_by_disease_and_read_only_for_the_code_hook() -> None:
    table = resource("Table")
    assert table["KeySchema"] == [{"AttributeName": "Disease", "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    [policy] = resource("CodeHookRole")["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["dynamodb:GetItem", "dynamodb:BatchGetItem"]


def test_the_alias_calls_the_code_hook_which_lex_may_invoke() -> None:
    function = resource("CodeHook")
    assert function["Handler"] == "examples.symptom_bot.handler.handler"
    assert function["Code"] == "build/lambda"
    assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "Table"}
    [setting] = resource("BotAlias")["BotAliasLocaleSettings"]
    hook = setting["BotAliasLocaleSetting"]["CodeHookSpecification"]["LambdaCodeHook"]
    assert hook == {
        "LambdaArn": {"Fn::GetAtt": ["CodeHook", "Arn"]},
        "CodeHookInterfaceVersion": "1.0",
    }
    permission = resource("AliasInvokesCodeHook")
    assert permission["Principal"] == "lexv2.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["BotAlias", "Arn"]}
    outputs = loaded()["Outputs"]
    assert {"BotId", "BotAliasId", "LocaleId", "TableName"} <= set(outputs)
