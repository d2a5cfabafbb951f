"""What the bridge's AWS resources should look like, and how what exists differs; pure.

Three resources (see bridge/queue/sqs/table.py for how the table is used):

- the dead-letter queue, FIFO, keeping messages 14 days;
- the queue: FIFO, content-based deduplication off (the bridge deduplicates on the event's
  mid), high-throughput FIFO (deduplication per message group, throughput per group), the
  visibility timeout of the bridge's lease, long polling, a redrive policy to the dead-letter
  queue after ``--max-receives`` receives without an answer;
- the table: key ``pk``/``sk`` (strings), on-demand, TTL on ``expires``, the sparse index
  ``dropped``.

Attributes are compared as SQS returns them (strings), so a difference found here is one
``SetQueueAttributes`` would change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bridge.queue.sqs.table import DROPPED_INDEX, PK, SK, TTL_ATTRIBUTE

DEFAULT_QUEUE = "messenger-lex-bridge.fifo"
DEFAULT_TABLE = "messenger-lex-bridge"
DEFAULT_MAX_RECEIVES = 10
DEFAULT_VISIBILITY = 30
QUEUE_RETENTION = 4 * 24 * 3600  # SQS's default; an event is too old to answer after a day
DEAD_RETENTION = 14 * 24 * 3600  # SQS's maximum
LONG_POLL = 20


@dataclass(frozen=True)
class Names:
    queue: str = DEFAULT_QUEUE
    table: str = DEFAULT_TABLE

    @property
    def dead_letter_queue(self) -> str:
        """``<queue>-dlq.fifo`` (a FIFO queue's dead-letter queue must be FIFO too)."""
        return self.queue.removesuffix(".fifo") + "-dlq.fifo"


@dataclass(frozen=True)
class Options:
    names: Names = field(default_factory=Names)
    visibility_timeout: int = DEFAULT_VISIBILITY
    max_receives: int = DEFAULT_MAX_RECEIVES
    dry_run: bool = False


# --- the queues -------------------------------------------------------------------------------


def dead_letter_attributes() -> dict[str, str]:
    return {
        "FifoQueue": "true",
        "ContentBasedDeduplication": "false",
        "MessageRetentionPeriod": str(DEAD_RETENTION),
    }


def queue_attributes(options: Options, dead_letter_arn: str) -> dict[str, str]:
    return {
        "FifoQueue": "true",
        "ContentBasedDeduplication": "false",
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
        "VisibilityTimeout": str(options.visibility_timeout),
        "MessageRetentionPeriod": str(QUEUE_RETENTION),
        "ReceiveMessageWaitTimeSeconds": str(LONG_POLL),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": options.max_receives}
        ),
    }


def attribute_changes(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    """The attributes to set so that ``current`` has ``wanted`` (FifoQueue cannot change)."""
    changes = {}
    for name, value in wanted.items():
        if name == "FifoQueue":
            continue
        if name == "RedrivePolicy":
            if _redrive(current.get(name)) != _redrive(value):
                changes[name] = value
        elif current.get(name) != value:
            changes[name] = value
    return changes


def _redrive(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    policy = json.loads(value)
    return str(policy.get("deadLetterTargetArn")), int(policy.get("maxReceiveCount", 0))


def describe_attributes(attributes: dict[str, str]) -> str:
    """The attributes in words, for the plan."""
    parts = []
    for name, value in attributes.items():
        if name == "RedrivePolicy":
            target, count = _redrive(value) or ("?", 0)
            parts.append(f"redrive to {target.rsplit(':', 1)[-1]} after {count} receives")
        else:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


# --- the table --------------------------------------------------------------------------------

TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": PK, "AttributeType": "S"},
        {"AttributeName": SK, "AttributeType": "S"},
        {"AttributeName": "dl", "AttributeType": "S"},
        {"AttributeName": "finished", "AttributeType": "N"},
    ],
    "KeySchema": [
        {"AttributeName": PK, "KeyType": "HASH"},
        {"AttributeName": SK, "KeyType": "RANGE"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
INDEX_DEFINITION: dict[str, Any] = {
    "IndexName": DROPPED_INDEX,
    "KeySchema": [
        {"AttributeName": "dl", "KeyType": "HASH"},
        {"AttributeName": "finished", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}
TABLE_SUMMARY = f"key {PK}+{SK}, on-demand, index {DROPPED_INDEX}, TTL on {TTL_ATTRIBUTE}"
FIX_WORDS = {
    "on-demand": "switch to on-demand capacity (PAY_PER_REQUEST)",
    "index": f"add the index {DROPPED_INDEX} (dl + finished)",
    "ttl": f"enable TTL on {TTL_ATTRIBUTE}",
}


def table_problems(table: dict[str, Any]) -> list[str]:
    """What cannot be corrected in place: the key schema."""
    keys = {(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])}
    if keys != {(PK, "HASH"), (SK, "RANGE")}:
        return [
            f"its key is {sorted(keys)}, the bridge needs {PK} (HASH, string) + {SK} (RANGE,"
            " string): choose another --table, or delete this one"
        ]
    return []


def table_fixes(table: dict[str, Any], ttl: dict[str, Any]) -> list[str]:
    """What differs and can be corrected: billing mode, the index, TTL (names of the fixes,
    keys of ``FIX_WORDS``)."""
    fixes = []
    if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
        fixes.append("on-demand")
    indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    if DROPPED_INDEX not in indexes:
        fixes.append("index")
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or (
        ttl.get("AttributeName") not in (None, TTL_ATTRIBUTE)
    ):
        fixes.append("ttl")
    return fixes
