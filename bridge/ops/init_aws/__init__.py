"""``python -m bridge init-aws``: create, or check and correct, what ``BRIDGE_QUEUE=sqs`` uses
(bridge/ops/init_aws/provision.py). The command (bridge/cli.py) and the test and benchmark
AWS stand-ins use the names below."""

from __future__ import annotations

from bridge.ops.init_aws.provision import DEFAULT_QUEUE, Names, Options, init, policy_document

__all__ = ["DEFAULT_QUEUE", "Names", "Options", "init", "policy_document"]
