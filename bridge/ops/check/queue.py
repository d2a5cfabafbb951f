"""Check 6: the queue can be written. SQLite: open the database, ``BEGIN IMMEDIATE``, roll
back; ``BRIDGE_QUEUE=sqs``: the SQS queue, its dead-letter queue and the DynamoDB table answer
and the table takes a write."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bridge.config.settings import Settings
from bridge.errors import ConfigError
from bridge.ops.check.result import CheckResult, fail


def check_queue(path: Path, *, timeout: float = 5.0) -> CheckResult:
    """The queue database can be written: open, ``BEGIN IMMEDIATE``, roll back."""
    name, title = "queue_db", "Queue database"
    fix = (
        f"make {path} and its directory writable by the user the bridge runs as (SQLite also "
        "writes -wal and -shm files beside it), on a local disk, or set BRIDGE_DB"
    )
    if not path.exists():
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if os.access(parent, os.W_OK | os.X_OK):
            return CheckResult(
                name, title, True, f"{path} does not exist yet; the bridge creates it at start"
            )
        return fail(name, title, f"{path} does not exist and {parent} is not writable", fix)
    try:
        db = sqlite3.connect(
            path.resolve().as_uri() + "?mode=rw", uri=True, timeout=timeout, isolation_level=None
        )
    except sqlite3.Error as exc:
        return fail(name, title, f"cannot open {path}: {exc}", fix)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        message = str(exc)
        if "locked" in message or "busy" in message:
            return fail(
                name,
                title,
                f"{path} stayed locked for {timeout:g} s: {message}",
                "another process holds a long write; if none should, look for a stuck process "
                "using the file",
            )
        return fail(name, title, f"cannot write {path}: {message}", fix)
    finally:
        db.close()
    return CheckResult(name, title, True, f"{path} is writable")


def check_configured_queue(settings: Settings) -> CheckResult:
    """The queue ``BRIDGE_QUEUE`` names: the SQLite database, or (``sqs``) the SQS queue, its
    dead-letter queue and the DynamoDB table answer and take writes."""
    if settings.queue.sqs is None:
        return check_queue(settings.queue.db_path)
    from bridge.errors import QueueError
    from bridge.queue.sqs.aws import queue_name
    from bridge.queue.sqs.queue import SqsQueue

    name, title = "queue_aws", "Queue (SQS, DynamoDB)"
    aws = settings.queue.sqs
    try:
        queue = SqsQueue(aws)
        queue.check_writable(timeout=5.0)
        dead = queue.dead.url
    except (QueueError, ConfigError) as exc:
        return fail(
            name,
            title,
            str(exc),
            "run `python -m bridge init-aws` with these settings (it creates or corrects the"
            " queues and the table); the credentials need the actions `init-aws --policy` lists",
        )
    detail = (
        f"queue {queue_name(aws.queue_url)}, dead-letter queue {queue_name(dead)} and table"
        f" {aws.table} answer"
    )
    return CheckResult(name, title, True, detail)
