"""``python -m bridge init-aws``: create, or check and correct, what ``BRIDGE_QUEUE=sqs`` uses:
an SQS FIFO queue, its FIFO dead-letter queue and a DynamoDB table.

- ``resources``: what they should look like and how what exists differs (pure);
- ``policy``: the least-privilege IAM policy of a running bridge (pure);
- ``provision``: one run over boto3 clients, creating or correcting, or ``--dry-run``.

The command (bridge/cli.py) and the test and benchmark AWS stand-ins use the names below.
"""

from __future__ import annotations

from bridge.ops.init_aws.policy import policy_document
from bridge.ops.init_aws.provision import init
from bridge.ops.init_aws.resources import DEFAULT_QUEUE, Names, Options

__all__ = ["DEFAULT_QUEUE", "Names", "Options", "init", "policy_document"]
