"""``python -m bridge notifications``: the notification-messages tokens the bridge recorded
(SQLite, or DynamoDB with BRIDGE_QUEUE=sqs). Never shows a token."""

from __future__ import annotations

import time
from pathlib import Path

import click

from bridge.ops.commands.queue import db_option, open_queue


@click.group("notifications")
@db_option
@click.pass_context
def notifications_group(ctx: click.Context, db: Path) -> None:
    """Notification-messages tokens from people's opt-ins (Marketing Messages).

    With BRIDGE_QUEUE=sqs: the DynamoDB table (BRIDGE_DYNAMODB_TABLE); --db does not apply.
    """
    ctx.obj = db  # opened by the command, so that --help needs no queue


@notifications_group.command("list")
@click.option("--page-id", help="Only this Page's tokens.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def list_tokens(ctx: click.Context, page_id: str | None, limit: int, as_json: bool) -> None:
    """Each token's Page, person (hashed, as in the logs), topic, frequency, status, expiry
    (UTC; "expired" when past) and last change, the latest changed first per Page.

    Tokens themselves are never shown. Tokens are forgotten 30 days after they expired, or
    after they were stopped.
    """
    from bridge.ops.notifications_report import tokens_report

    queue = open_queue(ctx.obj)
    ctx.call_on_close(queue.close)
    tokens = queue.notification_tokens(page=page_id, limit=limit)
    click.echo(tokens_report(tokens, now_ms=int(time.time() * 1000), as_json=as_json))
