"""Where jobs wait: the embedded SQLite file, or an SQS FIFO queue with a DynamoDB table
shared by several containers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bridge.config.env import EnvReader
from bridge.errors import ConfigError

QUEUES = ("sqlite", "sqs")
_SQS_QUEUE_URL = re.compile(r"^https?://[^\s/]+/\d{12}/[A-Za-z0-9_-]{1,75}\.fifo$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


@dataclass(frozen=True)
class AwsQueueSettings:
    """The shared queue of ``BRIDGE_QUEUE=sqs``: an SQS FIFO queue and a DynamoDB table."""

    queue_url: str
    table: str
    region: str | None = None  # AWS_REGION; None: boto3's own chain decides
    visibility_timeout: int = 30
    wait_time: int = 10


@dataclass(frozen=True)
class QueueSettings:
    """``kind`` sqlite: the queue is the file at ``db_path``; sqs: ``sqs`` says where."""

    kind: str = "sqlite"
    db_path: Path = Path("var/bridge.db")
    sqs: AwsQueueSettings | None = None


def read_kind(env: EnvReader) -> str:
    """BRIDGE_QUEUE: sqlite or sqs."""
    return env.choice("BRIDGE_QUEUE", QUEUES, "sqlite")


def read_queue(env: EnvReader, kind: str) -> QueueSettings:
    """BRIDGE_DB and, for sqs, the queue and table."""
    return QueueSettings(
        kind=kind,
        db_path=Path(env.text("BRIDGE_DB", "var/bridge.db")),
        sqs=_read_sqs(env, kind),
    )


def aws_queue_settings(environ: Mapping[str, str]) -> AwsQueueSettings | None:
    """The SQS queue and table alone (for ``bridge queue`` and ``init-aws``, which need no
    Page or bot); None unless ``BRIDGE_QUEUE=sqs``. Raises ``ConfigError`` listing problems."""
    env = EnvReader(environ)
    settings = _read_sqs(env, read_kind(env))
    if env.problems:
        raise ConfigError(env.problems)
    return settings


def _read_sqs(env: EnvReader, kind: str) -> AwsQueueSettings | None:
    """BRIDGE_QUEUE=sqs: the queue's URL and the table's name are required. Otherwise they must
    be unset: containers that each use their own SQLite file share nothing."""
    if kind != "sqs":
        for name in ("BRIDGE_SQS_QUEUE_URL", "BRIDGE_DYNAMODB_TABLE"):
            if env.is_set(name):
                env.problem(
                    f"{name} is set but BRIDGE_QUEUE is {kind}: set BRIDGE_QUEUE=sqs to share"
                    f" the SQS queue and DynamoDB table, or unset {name}"
                )
        return None
    url = env.matching(
        "BRIDGE_SQS_QUEUE_URL",
        _SQS_QUEUE_URL,
        "a FIFO queue's URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/"
        "messenger-lex-bridge.fifo (`python -m bridge init-aws` prints it)",
        "",
        required=True,
    )
    table = env.matching(
        "BRIDGE_DYNAMODB_TABLE",
        _TABLE_NAME,
        "a DynamoDB table name (3-255 letters, digits, _ . -), e.g. messenger-lex-bridge",
        "",
        required=True,
    )
    return AwsQueueSettings(
        queue_url=url,
        table=table,
        region=env.text("AWS_REGION", "") or None,
        visibility_timeout=env.integer("BRIDGE_SQS_VISIBILITY_TIMEOUT", 30, low=2, high=3600),
        wait_time=env.integer("BRIDGE_SQS_WAIT_TIME", 10, low=0, high=20),
    )
