"""The symptom bot's table items (examples/symptom_bot/items.py) and the retry loops of the
store and the loader, with values and a scripted client (the real DynamoDB calls are in
test_example_dynamo.py, against a local server)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bridge.local.sample_bot.conditions import catalog
from examples.symptom_bot.dynamo import DynamoConditions, StoreError
from examples.symptom_bot.items import (
    CATALOG_KEY,
    KEY,
    catalog_items,
    condition_of,
    from_attribute,
    in_order,
    overview_of,
    symptom_of,
    target_of,
    to_attribute,
)
from examples.symptom_bot.load import LoadError, batches, write_requests


def by_key() -> dict[str, dict[str, Any]]:
    return {item[KEY]["S"]: item for item in catalog_items(catalog())}


def test_attribute_values_round_trip() -> None:
    value = {"s": "감기", "n": 3, "b": True, "l": ["a", ["b"]], "m": {"x": "y"}, "e": []}
    assert to_attribute("x") == {"S": "x"}
    assert to_attribute(7) == {"N": "7"}
    assert to_attribute(["a"]) == {"L": [{"S": "a"}]}
    assert from_attribute(to_attribute(value)) == value
    assert from_attribute({"NULL": True}) is None
    with pytest.raises(TypeError):
        to_attribute(1.5)
    with pytest.raises(ValueError):
        from_attribute({"SS": ["a"]})


def test_one_item_per_condition_symptom_and_name_and_one_catalog() -> None:
    data = catalog()
    items = catalog_items(data)
    kinds = Counter(item["Kind"]["S"] for item in items)
    assert kinds == {
        "condition": 12,
        "symptom": len(data.korean),
        "name": len(data.condition_keys) + len(data.symptom_keys),
        "catalog": 1,
    }
    keys = [item[KEY]["S"] for item in items]
    assert len(set(keys)) == len(keys)
    assert all(
        k.startswith("#") == (item["Kind"]["S"] != "condition")
        for k, item in zip(keys, items, strict=True)
    )


def test_a_condition_item_is_the_row_of_the_data_file() -> None:
    item = by_key()["Influenza"]
    assert item["Symptoms"]["L"][0] == {"S": "fever"}
    assert item["ko"]["M"]["Disease"] == {"S": "독감"}
    assert condition_of(item) == catalog().by_disease["Influenza"]
    assert set(item) == {KEY, "Kind", "Symptoms", "ko", "aliases"}


def test_symptom_name_and_catalog_items_read_back() -> None:
    items = by_key()
    assert symptom_of(items["#symptom:fever"]) == catalog().by_symptom["fever"]
    assert target_of(items["#name:flu"]) == ("condition", "Influenza")
    assert target_of(items["#name:열"]) == ("symptom", "fever")
    assert overview_of(items[CATALOG_KEY]) == catalog().overview()


def test_malformed_items_are_refused() -> None:
    item = dict(by_key()["Influenza"])
    item["Symptoms"] = {"S": "fever"}
    with pytest.raises(ValueError, match="Symptoms"):
        condition_of(item)
    with pytest.raises(ValueError):
        overview_of({KEY: {"S": CATALOG_KEY}})


def test_items_come_back_in_the_order_asked() -> None:
    items = [by_key()[k] for k in ("Asthma", "Influenza", "Migraine")]
    ordered = in_order(items, ["Migraine", "Nope", "Asthma", "Influenza"])
    assert [i[KEY]["S"] for i in ordered] == ["Migraine", "Asthma", "Influenza"]


def test_batches_of_25() -> None:
    assert [len(b) for b in batches([put(n) for n in range(60)])] == [25, 25, 10]


class ScriptedClient:
    """Answers BatchWriteItem / BatchGetItem from a script, recording each call."""

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self.answers = answers
        self.calls: list[dict[str, Any]] = []

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return self.answers.pop(0)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return self.answers.pop(0)


def put(n: int) -> dict[str, Any]:
    return {"PutRequest": {"Item": {KEY: {"S": f"item {n}"}}}}


def test_unprocessed_items_are_sent_again_with_growing_pauses() -> None:
    requests = [put(n) for n in range(30)]
    client = ScriptedClient(
        [
            {"UnprocessedItems": {"T": requests[20:25]}},
            {"UnprocessedItems": {"T": requests[24:25]}},
            {"UnprocessedItems": {}},
            {},
        ]
    )
    pauses: list[float] = []
    assert write_requests(client, "T", requests, sleep=pauses.append) == 4
    sent = [call["RequestItems"]["T"] for call in client.calls]
    assert sent == [requests[:25], requests[20:25], requests[24:25], requests[25:]]
    assert pauses == [0.1, 0.2]


def test_items_left_unprocessed_every_time_fail_the_load() -> None:
    client = ScriptedClient([{"UnprocessedItems": {"T": [put(1)]}}] * 3)
    pauses: list[float] = []
    with pytest.raises(LoadError, match="1 items stayed unprocessed after 3 attempts"):
        write_requests(client, "T", [put(1)], attempts=3, sleep=pauses.append)
    assert pauses == [0.1, 0.2]


def test_unprocessed_keys_are_read_again() -> None:
    items = by_key()
    keys = [{KEY: {"S": "Asthma"}}, {KEY: {"S": "Migraine"}}]
    client = ScriptedClient(
        [
            {"Responses": {"T": [items["Migraine"]]}, "UnprocessedKeys": {"T": {"Keys": keys[:1]}}},
            {"Responses": {"T": [items["Asthma"]]}, "UnprocessedKeys": {}},
        ]
    )
    pauses: list[float] = []
    store = DynamoConditions(client, "T", sleep=pauses.append)
    assert [c.disease for c in store.conditions(["Asthma", "Migraine"])] == ["Asthma", "Migraine"]
    assert client.calls[1]["RequestItems"] == {"T": {"Keys": keys[:1]}}
    assert pauses == [0.05]
    stubborn = ScriptedClient([{"Responses": {}, "UnprocessedKeys": {"T": {"Keys": keys}}}] * 2)
    with pytest.raises(StoreError, match="unprocessed"):
        DynamoConditions(stubborn, "T", attempts=2, sleep=pauses.append).conditions(
            ["Asthma", "Migraine"]
        )
