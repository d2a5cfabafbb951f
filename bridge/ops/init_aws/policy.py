"""The least-privilege IAM policy of a running bridge (and of ``bridge queue``); pure.

Only what the bridge calls at run time, on only its own resources: one Lex bot alias, the
queue and its dead-letter queue, the table and its index. Creating and correcting them
(init-aws itself) needs more: the command's help lists it.
"""

from __future__ import annotations

from typing import Any

from bridge.ops.init_aws.resources import Names
from bridge.queue.sqs.table import DROPPED_INDEX

QUEUE_ACTIONS = (
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
)
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
)


def policy_document(
    *,
    region: str,
    account: str,
    names: Names,
    lex_bot_id: str,
    lex_alias_id: str,
) -> dict[str, Any]:
    """The least-privilege IAM policy of a running bridge (and of ``bridge queue``)."""
    sqs = f"arn:aws:sqs:{region}:{account}"
    table = f"arn:aws:dynamodb:{region}:{account}:table/{names.table}"
    alias = f"arn:aws:lex:{region}:{account}:bot-alias/{lex_bot_id}/{lex_alias_id}"
    queues = [f"{sqs}:{names.queue}", f"{sqs}:{names.dead_letter_queue}"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            _allow("LexTurns", ("lex:RecognizeText",), [alias]),
            _allow("Queue", QUEUE_ACTIONS, queues),
            _allow("Table", TABLE_ACTIONS, [table, f"{table}/index/{DROPPED_INDEX}"]),
        ],
    }


def _allow(sid: str, actions: tuple[str, ...], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}
