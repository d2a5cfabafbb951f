"""Fixtures of the SQS backend's tests: one local AWS-compatible server (moto, server mode) for
the package, a fresh queue and table per test, and two processes sharing them (``queue``,
``other``); helpers to claim, count messages and let a process die."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config.queue import AwsQueueSettings
from bridge.queue import Job, NewJob
from bridge.queue.sqs.aws import make_client
from bridge.queue.sqs.queue import SqsQueue
from tests.conftest import wait_for
from tests.support.aws_resources import REGION, aws_environment, create_resources, unique_names
from tests.support.servers import moto_server

LEASE = 60.0


@pytest.fixture(scope="package")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    env = aws_environment(moto_url, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def settings(aws: dict[str, str]) -> AwsQueueSettings:
    return create_resources(unique_names())


@pytest.fixture
def queue(settings: AwsQueueSettings) -> Iterator[SqsQueue]:
    q = SqsQueue(settings)
    yield q
    q.close()


@pytest.fixture
def other(settings: AwsQueueSettings) -> Iterator[SqsQueue]:
    """A second process sharing the queue and table."""
    q = SqsQueue(settings)
    yield q
    q.close()


def job(key: str, user: str = "u1", page: str = "p1", ts: int = 0) -> NewJob:
    return NewJob(
        key=key, page=page, conversation=f"{page}:{user}", order_ts=ts, payload=f'{{"k":"{key}"}}'
    )


def claim(queue: SqsQueue, owner: str = "t0", *, lease: float = LEASE) -> Job | None:
    return queue.claim(owner=owner, process="proc", now=time.time(), lease=lease)


def claim_soon(
    queue: SqsQueue, owner: str = "t0", *, timeout: float = 10.0, lease: float = LEASE
) -> Job:
    found: Job = wait_for(
        lambda: claim(queue, owner, lease=lease), timeout=timeout, what="a claimable job"
    )
    return found


def messages(settings: AwsQueueSettings) -> dict[str, int]:
    """Visible and in-flight messages of the main queue, as SQS counts them."""
    attributes = make_client("sqs", REGION).get_queue_attributes(
        QueueUrl=settings.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    }


def abandon(queue: SqsQueue) -> None:
    """The process dies: no more lease renewals, its messages are not released."""
    queue._leases.stop()
    queue._held.take_all()
