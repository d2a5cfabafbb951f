"""AWS for tests: the environment and resources on moto's server (``servers.moto_server``).

boto3 reaches it through the standard endpoint variables (``AWS_ENDPOINT_URL_SQS``,
``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_ENDPOINT_URL_STS``) with dummy credentials, in the test
process and in the servers it starts: real boto3 calls, nothing patched in-process.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from bridge.config.queue import AwsQueueSettings
from bridge.ops.init_aws import Names, Options, init
from bridge.queue.sqs.aws import make_client

REGION = "us-east-1"


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
