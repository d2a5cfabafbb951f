"""``python -m bridge init-aws`` and ``python -m bridge queue`` with BRIDGE_QUEUE=sqs, against a
local AWS-compatible server (moto, server mode) through real boto3 calls."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.config.graph import GraphSettings
from bridge.config.queue import AwsQueueSettings, QueueSettings
from bridge.ops.init_aws.resources import Names, Options, attribute_changes, queue_attributes
from bridge.queue import NewJob
from bridge.queue.sqs.aws import make_client
from bridge.queue.sqs.queue import SqsQueue
from tests.support.aws_resources import REGION, aws_environment, create_resources, unique_names
from tests.support.servers import moto_server


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    env = aws_environment(moto_url, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def init_aws(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["init-aws", *args])
    return result.exit_code, result.output


def queue_names() -> list[str]:
    urls = make_client("sqs", REGION).list_queues().get("QueueUrls", [])
    return [url.rsplit("/", 1)[-1] for url in urls]


def test_it_creates_the_queues_and_the_table(aws: dict[str, str]) -> None:
    names = unique_names()
    code, output = init_aws("--queue-name", names.queue, "--table", names.table)
    assert code == 0, output
    assert f"+ dead-letter queue {names.dead_letter_queue}: create" in output
    assert f"+ queue {names.queue}: create" in output
    assert f"+ table {names.table}: create" in output
    assert "BRIDGE_QUEUE=sqs" in output
    assert f"BRIDGE_DYNAMODB_TABLE={names.table}" in output
    sqs = make_client("sqs", REGION)
    url = sqs.get_queue_url(QueueName=names.queue)["QueueUrl"]
    assert f"BRIDGE_SQS_QUEUE_URL={url}" in output
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"
    assert attributes["VisibilityTimeout"] == "30"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{names.dead_letter_queue}")
    assert int(redrive["maxReceiveCount"]) == 10
    dynamodb = make_client("dynamodb", REGION)
    table = dynamodb.describe_table(TableName=names.table)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["dropped"]
    ttl = dynamodb.describe_time_to_live(TableName=names.table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")


def test_running_it_again_changes_nothing(aws: dict[str, str]) -> None:
    names = unique_names()
    args = ("--queue-name", names.queue, "--table", names.table)
    assert init_aws(*args)[0] == 0
    code, output = init_aws(*args)
    assert code == 0, output
    assert output.count("exists as needed") == 3
    assert "create" not in output and "~" not in output


def test_a_dry_run_only_says_what_it_would_do(aws: dict[str, str]) -> None:
    names = unique_names()
    code, output = init_aws("--queue-name", names.queue, "--table", names.table, "--dry-run")
    assert code == 0, output
    assert output.count("would create") == 3
    assert "Nothing was changed (--dry-run)." in output
    assert names.queue not in queue_names() and names.dead_letter_queue not in queue_names()
    tables = make_client("dynamodb", REGION).list_tables()["TableNames"]
    assert names.table not in tables


def test_what_drifted_is_corrected_and_a_dry_run_shows_it_first(aws: dict[str, str]) -> None:
    names = unique_names()
    args = ("--queue-name", names.queue, "--table", names.table)
    assert init_aws(*args)[0] == 0
    sqs = make_client("sqs", REGION)
    url = sqs.get_queue_url(QueueName=names.queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "600"})
    make_client("dynamodb", REGION).update_time_to_live(
        TableName=names.table,
        TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"},
    )
    code, output = init_aws(*args, "--dry-run")
    assert code == 0
    assert f"~ queue {names.queue}: would set VisibilityTimeout=30" in output
    assert f"~ table {names.table}: would enable TTL on expires" in output
    code, output = init_aws(*args)
    assert code == 0, output
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "30"
    assert init_aws(*args)[1].count("exists as needed") == 3


def test_what_cannot_be_corrected_is_explained(aws: dict[str, str]) -> None:
    names = unique_names()
    make_client("dynamodb", REGION).create_table(
        TableName=names.table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    code, output = init_aws("--queue-name", names.queue, "--table", names.table)
    assert code == 1
    assert f"✗ table {names.table}: its key is" in output
    assert "Not done" in output


def test_names_come_from_the_bridge_s_variables(aws: dict[str, str]) -> None:
    names = unique_names()
    url = f"https://sqs.{REGION}.amazonaws.com/123456789012/{names.queue}"
    result = CliRunner().invoke(
        main,
        ["init-aws", "--dry-run"],
        env={"BRIDGE_SQS_QUEUE_URL": url, "BRIDGE_DYNAMODB_TABLE": names.table},
    )
    assert result.exit_code == 0, result.output
    assert f"queue {names.queue}: would create" in result.output
    assert f"table {names.table}: would create" in result.output
    assert init_aws("--queue-name", "not-fifo")[0] == 2


def test_the_policy_names_only_the_bridge_s_resources(aws: dict[str, str]) -> None:
    names = Names("bridge.fifo", "bridge-table")
    result = CliRunner().invoke(
        main,
        ["init-aws", "--policy", "--queue-name", names.queue, "--table", names.table],
        env={"LEX_BOT_ID": "ABCDE12345", "LEX_BOT_ALIAS_ID": "TSTALIASID"},
    )
    assert result.exit_code == 0, result.output
    policy = json.loads(result.output)
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    account = "123456789012"  # moto's
    assert resources == {
        "LexTurns": [f"arn:aws:lex:{REGION}:{account}:bot-alias/ABCDE12345/TSTALIASID"],
        "Queue": [
            f"arn:aws:sqs:{REGION}:{account}:bridge.fifo",
            f"arn:aws:sqs:{REGION}:{account}:bridge-dlq.fifo",
        ],
        "Table": [
            f"arn:aws:dynamodb:{REGION}:{account}:table/bridge-table",
            f"arn:aws:dynamodb:{REGION}:{account}:table/bridge-table/index/dropped",
        ],
    }
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert "*" not in "".join(actions)
    administrative = {"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes"}
    administrative |= {"dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:Scan"}
    assert not administrative & set(actions)


def test_the_attribute_comparison_is_pure() -> None:
    wanted = queue_attributes(Options(), "arn:aws:sqs:r:1:q-dlq.fifo")
    current = dict(wanted, VisibilityTimeout="90")
    current["RedrivePolicy"] = (
        '{"maxReceiveCount":"10","deadLetterTargetArn":"arn:aws:sqs:r:1:q-dlq.fifo"}'
    )
    assert attribute_changes(current, wanted) == {"VisibilityTimeout": "30"}


# --- python -m bridge queue, on SQS ------------------------------------------------------------


@pytest.fixture
def settings(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AwsQueueSettings:
    settings = create_resources(unique_names())
    monkeypatch.setenv("BRIDGE_QUEUE", "sqs")
    monkeypatch.setenv("BRIDGE_SQS_QUEUE_URL", settings.queue_url)
    monkeypatch.setenv("BRIDGE_DYNAMODB_TABLE", settings.table)
    return settings


def test_the_queue_commands_work_on_sqs(settings: AwsQueueSettings) -> None:
    queue = SqsQueue(settings)
    try:
        queue.put([NewJob("m_cli", "p1", "p1:u1", 0, "{}")], now=time.time())
        job = queue.claim(owner="t", process="p", now=time.time(), lease=60)
        assert job is not None
        queue.bury(job, reason="Graph unreachable", now=time.time())
    finally:
        queue.close()
    runner = CliRunner()
    stats = runner.invoke(main, ["queue", "stats", "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["dead"] == 1
    dead = runner.invoke(main, ["queue", "dead", "--json"])
    assert dead.exit_code == 0, dead.output
    [letter] = json.loads(dead.output)
    assert (letter["mid"], letter["reason"]) == ("m_cli", "Graph unreachable")
    requeued = runner.invoke(main, ["queue", "requeue", "--reason", "unreachable"])
    assert requeued.output.strip() == "requeued 1 dead letter"
    assert json.loads(runner.invoke(main, ["queue", "dead", "--json"]).output) == []


def test_the_queue_commands_explain_a_bad_sqs_configuration(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGE_QUEUE", "sqs")
    result = CliRunner().invoke(main, ["queue", "stats"])
    assert result.exit_code == 1
    assert "BRIDGE_SQS_QUEUE_URL is missing" in result.output
    assert "BRIDGE_DYNAMODB_TABLE is missing" in result.output


def test_bridge_check_checks_the_sqs_queue_and_table(settings: AwsQueueSettings) -> None:
    from dataclasses import replace

    from bridge.config.settings import Settings
    from bridge.ops.check.queue import check_configured_queue

    base = Settings(
        graph=GraphSettings(app_secret="s", verify_token="v", page_access_token="t"),
        queue=QueueSettings(kind="sqs"),
    )
    found = check_configured_queue(replace(base, queue=replace(base.queue, sqs=settings)))
    assert found.ok, found.detail
    assert f"table {settings.table} answer" in found.detail
    missing = check_configured_queue(
        replace(base, queue=replace(base.queue, sqs=replace(settings, table="gone-table")))
    )
    assert not missing.ok and "python -m bridge init-aws" in missing.fix
