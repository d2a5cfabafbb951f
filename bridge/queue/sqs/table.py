"""The SQS backend's DynamoDB table: its shape, item values, and conditional writes.

One table, on-demand, key ``pk`` (string) + ``sk`` (string), TTL on ``expires`` (epoch
seconds), and one sparse index, ``dropped`` (``dl`` + ``finished``), holding only jobs ended
unanswered on purpose. Items:

=====================  ==========  ==========================================================
pk                     sk          what
=====================  ==========  ==========================================================
``job#<event key>``    ``job``     one inbound event: the dedupe record, its state and
                                   attempts, the claim's owner token, the stored reply and the
                                   send ledger (see bridge/queue/sqs/queue.py)
``thread#<page>#<u>``  ``thread``  ``bridge.messenger.thread_control.ThreadState`` of one (Page,
                                   person), with a version for optimistic updates
``notify#<page>``      ``token#<t>`` a notification-messages token (``NotificationToken``);
                       ``user#<u>#<t>`` the same, under its person (see notifications.py)
``notify``             page id     a Page that has notification-messages tokens
``pages``              page id     a Page's throttle (``blocked_until``) and pause
``workers``            process     a delivery process's latest heartbeat
``health``             ``check``   written by ``/readyz`` (the table takes writes)
=====================  ==========  ==========================================================

Values are converted by hand (strings, numbers, booleans) rather than with boto3's
``TypeSerializer``, which refuses ``float``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bridge.errors import QueueError
from bridge.queue.sqs.aws import calling, describe, error_code

PK, SK = "pk", "sk"
TTL_ATTRIBUTE = "expires"
DROPPED_INDEX = "dropped"

Item = dict[str, Any]
Value = str | int | float | bool | None


def job_pk(key: str) -> str:
    return f"job#{key}"


def thread_pk(page: str, user: str) -> str:
    return f"thread#{page}#{user}"


def to_attribute(value: Value) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    return {"S": value}


def from_attribute(attribute: Mapping[str, Any]) -> Value:
    """A DynamoDB attribute value as a Python value (whole numbers as ``int``)."""
    if "S" in attribute:
        return str(attribute["S"])
    if "N" in attribute:
        text = str(attribute["N"])
        return int(text) if text.lstrip("-").isdigit() else float(text)
    if "BOOL" in attribute:
        return bool(attribute["BOOL"])
    return None


def to_item(values: Mapping[str, Value]) -> dict[str, Any]:
    return {name: to_attribute(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> Item:
    return {name: from_attribute(value) for name, value in item.items()}


@dataclass
class Expr:
    """Placeholders for one request's update and condition expressions.

    ``n("state")`` → ``#n0`` and ``v("queued")`` → ``:v0``, so attribute names never collide
    with DynamoDB's reserved words (``state``, ``owner``…).
    """

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    _sets: list[str] = field(default_factory=list)
    _removes: list[str] = field(default_factory=list)

    def n(self, attribute: str) -> str:
        for placeholder, name in self.names.items():
            if name == attribute:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def v(self, value: Value) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_attribute(value)
        return placeholder

    def set(self, attribute: str, value: Value) -> Expr:
        self._sets.append(f"{self.n(attribute)} = {self.v(value)}")
        return self

    def set_default(self, attribute: str, value: Value) -> Expr:
        """Set ``attribute`` only where the item has none."""
        name = self.n(attribute)
        self._sets.append(f"{name} = if_not_exists({name}, {self.v(value)})")
        return self

    def increment(self, attribute: str, by: int) -> Expr:
        name = self.n(attribute)
        self._sets.append(f"{name} = if_not_exists({name}, {self.v(0)}) + {self.v(by)}")
        return self

    def remove(self, *attributes: str) -> Expr:
        self._removes += [self.n(attribute) for attribute in attributes]
        return self

    def update(self) -> str:
        parts = []
        if self._sets:
            parts.append("SET " + ", ".join(self._sets))
        if self._removes:
            parts.append("REMOVE " + ", ".join(self._removes))
        return " ".join(parts)

    def one_of(self, attribute: str, *options: Value) -> str:
        """A condition: ``attribute`` holds one of ``options``."""
        return f"{self.n(attribute)} IN ({', '.join(self.v(option) for option in options)})"

    def equals(self, attribute: str, value: Value) -> str:
        return f"{self.n(attribute)} = {self.v(value)}"

    def missing(self, attribute: str) -> str:
        return f"attribute_not_exists({self.n(attribute)})"

    def request(self, condition: str | None = None) -> dict[str, Any]:
        """The parts of an UpdateItem/PutItem request that carry the expressions."""
        request: dict[str, Any] = {}
        if self._sets or self._removes:
            request["UpdateExpression"] = self.update()
        if condition:
            request["ConditionExpression"] = condition
        if self.names:
            request["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            request["ExpressionAttributeValues"] = dict(self.values)
        return request


@dataclass(frozen=True)
class Written:
    """A conditional write's outcome: ``ok``, and the item after it (or, refused, before it)."""

    ok: bool
    item: Item | None


