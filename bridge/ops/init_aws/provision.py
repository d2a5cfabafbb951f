"""``python -m bridge init-aws``: create, or check and correct, what ``BRIDGE_QUEUE=sqs`` uses.

Three resources, each created if missing and otherwise compared with what the bridge needs
(a difference that can be corrected in place is; one that cannot — a standard queue, another
key schema — is reported with what to do):

- the dead-letter queue, FIFO, keeping messages 14 days;
- the queue: FIFO, content-based deduplication off (the bridge deduplicates on the event's
  mid), high-throughput FIFO (deduplication per message group, throughput per group), the
  visibility timeout of the bridge's lease, long polling, a redrive policy to the dead-letter
  queue after ``--max-receives`` receives without an answer;
- the table: key ``pk``/``sk`` (strings), on-demand, TTL on ``expires``, the sparse index
  ``dropped`` (see bridge/queue/sqs/table.py).

Running it again changes nothing (idempotent); ``--dry-run`` only reads and says what it would
do. ``policy_document`` is the least-privilege IAM policy of a running bridge.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bridge.errors import InitError
from bridge.queue.sqs.aws import describe, error_code
from bridge.queue.sqs.table import DROPPED_INDEX, PK, SK, TTL_ATTRIBUTE

DEFAULT_QUEUE = "messenger-lex-bridge.fifo"
DEFAULT_TABLE = "messenger-lex-bridge"
DEFAULT_MAX_RECEIVES = 10
DEFAULT_VISIBILITY = 30
QUEUE_RETENTION = 4 * 24 * 3600  # SQS's default; an event is too old to answer after a day
DEAD_RETENTION = 14 * 24 * 3600  # SQS's maximum
LONG_POLL = 20

Echo = Callable[[str], None]


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


@dataclass
class Outcome:
    """What a run found: the queue's URL (once it exists) and problems it could not fix."""

    queue_url: str | None = None
    problems: list[str] = field(default_factory=list)


# --- what the resources should look like (pure) ------------------------------------------------


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
    """What differs and can be corrected: billing mode, the index, TTL (names of the fixes)."""
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


_FIX_WORDS = {
    "on-demand": "switch to on-demand capacity (PAY_PER_REQUEST)",
    "index": f"add the index {DROPPED_INDEX} (dl + finished)",
    "ttl": f"enable TTL on {TTL_ATTRIBUTE}",
}


def policy_document(
    *,
    region: str,
    account: str,
    names: Names,
    lex_bot_id: str,
    lex_alias_id: str,
) -> dict[str, Any]:
    """The least-privilege IAM policy of a running bridge (and of ``bridge queue``)."""
    sqs = f"arn:aws:sqs:{region}:{account}"
    table = f"arn:aws:dynamodb:{region}:{account}:table/{names.table}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LexTurns",
                "Effect": "Allow",
                "Action": ["lex:RecognizeText"],
                "Resource": [
                    f"arn:aws:lex:{region}:{account}:bot-alias/{lex_bot_id}/{lex_alias_id}"
                ],
            },
            {
                "Sid": "Queue",
                "Effect": "Allow",
                "Action": [
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                ],
                "Resource": [f"{sqs}:{names.queue}", f"{sqs}:{names.dead_letter_queue}"],
            },
            {
                "Sid": "Table",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                ],
                "Resource": [table, f"{table}/index/{DROPPED_INDEX}"],
            },
        ],
    }


# --- talking to AWS ---------------------------------------------------------------------------


