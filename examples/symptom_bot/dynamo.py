"""``Conditions`` over the DynamoDB table (see items.py for its items): every read by key,
GetItem or BatchGetItem, a handful per turn and never a Scan.

The client is boto3's low-level DynamoDB client (the Lambda runtime has boto3); any failure
becomes ``StoreError``, whose message names the AWS error code or the kind of item, never the
words of the person asking.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bridge.local.sample_bot.conditions import Condition, Overview, Symptom
from examples.symptom_bot.items import (
    CATALOG_KEY,
    condition_of,
    in_order,
    key_of,
    name_key,
    overview_of,
    symptom_key,
    symptom_of,
    target_of,
)

BATCH_GET_MAX = 100  # keys per BatchGetItem
ATTEMPTS = 5  # BatchGetItem calls for keys DynamoDB left unprocessed
FIRST_PAUSE = 0.05  # seconds; doubled after each unprocessed answer


class StoreError(Exception):
    """The table could not be read, or held an item the dialog cannot use."""


def _calling(client_call: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
    try:
        return client_call(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise StoreError(f"DynamoDB answered {code}") from None
    except BotoCoreError as exc:
        raise StoreError(f"DynamoDB unreachable: {type(exc).__name__}") from None


def _parsed(parse: Callable[[Mapping[str, Any]], Any], item: Mapping[str, Any], kind: str) -> Any:
    try:
        return parse(item)
    except (ValueError, KeyError, TypeError):
        raise StoreError(f"a {kind} item of the table is malformed") from None


class DynamoConditions:
    """The dialog's reads (``bridge.local.sample_bot.conditions.Conditions``) from the table. Make
    one per
    turn: it keeps the catalog item for the turn only, so a reload shows on the next turn."""

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table
        self._attempts = attempts
        self._sleep = sleep
        self._overview: Overview | None = None

    def overview(self) -> Overview:
        if self._overview is None:
            item = self._get(CATALOG_KEY)
            if item is None:
                raise StoreError("the table has no catalog item: run the seed loader")
            self._overview = _parsed(overview_of, item, "catalog")
        return self._overview

    def find(self, keys: Sequence[str]) -> Condition | Symptom | None:
        names = list(dict.fromkeys(name_key(k) for k in keys))[:BATCH_GET_MAX]
        found = in_order(self._batch_get(names), names)
        if not found:
            return None
        kind, target = _parsed(target_of, found[0], "name")
        if kind == "condition":
            conditions = self.conditions([target])
            return conditions[0] if conditions else None
        symptoms = self.symptoms([target])
        return symptoms[0] if symptoms else None

    def conditions(self, diseases: Sequence[str]) -> list[Condition]:
        keys = list(diseases)
        return [_parsed(condition_of, i, "condition") for i in self._read(keys)]

    def symptoms(self, names: Sequence[str]) -> list[Symptom]:
        keys = [symptom_key(n) for n in names]
        return [_parsed(symptom_of, i, "symptom") for i in self._read(keys)]

    def _read(self, keys: list[str]) -> list[Mapping[str, Any]]:
        """The items of ``keys`` in that order: one GetItem for one key, else BatchGetItem."""
        if len(keys) == 1:
            item = self._get(keys[0])
            return [] if item is None else [item]
        return in_order(self._batch_get(keys), keys)

    def _get(self, disease: str) -> dict[str, Any] | None:
        answer = _calling(self._client.get_item, TableName=self._table, Key=key_of(disease))
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def _batch_get(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET_MAX):
            chunk = unique[start : start + BATCH_GET_MAX]
            items += self._batch_get_chunk({"Keys": [key_of(k) for k in chunk]})
        return items

    def _batch_get_chunk(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        pause = FIRST_PAUSE
        for attempt in range(self._attempts):
            answer = _calling(self._client.batch_get_item, RequestItems={self._table: request})
            items += answer.get("Responses", {}).get(self._table, [])
            left = answer.get("UnprocessedKeys", {}).get(self._table)
            if not left or not left.get("Keys"):
                return items
            request = left
            if attempt + 1 < self._attempts:
                self._sleep(pause)
                pause *= 2
        raise StoreError("DynamoDB left keys unprocessed after every retry")