class Table:
    """Reads and (conditional) writes on the bridge's table; AWS failures become QueueError."""

    def __init__(self, name: str, client: Any) -> None:
        self.name = name
        self._client = client  # a callable giving this process's client

    @property
    def client(self) -> Any:
        return self._client()

    @staticmethod
    def key(pk: str, sk: str) -> dict[str, Any]:
        return {PK: {"S": pk}, SK: {"S": sk}}

    def get(self, pk: str, sk: str) -> Item | None:
        """One item, strongly consistent (what another process just wrote is seen)."""
        response = calling(
            "table read",
            lambda: self.client.get_item(
                TableName=self.name, Key=self.key(pk, sk), ConsistentRead=True
            ),
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def get_many(self, keys: list[tuple[str, str]]) -> dict[str, Item]:
        """Items by ``pk`` (at most 100 keys per call; unprocessed keys are asked again)."""
        found: dict[str, Item] = {}
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {
                self.name: {"Keys": [self.key(*k) for k in keys[start : start + 100]]}
            }
            pending[self.name]["ConsistentRead"] = True
            while pending:
                request = dict(pending)
                response = calling(
                    "table read", partial(self.client.batch_get_item, RequestItems=request)
                )
                for item in response.get("Responses", {}).get(self.name, []):
                    values = from_item(item)
                    found[str(values[PK])] = values
                pending = response.get("UnprocessedKeys") or {}
        return found

    def update(
        self, pk: str, sk: str, expr: Expr, condition: str | None = None, *, what: str
    ) -> Written:
        """UpdateItem; a refused condition gives ``Written(False, the item as it is)``."""
        try:
            response = self.client.update_item(
                TableName=self.name,
                Key=self.key(pk, sk),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **expr.request(condition),
            )
        except ClientError as exc:
            return self._refused(exc, what)
        except BotoCoreError as exc:
            raise QueueError(f"{what} failed: {describe(exc)}") from exc
        attributes = response.get("Attributes")
        return Written(True, from_item(attributes) if attributes else None)

    def put(self, values: Mapping[str, Value], expr: Expr, condition: str, *, what: str) -> Written:
        """PutItem under ``condition``; refused: ``Written(False, the item as it is)``."""
        try:
            self.client.put_item(
                TableName=self.name,
                Item=to_item(values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **expr.request(condition),
            )
        except ClientError as exc:
            return self._refused(exc, what)
        except BotoCoreError as exc:
            raise QueueError(f"{what} failed: {describe(exc)}") from exc
        return Written(True, dict(values))

    @staticmethod
    def _refused(error: ClientError, what: str) -> Written:
        if error_code(error) != "ConditionalCheckFailedException":
            raise QueueError(f"{what} failed: {describe(error)}") from error
        old = error.response.get("Item")
        return Written(False, from_item(old) if old else None)

    def put_plain(self, values: Mapping[str, Value], *, what: str) -> None:
        """PutItem without a condition (heartbeats, health)."""
        calling(what, lambda: self.client.put_item(TableName=self.name, Item=to_item(values)))

    def delete(self, pk: str, sk: str) -> None:
        calling(
            "table delete",
            lambda: self.client.delete_item(TableName=self.name, Key=self.key(pk, sk)),
        )

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        newest_first: bool = False,
        limit: int = 0,
        prefix: str = "",
    ) -> Iterator[Item]:
        """Every item of one partition (of the table, or of ``index`` by its hash key); with
        ``prefix``, those of the table whose ``sk`` begins with it."""
        attribute = "dl" if index == DROPPED_INDEX else PK
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": attribute},
            "ExpressionAttributeValues": {":k": {"S": pk}},
            "ScanIndexForward": not newest_first,
        }
        if prefix:
            request["KeyConditionExpression"] += " AND begins_with(#s, :s)"
            request["ExpressionAttributeNames"]["#s"] = SK
            request["ExpressionAttributeValues"][":s"] = {"S": prefix}
        if index is not None:
            request["IndexName"] = index
        else:
            request["ConsistentRead"] = True
        if limit:
            request["Limit"] = limit
        returned = 0
        while True:
            response = calling("table query", lambda: self.client.query(**request))
            for item in response.get("Items", []):
                yield from_item(item)
                returned += 1
                if limit and returned >= limit:
                    return
            start = response.get("LastEvaluatedKey")
            if not start:
                return
            request["ExclusiveStartKey"] = start
