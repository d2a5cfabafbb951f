"""What the SQS backend needs from AWS: per-process boto3 clients, error translation, ids.

Clients come from boto3's own chain (credentials, ``AWS_REGION``/``AWS_DEFAULT_REGION``, and the
standard endpoint variables ``AWS_ENDPOINT_URL_SQS``, ``AWS_ENDPOINT_URL_DYNAMODB`` or
``AWS_ENDPOINT_URL``, which tests point at a local server). They are made lazily in each process:
the server builds the app in its master and forks the workers from it, and a client's connection
pool must not be shared across a fork.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bridge import __version__
from bridge.errors import ConfigError, QueueError

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0  # DynamoDB and SQS calls other than a long poll

# SQS's limits on MessageGroupId and MessageDeduplicationId: 128 characters from this set.
_SQS_ID = re.compile(r"^[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}$")
_QUEUE_URL = re.compile(
    r"^https?://[^/\s]+/(?P<account>\d{12})/(?P<name>[A-Za-z0-9_-]{1,75}\.fifo)$"
)
_QUEUE_ARN = re.compile(
    r"^arn:[\w-]+:sqs:(?P<region>[\w-]+):(?P<account>\d{12}):(?P<name>[\w.-]+)$"
)


def sqs_id(value: str) -> str:
    """``value`` if SQS accepts it as a group or deduplication id, else a digest of it."""
    if _SQS_ID.match(value):
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def job_id(key: str) -> int:
    """A job's number (logs, ``queue dead``/``requeue``): 48 bits of a digest of its key, so
    every process and every requeue gives the same event the same number."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], 16)


def queue_name(url: str) -> str:
    """The queue's name, from its URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def queue_account(url: str) -> str | None:
    match = _QUEUE_URL.match(url)
    return match["account"] if match else None


def is_queue_url(url: str) -> bool:
    """A FIFO queue's URL (the name ends with ``.fifo``)."""
    return _QUEUE_URL.match(url) is not None


def parse_queue_arn(arn: str) -> tuple[str, str] | None:
    """(account, name) of a queue ARN."""
    match = _QUEUE_ARN.match(arn)
    return (match["account"], match["name"]) if match else None


def error_code(error: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (e.g. ``ConditionalCheckFailedException``)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def describe(error: BaseException) -> str:
    """A short description for logs: the code and the service's message, never credentials."""
    if isinstance(error, ClientError):
        message = str(error.response.get("Error", {}).get("Message", ""))
        return f"{error_code(error)}: {message}"[:300]
    return f"{type(error).__name__}: {error}"[:300]


def calling(what: str, call: Callable[[], Any]) -> Any:
    """Run one AWS call; any AWS or connection failure becomes ``QueueError``."""
    try:
        return call()
    except (ClientError, BotoCoreError) as exc:
        raise QueueError(f"{what} failed: {describe(exc)}") from exc


def check_region(region: str | None) -> str:
    """The Region boto3 will use (``AWS_REGION``, else boto3's chain), or ``ConfigError``."""
    found = boto3.session.Session(region_name=region).region_name
    if found is None:
        raise ConfigError(
            [
                "AWS_REGION is missing: BRIDGE_QUEUE=sqs needs the Region of the queue and the"
                " table, e.g. us-east-1"
            ]
        )
    return str(found)


def make_client(service: str, region: str | None, *, read_timeout: float = READ_TIMEOUT) -> Any:
    """A boto3 client with bounded timeouts and botocore's standard retries (3 attempts).

    Retrying is safe for every call the backend makes: sends carry a deduplication id and
    every table write that decides something is conditional (see bridge/queue/sqs/queue.py).
    """
    session = boto3.session.Session(region_name=region)
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=read_timeout,
        user_agent_extra=f"messenger-lex-bridge/{__version__}",
    )
    return session.client(service, config=config)


class Clients:
    """This process's SQS and DynamoDB clients, made on first use (again after a fork)."""

    def __init__(self, region: str | None, *, long_poll: float) -> None:
        self._region = region
        self._long_poll = long_poll
        self._lock = threading.Lock()
        self._pid = 0
        self._made: dict[str, Any] = {}

    def _get(self, name: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if self._pid != os.getpid():
                self._made, self._pid = {}, os.getpid()
            if name not in self._made:
                self._made[name] = make()
            return self._made[name]

    @property
    def sqs(self) -> Any:
        """For every SQS call; its read timeout is above the long poll's wait."""
        return self._get(
            "sqs",
            lambda: make_client("sqs", self._region, read_timeout=self._long_poll + READ_TIMEOUT),
        )

    @property
    def dynamodb(self) -> Any:
        return self._get("dynamodb", lambda: make_client("dynamodb", self._region))

    def quick(self, service: str, timeout: float) -> Any:
        """A client for health checks: one attempt, answers within ``timeout`` or fails."""

        def make() -> Any:
            session = boto3.session.Session(region_name=self._region)
            config = Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=timeout,
                read_timeout=timeout,
            )
            return session.client(service, config=config)

        return self._get(f"quick-{service}-{timeout}", make)
