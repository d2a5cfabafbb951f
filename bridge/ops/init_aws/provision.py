"""One run of init-aws over ready boto3 clients: each resource is created if missing and
otherwise compared with what the bridge needs (resources.py). A difference that can be
corrected in place is; one that cannot (a standard queue, another key schema) is reported
with what to do.

Running it again changes nothing (idempotent); ``--dry-run`` only reads and says what it would
do. Every AWS error becomes an InitError naming the step that failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bridge.errors import InitError
from bridge.ops.init_aws.resources import (
    FIX_WORDS,
    INDEX_DEFINITION,
    TABLE_DEFINITION,
    TABLE_SUMMARY,
    Options,
    attribute_changes,
    dead_letter_attributes,
    describe_attributes,
    queue_attributes,
    table_fixes,
    table_problems,
)
from bridge.queue.sqs.aws import describe, error_code
from bridge.queue.sqs.table import TTL_ATTRIBUTE

Echo = Callable[[str], None]


@dataclass
class Outcome:
    """What a run found: the queue's URL (once it exists) and problems it could not fix."""

    queue_url: str | None = None
    problems: list[str] = field(default_factory=list)


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
            return self._create_queue(what, name, attributes)
        url = str(found["QueueUrl"])
        current = _call(
            f"reading {what}",
            lambda: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        ).get("Attributes", {})
        if current.get("FifoQueue") != "true":
            self._problem(what, "a standard queue: the bridge needs a FIFO queue (.fifo)")
        else:
            self._correct_queue(what, url, attribute_changes(current, attributes))
        return url

    def _create_queue(self, what: str, name: str, attributes: dict[str, str]) -> str | None:
        verb = "would create" if self.options.dry_run else "create"
        self._say("+", what, f"{verb}: {describe_attributes(attributes)}")
        if self.options.dry_run:
            return None
        created = _call(
            f"creating {what}",
            lambda: self.sqs.create_queue(QueueName=name, Attributes=attributes),
        )
        return str(created["QueueUrl"])

    def _correct_queue(self, what: str, url: str, changes: dict[str, str]) -> None:
        if not changes:
            self._say("✓", what, "exists as needed")
            return
        verb = "would set" if self.options.dry_run else "set"
        self._say("~", what, f"{verb} {describe_attributes(changes)}")
        if not self.options.dry_run:
            _call(
                f"updating {what}",
                lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes=changes),
            )

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
            self._say("+", what, f"{verb}: {TABLE_SUMMARY}")
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
        self._say("~", what, verb + "; ".join(FIX_WORDS[fix] for fix in fixes))
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
