"""``python -m bridge queue``: inspect and repair the delivery queue (SQLite, or SQS and
DynamoDB with BRIDGE_QUEUE=sqs)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.queue import Admin, Housekeeping, Queue, Stats

# The queue database, for every command that opens the queue (``queue``, ``notifications``).
db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="BRIDGE_DB",
    default=Path("var/bridge.db"),
    show_default="BRIDGE_DB or var/bridge.db",
    help="The queue database.",
)


@click.group("queue")
@db_option
@click.pass_context
def queue_group(ctx: click.Context, db: Path) -> None:
    """Inspect and repair the delivery queue: stats, dead letters, requeue, purge.

    With BRIDGE_QUEUE=sqs: the SQS queue, its dead-letter queue and the DynamoDB table
    (BRIDGE_SQS_QUEUE_URL, BRIDGE_DYNAMODB_TABLE); --db does not apply.
    """
    ctx.obj = open_queue(db)
    ctx.call_on_close(ctx.obj.close)


def open_queue(db: Path) -> Queue:
    """The configured queue: SQS and DynamoDB with BRIDGE_QUEUE=sqs, else the database ``db``
    (which must exist); ClickException if it cannot be opened."""
    from bridge.config.queue import aws_queue_settings

    try:
        aws = aws_queue_settings(os.environ)
        if aws is not None:
            from bridge.queue.sqs.queue import SqsQueue

            return SqsQueue(aws)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if not db.exists():
        raise click.ClickException(f"no queue database at {db} (set BRIDGE_DB or --db)")
    from bridge.queue.sqlite.store import SqliteQueue

    return SqliteQueue(db)


@queue_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def stats(queue: Stats, as_json: bool) -> None:
    """Jobs by state, the oldest unfinished job, per-Page counts, Page holds, workers."""
    from bridge.ops import queue_report as queuecli

    now = time.time()
    click.echo(
        queuecli.stats_report(
            queue.stats(now=now), queue.pages(), queue.workers(), now=now, as_json=as_json
        )
    )


@queue_group.command()
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--dropped", is_flag=True, help="Also list jobs dropped on purpose.")
@click.option(
    "--show-text",
    is_flag=True,
    help="Include what the person wrote (hidden by default: it is personal data).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def dead(queue: Admin, limit: int, dropped: bool, show_text: bool, as_json: bool) -> None:
    """Dead letters (newest first) with the reason each one failed."""
    from bridge.ops import queue_report as queuecli

    letters = queue.dead_letters(include_dropped=dropped, limit=limit)
    click.echo(queuecli.dead_report(letters, show_text=show_text, as_json=as_json))


@queue_group.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Requeue every dead letter.")
@click.option("--reason", help="Requeue dead letters whose reason contains this text.")
@click.pass_obj
def requeue(queue: Admin, ids: tuple[int, ...], everything: bool, reason: str | None) -> None:
    """Put dead letters back in the queue with fresh attempts (by id, --reason or --all).

    A running bridge picks them up within BRIDGE_POLL_INTERVAL.
    """
    if not (ids or everything or reason):
        raise click.UsageError("name dead letters by id, or use --reason or --all")
    count = queue.requeue(ids=list(ids) or None, reason=reason, everything=everything)
    click.echo(f"requeued {count} dead letter{'' if count == 1 else 's'}")


@queue_group.command()
@click.option(
    "--older-than",
    "days",
    type=float,
    default=7.0,
    show_default=True,
    help="Days since the job finished.",
)
@click.pass_obj
def purge(queue: Housekeeping, days: float) -> None:
    """Forget done and dropped jobs (delivery also does this hourly, after 7 days).

    A purged event's mid no longer deduplicates a redelivery of it.
    """
    count = queue.purge(before=time.time() - days * 86400)
    click.echo(f"purged {count} finished job{'' if count == 1 else 's'}")
