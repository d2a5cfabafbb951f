"""``python -m bridge init-aws``: create, or check and correct, the SQS queues and the DynamoDB
table that BRIDGE_QUEUE=sqs uses, or print the bridge's least-privilege IAM policy."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.ops.init_aws import Names


@click.command("init-aws")
@click.option(
    "--queue-url",
    envvar="BRIDGE_SQS_QUEUE_URL",
    default=None,
    show_default="BRIDGE_SQS_QUEUE_URL",
    help="The queue's URL, if it exists; its name is used.",
)
@click.option(
    "--queue-name",
    default=None,
    show_default="from --queue-url, or messenger-lex-bridge.fifo",
    help="The FIFO queue's name (ends with .fifo); the dead-letter queue is <name>-dlq.fifo.",
)
@click.option(
    "--table",
    envvar="BRIDGE_DYNAMODB_TABLE",
    default="messenger-lex-bridge",
    show_default="BRIDGE_DYNAMODB_TABLE or messenger-lex-bridge",
    help="The DynamoDB table's name.",
)
@click.option(
    "--region",
    envvar="AWS_REGION",
    default=None,
    show_default="AWS_REGION",
    help="The Region of the queues and the table (the bridge's own).",
)
@click.option(
    "--visibility-timeout",
    envvar="BRIDGE_SQS_VISIBILITY_TIMEOUT",
    type=click.IntRange(2, 3600),
    default=30,
    show_default="BRIDGE_SQS_VISIBILITY_TIMEOUT or 30",
    help="Seconds a received message stays invisible to other containers (renewed while its "
    "job runs): how soon a dead container's messages reappear.",
)
@click.option(
    "--max-receives",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Receives without an answer (each one a container that stopped holding the message) "
    "before SQS moves a message to the dead-letter queue.",
)
@click.option("--dry-run", is_flag=True, help="Only read, and say what would be done.")
@click.option(
    "--policy",
    is_flag=True,
    help="Print the bridge's least-privilege IAM policy (JSON) for these resources and the "
    "Lex bot alias instead; changes nothing.",
)
@click.option("--lex-bot-id", envvar="LEX_BOT_ID", default=None, show_default="LEX_BOT_ID")
@click.option(
    "--lex-alias-id", envvar="LEX_BOT_ALIAS_ID", default=None, show_default="LEX_BOT_ALIAS_ID"
)
def init_aws(
    queue_url: str | None,
    queue_name: str | None,
    table: str,
    region: str | None,
    visibility_timeout: int,
    max_receives: int,
    dry_run: bool,
    policy: bool,
    lex_bot_id: str | None,
    lex_alias_id: str | None,
) -> None:
    """Create, or check and correct, what BRIDGE_QUEUE=sqs uses: an SQS FIFO queue, its FIFO
    dead-letter queue and a DynamoDB table (see docs/scaling-out.md).

    \b
    queue              FIFO; content-based deduplication off (the bridge deduplicates on
                       each event's mid); high-throughput FIFO; --visibility-timeout;
                       long polling (20 s); messages kept 4 days; redrive policy to the
                       dead-letter queue after --max-receives receives
    dead-letter queue  FIFO, messages kept 14 days (python -m bridge queue dead reads it)
    table              key pk + sk (strings), on-demand capacity, TTL on "expires", the
                       sparse index "dropped"

    Safe to run again: what exists as needed is left alone; what differs and can change in
    place is corrected; what cannot (a standard queue, another key schema) is reported.
    Uses boto3's usual credentials and Region (AWS_REGION); the caller needs sqs:CreateQueue,
    sqs:GetQueueUrl, sqs:GetQueueAttributes, sqs:SetQueueAttributes, dynamodb:CreateTable,
    dynamodb:DescribeTable, dynamodb:UpdateTable, dynamodb:DescribeTimeToLive and
    dynamodb:UpdateTimeToLive. Prints the variables to set in every bridge container.

    Exit status: 0 done (or nothing to do), 1 a problem remains (explained), 2 usage errors.
    """
    from bridge.queue.sqs.aws import check_region

    names = _names(queue_url, queue_name, table)
    try:
        found_region = check_region(region)
    except ConfigError as error:
        raise click.UsageError(str(error.problems[0])) from None
    if policy:
        _print_policy(found_region, queue_url, names, lex_bot_id, lex_alias_id)
        return
    sys.exit(
        _init(
            found_region,
            names,
            visibility_timeout=visibility_timeout,
            max_receives=max_receives,
            dry_run=dry_run,
        )
    )


def _names(queue_url: str | None, queue_name: str | None, table: str) -> Names:
    """The queue's name (from --queue-name, --queue-url or the default) and the table's."""
    from bridge.ops import init_aws as awsinit
    from bridge.queue.sqs.aws import queue_name as name_of

    name = queue_name or (name_of(queue_url) if queue_url else awsinit.DEFAULT_QUEUE)
    if not name.endswith(".fifo"):
        raise click.BadParameter("a FIFO queue's name ends with .fifo", param_hint="--queue-name")
    return awsinit.Names(queue=name, table=table)


def _print_policy(
    region: str,
    queue_url: str | None,
    names: Names,
    lex_bot_id: str | None,
    lex_alias_id: str | None,
) -> None:
    """--policy: the IAM policy document, for the account of the queue URL or the caller."""
    from bridge.ops import init_aws as awsinit
    from bridge.queue.sqs.aws import queue_account

    account = (queue_url and queue_account(queue_url)) or _aws_account(region)
    document = awsinit.policy_document(
        region=region,
        account=account,
        names=names,
        lex_bot_id=lex_bot_id or "<LEX_BOT_ID>",
        lex_alias_id=lex_alias_id or "<LEX_BOT_ALIAS_ID>",
    )
    click.echo(json.dumps(document, indent=2))


def _init(
    region: str, names: Names, *, visibility_timeout: int, max_receives: int, dry_run: bool
) -> int:
    """Create or correct the queues and the table; the exit status."""
    from bridge.ops import init_aws as awsinit
    from bridge.queue.sqs.aws import make_client

    options = awsinit.Options(
        names=names,
        visibility_timeout=visibility_timeout,
        max_receives=max_receives,
        dry_run=dry_run,
    )
    sqs = make_client("sqs", region)
    dynamodb = make_client("dynamodb", region)
    return awsinit.init(sqs, dynamodb, options, click.echo)


def _aws_account(region: str) -> str:
    """The caller's AWS account (STS GetCallerIdentity needs no permission)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from bridge.queue.sqs.aws import describe, make_client

    try:
        return str(make_client("sts", region).get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        raise click.ClickException(f"cannot tell the AWS account: {describe(exc)}") from None
