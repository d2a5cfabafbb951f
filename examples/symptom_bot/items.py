"""The DynamoDB table's items, pure: what the loader writes and what the code hook reads back.

One table, partition key ``Disease`` (string), no sort key. Four kinds of item, each read by
its key (GetItem / BatchGetItem), so no request ever scans the table:

- a **condition**: ``Disease`` is the English name, and the row as the data file has it:
  ``Symptoms`` (a list), ``ko`` (``Disease`` and ``Symptoms`` in Korean), ``aliases``;
- a **symptom**, ``#symptom:<English symptom>``: ``Symptom``, its Korean name ``ko`` and
  ``Conditions``, the diseases that have it in list order. This inverted item is the key-based
  path for "which conditions cause a fever" (a list attribute cannot be indexed, so a
  secondary index would need one item per pair anyway);
- a **name**, ``#name:<lookup key>``: the ``Condition`` or the ``Symptom`` a name, alias or
  translation means (the keys of bridge/local/sample_bot/conditions.py ``lookup_keys``);
- the **catalog**, ``#catalog``: ``Order`` (the diseases as the list shows them) and ``note``.

Every item also has ``Kind`` (condition, symptom, name, catalog), for people reading the table.
No disease name starts with ``#`` (the data file is refused otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.local.sample_bot.conditions import Catalog, Condition, Overview, Symptom

KEY = "Disease"
CATALOG_KEY = "#catalog"
SYMPTOM_PREFIX = "#symptom:"
NAME_PREFIX = "#name:"
KEY_MAX_BYTES = 2048  # DynamoDB: a partition key value

Item = dict[str, Any]  # an item in DynamoDB's attribute-value JSON ({"S": ...}, {"L": [...]}, …)


# --- attribute values -----------------------------------------------------------------------


def to_attribute(value: object) -> dict[str, Any]:
    """A value as DynamoDB's attribute-value JSON: strings, integers, booleans, lists, maps."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__} in the table")


def from_attribute(attribute: Mapping[str, Any]) -> object:
    """The value of DynamoDB's attribute-value JSON (the types ``to_attribute`` writes)."""
    [(kind, value)] = attribute.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return int(value)
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "NULL":
        return None
    raise ValueError(f"unexpected attribute type {kind}")


def to_item(values: Mapping[str, object]) -> Item:
    return {name: to_attribute(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, object]:
    return {name: from_attribute(attribute) for name, attribute in item.items()}


def key_of(disease: str) -> Item:
    """The primary key of an item."""
    return {KEY: {"S": disease}}


def symptom_key(symptom: str) -> str:
    return SYMPTOM_PREFIX + symptom


def name_key(lookup: str) -> str:
    return NAME_PREFIX + lookup


# --- the catalog → items ---------------------------------------------------------------------


def catalog_items(catalog: Catalog) -> list[Item]:
    """Every item of the table for ``catalog``: conditions, symptoms, names, the catalog."""
    plain: list[dict[str, object]] = [
        {
            KEY: c.disease,
            "Kind": "condition",
            "Symptoms": list(c.symptoms),
            "ko": {"Disease": c.ko_disease, "Symptoms": list(c.ko_symptoms)},
            "aliases": list(c.aliases),
        }
        for c in catalog.rows
    ]
    plain += [
        {
            KEY: symptom_key(s.symptom),
            "Kind": "symptom",
            "Symptom": s.symptom,
            "ko": s.ko_symptom,
            "Conditions": list(s.conditions),
        }
        for s in catalog.by_symptom.values()
    ]
    plain += [
        {KEY: name_key(lookup), "Kind": "name", "Condition": condition.disease}
        for lookup, condition in catalog.condition_keys.items()
    ]
    plain += [
        {KEY: name_key(lookup), "Kind": "name", "Symptom": symptom}
        for lookup, symptom in catalog.symptom_keys.items()
    ]
    overview = catalog.overview()
    plain.append(
        {KEY: CATALOG_KEY, "Kind": "catalog", "Order": list(overview.order), "note": overview.note}
    )
    for values in plain:
        if len(str(values[KEY]).encode()) > KEY_MAX_BYTES:
            raise ValueError(f"key too long for DynamoDB: {str(values[KEY])[:40]}…")
    return [to_item(values) for values in plain]


# --- items → what the dialog reads ------------------------------------------------------------


def _text(values: Mapping[str, object], name: str) -> str:
    value = values.get(name)
    if not isinstance(value, str):
        raise ValueError(f"item {values.get(KEY)!r}: {name} is not a string")
    return value


def _texts(values: Mapping[str, object], name: str) -> tuple[str, ...]:
    value = values.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"item {values.get(KEY)!r}: {name} is not a list of strings")
    return tuple(value)


def _map(values: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = values.get(name)
    if not isinstance(value, Mapping):
        raise ValueError(f"item {values.get(KEY)!r}: {name} is not a map")
    return value


def condition_of(item: Mapping[str, Any]) -> Condition:
    values = from_item(item)
    korean = _map(values, "ko")
    return Condition(
        disease=_text(values, KEY),
        symptoms=_texts(values, "Symptoms"),
        ko_disease=_text(korean, "Disease"),
        ko_symptoms=_texts(korean, "Symptoms"),
        aliases=_texts(values, "aliases"),
    )


def symptom_of(item: Mapping[str, Any]) -> Symptom:
    values = from_item(item)
    return Symptom(_text(values, "Symptom"), _text(values, "ko"), _texts(values, "Conditions"))


def overview_of(item: Mapping[str, Any]) -> Overview:
    values = from_item(item)
    note = _map(values, "note")
    return Overview(_texts(values, "Order"), {lang: _text(note, lang) for lang in ("en", "ko")})


def target_of(item: Mapping[str, Any]) -> tuple[str, str]:
    """What a name item points at: ("condition", disease) or ("symptom", English symptom)."""
    values = from_item(item)
    if "Condition" in values:
        return "condition", _text(values, "Condition")
    return "symptom", _text(values, "Symptom")


def in_order(items: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[Mapping[str, Any]]:
    """``items`` (as BatchGetItem returns them, in any order) in the order of ``keys``."""
    by_key = {item[KEY]["S"]: item for item in items}
    return [by_key[k] for k in keys if k in by_key]
