"""A local AWS-compatible server for tests: moto in server mode on a free loopback port.

boto3 reaches it through the standard endpoint variables (``AWS_ENDPOINT_URL_SQS``,
``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_ENDPOINT_URL_STS``) with dummy credentials, in the test
process and in the servers it starts: real boto3 calls, nothing patched in-process.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bridge.config.settings import AwsQueueSettings
from bridge.ops.init_aws import Names, Options, init
from bridge.queue.sqs.aws import make_client
from tests.support.server import free_port

STARTUP = 60  # seconds the server may take to answer
REGION = "us-east-1"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def moto_server(folder: Path) -> Iterator[str]:
    """Start moto's server, yield its URL, stop it."""
    port = free_port()
    log = folder / "moto.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP
    try:
        while not answers(url):
            if time.monotonic() > deadline:
                pytest.fail(f"moto did not answer within {STARTUP} s: {log.read_text()}")
            try:  # a pause that ends early if the server died
                process.wait(timeout=0.05)
                pytest.fail(f"moto exited with {process.returncode}: {log.read_text()}")
            except subprocess.TimeoutExpired:
                pass
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def aws_environment(url: str, folder: Path) -> dict[str, str]:
    """The standard AWS variables pointing boto3 at the server (no real account is touched)."""
    return {
        "AWS_ENDPOINT_URL_SQS": url,
        "AWS_ENDPOINT_URL_DYNAMODB": url,
        "AWS_ENDPOINT_URL_STS": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(folder / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def unique_names() -> Names:
    suffix = uuid.uuid4().hex[:10]
    return Names(queue=f"bridge-{suffix}.fifo", table=f"bridge-{suffix}")


def create_resources(
    names: Names, *, visibility: int = 2, max_receives: int = 10, wait: int = 0
) -> AwsQueueSettings:
    """init-aws for ``names`` (the environment must point at the server); the settings."""
    lines: list[str] = []
    options = Options(names=names, visibility_timeout=visibility, max_receives=max_receives)
    status = init(
        make_client("sqs", REGION), make_client("dynamodb", REGION), options, lines.append
    )
    assert status == 0, "\n".join(lines)
    url = make_client("sqs", REGION).get_queue_url(QueueName=names.queue)["QueueUrl"]
    return AwsQueueSettings(
        queue_url=url,
        table=names.table,
        region=REGION,
        visibility_timeout=visibility,
        wait_time=wait,
    )
