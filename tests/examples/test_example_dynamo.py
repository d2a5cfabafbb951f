"""The symptom bot against DynamoDB: the seed loader and the code hook's reads, through real
boto3 calls to a local AWS-compatible server (moto in server mode, started by
tests.support.aws_resources on a loopback port; boto3 reaches it through the standard
AWS_ENDPOINT_URL_DYNAMODB, with dummy
credentials). Nothing is patched in-process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bridge.local.sample_bot.conditions import catalog
from examples.symptom_bot import EXAMPLE_DIR, handler
from examples.symptom_bot.dynamo import DynamoConditions, StoreError
from examples.symptom_bot.items import KEY, catalog_items
from examples.symptom_bot.load import main as load
from tests.support.servers import ROOT, moto_server

EVENTS = sorted((EXAMPLE_DIR / "events").glob("*.json"))


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on a free loopback port, for this module's tests."""
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The standard AWS variables pointing boto3 (here and in subprocesses) at the server."""
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def client(aws_env: dict[str, str]) -> Any:
    return boto3.client("dynamodb", region_name=aws_env["AWS_REGION"])


@pytest.fixture
def table(client: Any) -> str:
    """A new, empty table shaped as the template makes it."""
    name = f"symptoms-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
    )
    return name


@pytest.fixture
def loaded(table: str) -> str:
    assert load(["--table", table], out=io.StringIO()) == 0
    return table


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def canonical(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(i, sort_keys=True, ensure_ascii=False) for i in items)


# --- the seed loader -------------------------------------------------------------------------


def test_the_loader_writes_every_item_in_batches(client: Any, table: str) -> None:
    out = io.StringIO()
    assert load(["--table", table], out=out) == 0
    expected = catalog_items(catalog())
    assert out.getvalue() == (
        f"wrote {len(expected)} items to {table} in {-(-len(expected) // 25)} batches: "
        "1 catalog, 12 condition, 346 name, 43 symptom\n"
    )
    assert canonical(scan_all(client, table)) == canonical(expected)
    assert load(["--table", table], out=io.StringIO()) == 0  # loading again overwrites
    assert len(scan_all(client, table)) == len(expected)


def test_prune_deletes_what_the_file_no_longer_makes(client: Any, loaded: str) -> None:
    client.put_item(TableName=loaded, Item={KEY: {"S": "Old disease"}, "Symptoms": {"L": []}})
    client.put_item(TableName=loaded, Item={KEY: {"S": "#name:old disease"}})
    out = io.StringIO()
    assert load(["--table", loaded, "--prune"], out=out) == 0
    assert out.getvalue().endswith("deleted 2 items the file no longer makes\n")
    keys = {item[KEY]["S"] for item in scan_all(client, loaded)}
    assert "Old disease" not in keys and len(keys) == len(catalog_items(catalog()))


def test_the_loader_loads_another_data_file(client: Any, table: str, tmp_path: Path) -> None:
    raw = json.loads(
        (ROOT / "bridge/local/sample_bot/data/conditions.json").read_text(encoding="utf-8")
    )
    raw["conditions"] = raw["conditions"][:2]
    raw["symptom_aliases"] = {}
    small = tmp_path / "small.json"
    small.write_text(json.dumps(raw), encoding="utf-8")
    assert load(["--table", table, "--file", str(small)], out=io.StringIO()) == 0
    store = DynamoConditions(client, table)
    assert store.overview().order == ("Common cold", "Influenza")
    assert store.find(["flu"]) == catalog().by_disease["Influenza"]


def test_the_loader_command_line(aws_env: dict[str, str], table: str) -> None:
    env = {**os.environ, **aws_env}
    command = [sys.executable, "-m", "examples.symptom_bot.load"]
    run = subprocess.run(
        [*command, "--table", table], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"wrote 402 items to {table} in 17 batches")
    helped = subprocess.run(
        [*command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0
    for option in ("--table", "--file", "--region", "--prune", "--dry-run"):
        assert option in helped.stdout
    missing = subprocess.run(
        [*command, "--table", "no-such-table"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "ResourceNotFoundException" in missing.stderr


def test_a_dry_run_needs_no_aws(tmp_path: Path) -> None:
    out = io.StringIO()
    assert load(["--table", "T", "--dry-run"], out=out) == 0
    assert out.getvalue().startswith("would write 402 items to T: 1 catalog, 12 condition")
    err = io.StringIO()
    bad = tmp_path / "bad.json"
    bad.write_text('{"conditions": [{"Disease": "#x"}]}', encoding="utf-8")
    assert load(["--table", "T", "--file", str(bad)], err=err) == 2
    assert "is not usable data" in err.getvalue()


# --- the code hook's reads -------------------------------------------------------------------


def test_the_store_reads_what_the_shipped_catalog_holds(client: Any, loaded: str) -> None:
    data, store = catalog(), DynamoConditions(client, loaded)
    assert store.overview() == data.overview()
    for lookup in [*data.condition_keys, *data.symptom_keys]:
        assert store.find([lookup]) == data.find([lookup]), lookup
    assert store.find(["no such thing", "flu"]) == data.by_disease["Influenza"]
    assert store.find(["no such thing"]) is None
    order = list(data.overview().order)
    assert store.conditions([*reversed(order), "Nope"]) == data.conditions(list(reversed(order)))
    assert store.symptoms(list(data.korean)) == data.symptoms(list(data.korean))
    assert store.conditions([]) == [] and store.symptoms(["Nope"]) == []


def operations(client: Any) -> list[str]:
    """The DynamoDB operations ``client`` calls from now on (botocore's own event hooks)."""
    called: list[str] = []

    def record(model: Any, **_: Any) -> None:
        called.append(model.name)

    client.meta.events.register("before-call.dynamodb.*", record)
    return called


@pytest.mark.parametrize("path", EVENTS, ids=[p.stem for p in EVENTS])
def test_every_event_gets_the_same_answer_from_the_table(
    client: Any, loaded: str, path: Path
) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))
    called = operations(client)
    from_table = handler.handle(event, DynamoConditions(client, loaded), asset_base="")
    assert from_table == handler.handle(event, catalog(), asset_base="")
    assert set(called) <= {"GetItem", "BatchGetItem"}, called  # by key, never a Scan
    assert 1 <= len(called) <= 5, called


def test_the_lambda_entry_point(
    loaded: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(handler, "_clients", {})
    monkeypatch.setenv("TABLE_NAME", loaded)
    monkeypatch.setenv("ASSET_BASE_URL", "https://assets.example/bot/")
    event = json.loads((EXAMPLE_DIR / "events" / "list-conditions.json").read_text())
    response = handler.handler(event, None)
    [message] = response["messages"]
    assert message["imageResponseCard"]["imageUrl"] == "https://assets.example/bot/conditions.svg"
    assert response["sessionState"]["intent"]["state"] == "Fulfilled"


def test_an_empty_table_gets_an_apology(client: Any, table: str) -> None:
    event = json.loads((EXAMPLE_DIR / "events" / "welcome.json").read_text())
    response = handler.handle(event, DynamoConditions(client, table), asset_base="")
    assert response["sessionState"]["intent"]["state"] == "Failed"
    assert response["messages"][0]["content"].startswith("Sorry, I can't look that up")
    with pytest.raises(StoreError, match="no catalog item"):
        DynamoConditions(client, table).overview()


def test_a_missing_table_is_a_store_error_naming_the_code(client: Any) -> None:
    with pytest.raises(StoreError, match="^DynamoDB answered ResourceNotFoundException$"):
        DynamoConditions(client, "no-such-table").find(["flu", "influenza"])
