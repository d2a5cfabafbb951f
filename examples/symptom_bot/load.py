"""``python -m examples.symptom_bot.load --table NAME``: write the sample bot's data to the
DynamoDB table the code hook reads.

The data file (the shipped bridge/local/sample_bot/data/conditions.json unless ``--file``) is
validated first, then written as the items items.py describes, 25 per BatchWriteItem; items DynamoDB
leaves unprocessed are sent again with a growing pause. Loading again overwrites; ``--prune``
also deletes the items the file no longer makes (one Scan of keys: a loader's job, never a
request's). ``--dry-run`` shows what would be written without calling AWS. The Region and
credentials come from ``--region`` or ``AWS_REGION``, then boto3's usual chain, and
``AWS_ENDPOINT_URL_DYNAMODB`` points it at another endpoint.

Exit status: 0 done, 1 AWS refused or failed, 2 bad arguments or data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from bridge.local.sample_bot.conditions import DATA_FILE, read_catalog
from examples.symptom_bot.items import KEY, Item, catalog_items

WRITE_BATCH = 25  # requests per BatchWriteItem
ATTEMPTS = 8  # BatchWriteItem calls for one batch, counting retries of unprocessed items
FIRST_PAUSE = 0.1  # seconds; doubled after each unprocessed answer


class LoadError(Exception):
    """DynamoDB did not take every request."""


def batches(requests: Sequence[Item], size: int = WRITE_BATCH) -> Iterator[list[Item]]:
    for start in range(0, len(requests), size):
        yield list(requests[start : start + size])


def write_requests(
    client: Any,
    table: str,
    requests: Sequence[Item],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Send ``requests`` (PutRequest / DeleteRequest) in batches, resending unprocessed ones;
    returns the number of BatchWriteItem calls. Raises LoadError when some stay unprocessed."""
    calls = 0
    for batch in batches(requests):
        pending, pause = batch, FIRST_PAUSE
        for attempt in range(attempts):
            answer = client.batch_write_item(RequestItems={table: pending})
            calls += 1
            pending = answer.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            if attempt + 1 < attempts:
                sleep(pause)
                pause *= 2
        if pending:
            raise LoadError(f"{len(pending)} items stayed unprocessed after {attempts} attempts")
    return calls


def stored_keys(client: Any, table: str) -> set[str]:
    """Every key in the table (a Scan projected on the key, page by page)."""
    keys: set[str] = set()
    params: dict[str, Any] = {"TableName": table, "ProjectionExpression": "#k"}
    params["ExpressionAttributeNames"] = {"#k": KEY}
    while True:
        page = client.scan(**params)
        keys |= {item[KEY]["S"] for item in page.get("Items", [])}
        if "LastEvaluatedKey" not in page:
            return keys
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def summary(items: Sequence[Item]) -> str:
    kinds = Counter(item["Kind"]["S"] for item in items)
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="python -m examples.symptom_bot.load",
        description="Write the symptom checker's data to its DynamoDB table, in batches.",
    )
    command.add_argument("--table", required=True, help="the table name (the stack's TableName)")
    command.add_argument(
        "--file",
        type=Path,
        default=DATA_FILE,
        help="the data file (default: the shipped bridge/local/sample_bot/data/conditions.json)",
    )
    command.add_argument("--region", help="AWS Region (default: boto3's, e.g. AWS_REGION)")
    command.add_argument(
        "--prune", action="store_true", help="also delete items the file no longer makes"
    )
    command.add_argument(
        "--dry-run", action="store_true", help="show what would be written; call nothing"
    )
    return command


def _client(region: str | None) -> Any:
    import boto3

    # botocore reads only AWS_DEFAULT_REGION; AWS_REGION is what the bridge and the AWS CLI use.
    return boto3.client("dynamodb", region_name=region or os.environ.get("AWS_REGION") or None)


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    make_client: Callable[[str | None], Any] = _client,
) -> int:
    args = parser().parse_args(argv)
    try:
        items = catalog_items(read_catalog(args.file))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {args.file} is not usable data: {exc!r}", file=err)
        return 2
    if args.dry_run:
        print(f"would write {len(items)} items to {args.table}: {summary(items)}", file=out)
        for item in items[:3]:
            print(f"  {item[KEY]['S']}", file=out)
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = make_client(args.region)
        calls = write_requests(client, args.table, [{"PutRequest": {"Item": i}} for i in items])
        wrote = f"wrote {len(items)} items to {args.table} in {calls} batches"
        print(f"{wrote}: {summary(items)}", file=out)
        if args.prune:
            stale = stored_keys(client, args.table) - {item[KEY]["S"] for item in items}
            deletes = [{"DeleteRequest": {"Key": {KEY: {"S": k}}}} for k in sorted(stale)]
            write_requests(client, args.table, deletes)
            print(f"deleted {len(deletes)} items the file no longer makes", file=out)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"error: DynamoDB answered {error.get('Code')}: {error.get('Message')}", file=err)
        return 1
    except (BotoCoreError, LoadError) as exc:
        print(f"error: {exc}", file=err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