def _call(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except (ClientError, BotoCoreError) as exc:
        raise InitError(f"{what}: {describe(exc)}") from exc


def _missing(call: Callable[[], Any], codes: tuple[str, ...]) -> Any:
    """``call()``, or None when AWS says the resource does not exist."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in codes:
            return None
        raise InitError(describe(exc)) from exc
    except BotoCoreError as exc:
        raise InitError(describe(exc)) from exc


_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class Setup:
    """One run of init-aws with ready clients (``sqs``, ``dynamodb``)."""

    def __init__(self, sqs: Any, dynamodb: Any, options: Options, echo: Echo) -> None:
        self.sqs = sqs
        self.dynamodb = dynamodb
        self.options = options
        self.echo = echo
        self.outcome = Outcome()

    def run(self) -> Outcome:
        names = self.options.names
        dead = names.dead_letter_queue
        dead_url = self._queue("dead-letter queue", dead, dead_letter_attributes())
        wanted = queue_attributes(self.options, self._arn(dead_url, dead))
        self.outcome.queue_url = self._queue("queue", names.queue, wanted)
        self._table(names.table)
        return self.outcome

    def _say(self, mark: str, what: str, detail: str) -> None:
        self.echo(f"{mark} {what}: {detail}")

    def _queue(self, kind: str, name: str, attributes: dict[str, str]) -> str | None:
        """The queue's URL (None: not created, dry run) after creating or correcting it."""
        what = f"{kind} {name}"
        found = _missing(lambda: self.sqs.get_queue_url(QueueName=name), _NO_QUEUE)
        if found is None:
            verb = "would create" if self.options.dry_run else "create"
            self._say("+", what, f"{verb}: {describe_attributes(attributes)}")
            if self.options.dry_run:
                return None
            created = _call(
                f"creating {what}",
                lambda: self.sqs.create_queue(QueueName=name, Attributes=attributes),
            )
            return str(created["QueueUrl"])
        url = str(found["QueueUrl"])
        current = _call(
            f"reading {what}",
            lambda: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        ).get("Attributes", {})
        if current.get("FifoQueue") != "true":
            self._problem(what, "a standard queue: the bridge needs a FIFO queue (.fifo)")
            return url
        changes = attribute_changes(current, attributes)
        if not changes:
            self._say("✓", what, "exists as needed")
            return url
        verb = "would set" if self.options.dry_run else "set"
        self._say("~", what, f"{verb} {describe_attributes(changes)}")
        if not self.options.dry_run:
            _call(
                f"updating {what}",
                lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes=changes),
            )
        return url

    def _arn(self, url: str | None, name: str) -> str:
        if url is None:
            return f"arn:aws:sqs:-:-:{name}"  # dry run: not created yet
        attributes = _call(
            "reading the dead-letter queue",
            lambda: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]),
        )
        return str(attributes["Attributes"]["QueueArn"])

    def _table(self, name: str) -> None:
        what = f"table {name}"
        found = _missing(
            lambda: self.dynamodb.describe_table(TableName=name), ("ResourceNotFoundException",)
        )
        if found is None:
            verb = "would create" if self.options.dry_run else "create"
            detail = f"key {PK}+{SK}, on-demand, index {DROPPED_INDEX}, TTL on {TTL_ATTRIBUTE}"
            self._say("+", what, f"{verb}: {detail}")
            if not self.options.dry_run:
                self._create_table(name)
            return
        table = found["Table"]
        problems = table_problems(table)
        if problems:
            for problem in problems:
                self._problem(what, problem)
            return
        ttl = _call(
            f"reading {what}", lambda: self.dynamodb.describe_time_to_live(TableName=name)
        ).get("TimeToLiveDescription", {})
        fixes = table_fixes(table, ttl)
        if not fixes:
            self._say("✓", what, "exists as needed")
            return
        verb = "would " if self.options.dry_run else ""
        self._say("~", what, verb + "; ".join(_FIX_WORDS[fix] for fix in fixes))
        if not self.options.dry_run:
            self._fix_table(name, fixes)

    def _create_table(self, name: str) -> None:
        _call(
            f"creating table {name}",
            lambda: self.dynamodb.create_table(
                TableName=name, GlobalSecondaryIndexes=[INDEX_DEFINITION], **TABLE_DEFINITION
            ),
        )
        _call(
            f"waiting for table {name}",
            lambda: self.dynamodb.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
            ),
        )
        self._enable_ttl(name)

    def _fix_table(self, name: str, fixes: list[str]) -> None:
        if "on-demand" in fixes:
            _call(
                f"updating table {name}",
                lambda: self.dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST"),
            )
        if "index" in fixes:
            _call(
                f"adding the index to {name}",
                lambda: self.dynamodb.update_table(
                    TableName=name,
                    AttributeDefinitions=TABLE_DEFINITION["AttributeDefinitions"],
                    GlobalSecondaryIndexUpdates=[{"Create": INDEX_DEFINITION}],
                ),
            )
        if "ttl" in fixes:
            self._enable_ttl(name)

    def _enable_ttl(self, name: str) -> None:
        _call(
            f"enabling TTL on {name}",
            lambda: self.dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
            ),
        )

    def _problem(self, what: str, problem: str) -> None:
        self._say("✗", what, problem)
        self.outcome.problems.append(f"{what}: {problem}")


def init(sqs: Any, dynamodb: Any, options: Options, echo: Echo) -> int:
    """Run init-aws and say what to set; the exit status (0 done, 1 a problem remains)."""
    try:
        outcome = Setup(sqs, dynamodb, options, echo).run()
    except InitError as exc:
        echo(f"✗ {exc}")
        return 1
    if outcome.problems:
        echo("\nNot done: fix what is marked ✗ and run init-aws again.")
        return 1
    if options.dry_run:
        echo("\nNothing was changed (--dry-run).")
        return 0
    echo("\nSet in every bridge container's environment:")
    echo("  BRIDGE_QUEUE=sqs")
    echo(f"  BRIDGE_SQS_QUEUE_URL={outcome.queue_url}")
    echo(f"  BRIDGE_DYNAMODB_TABLE={options.names.table}")
    return 0
