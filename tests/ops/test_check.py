"""``python -m bridge check`` (bridge/ops/check/): each check's verdict and fix against a
``responses``-mocked Graph (success, invalid token 190, invalid appsecret_proof, not
subscribed, partially subscribed, debug_token), the Lex check against the local Lex endpoint on
a loopback server and a botocore Stubber (success, ResourceNotFound, AccessDenied), the queue
database, the command's text and --json output and exit codes, and an end-to-end run against a
local-mode bridge: check passes, Meta "unsubscribes" the Page, check says to run setup, setup
fixes it and applies a profile, check passes again."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
import responses
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber
from click.testing import CliRunner, Result

from bridge.app import create_app
from bridge.cli import main
from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_LEX_ALIAS_ID, LOCAL_LEX_BOT_ID
from bridge.config.settings import Settings
from bridge.local.graph import LOCAL_APP_ID
from bridge.messenger.graph import GraphClient
from bridge.messenger.graph_requests import PageAuth, build_page_request
from bridge.messenger.subscriptions import SUBSCRIBED_FIELDS
from bridge.ops.check.lex import CHECK_ATTRIBUTE, check_lex
from bridge.ops.check.queue import check_queue
from bridge.ops.check.render import render_text
from bridge.ops.check.result import CheckResult
from bridge.ops.check.runner import run_checks
from bridge.ops.check.subscription import interpret_subscription
from bridge.ops.check.token_details import interpret_debug_token
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import GRAPH, TEST_SECRET, TEST_TOKEN, ScriptedBot
from tests.support.ids import PAGE_ID
from tests.support.servers import add_fault, start_bridge, stop_bridge, wsgi_server

ROOT = Path(__file__).resolve().parents[2]
V = f"{GRAPH}/v25.0"
ME = f"{V}/me"
APPS = f"{V}/{PAGE_ID}/subscribed_apps"
DEBUG = f"{V}/debug_token"
APP_ID = "222222222222222"
FIELDS = list(SUBSCRIBED_FIELDS)
NOW = 1_800_000_000.0
BAD_PROOF = {
    "error": {
        "message": "Invalid appsecret_proof provided in the API argument",
        "type": "GraphMethodException",
        "code": 100,
        "fbtrace_id": "TRACE2",
    }
}


def graph_error(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def query(request: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url or "")).query)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.name: result for result in results}


@pytest.fixture
def graph_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def app(fields: list[str] | None = None, app_id: str = APP_ID) -> dict[str, Any]:
    return {
        "id": app_id,
        "name": "Acme Bot",
        "subscribed_fields": FIELDS if fields is None else fields,
    }


def mock_graph(
    graph_api: responses.RequestsMock, *, apps: list[dict[str, Any]] | None = None
) -> None:
    graph_api.get(ME, json={"id": PAGE_ID, "name": "Acme Clinic"})
    graph_api.get(APPS, json={"data": [app()] if apps is None else apps})
    graph_api.get(
        DEBUG,
        json={
            "data": {
                "app_id": APP_ID,
                "application": "Acme Bot",
                "type": "PAGE",
                "is_valid": True,
                "expires_at": 0,
                "data_access_expires_at": NOW + 80 * 86400,
                "profile_id": PAGE_ID,
                "scopes": ["pages_messaging", "pages_manage_metadata"],
            }
        },
    )


class NoLex:
    """A Lex client factory for Graph-only tests: the Lex check must not run."""

    def __call__(self, settings: Settings) -> Any:
        raise AssertionError("Lex was called")


def checks(settings: Settings, graph: GraphClient, **kwargs: Any) -> dict[str, CheckResult]:
    kwargs.setdefault("skip_lex", True)
    kwargs.setdefault("make_lex_client", NoLex())
    return by_name(run_checks(settings, graph, clock=lambda: NOW, **kwargs))


# --- Graph checks ----------------------------------------------------------------------------


def test_everything_passes_and_debug_token_adds_expiry_and_permissions(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    mock_graph(graph_api)
    results = checks(settings, graph, app_id=APP_ID)
    assert all(r.ok for r in results.values())
    assert results["page_token"].detail == "valid, for the Page 'Acme Clinic' (111111111111111)"
    assert results["app_secret"].detail == (
        "Graph accepted the appsecret_proof made with FB_APP_SECRET"
    )
    assert results["token_details"].detail == (
        "a Page token of Acme Bot (222222222222222); never expires; data access until "
        "2027-04-05 08:00 UTC; permissions: pages_messaging, pages_manage_metadata"
    )
    assert results["subscription"].detail.startswith(
        "Acme Bot (222222222222222) receives messages, messaging_postbacks,"
    )
    assert results["lex_bot"].skipped and results["lex_bot"].ok
    # debug_token goes with the app token; every Page-token call carries a proof
    [debug] = [c.request for c in graph_api.calls if "debug_token" in (c.request.url or "")]
    assert debug.headers["Authorization"] == f"Bearer {APP_ID}|{TEST_SECRET}"
    assert query(debug)["input_token"] == [TEST_TOKEN]
    for call in graph_api.calls:
        if "debug_token" not in (call.request.url or ""):
            assert "appsecret_proof" in query(call.request)


def test_without_an_app_id_debug_token_is_skipped_not_failed(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    mock_graph(graph_api)
    result = checks(settings, graph)["token_details"]
    assert (result.ok, result.skipped) == (True, True)
    assert "set FB_APP_ID (or --app-id)" in result.detail
    assert not any("debug_token" in (c.request.url or "") for c in graph_api.calls)


def test_an_invalid_token_fails_and_the_checks_needing_it_do_not_run(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    graph_api.get(
        ME,
        status=400,
        json=graph_error(190, "Error validating access token: Session has expired", 463),
    )
    results = checks(settings, graph)
    token = results["page_token"]
    assert not token.ok
    assert "the Page access token does not work: the token has expired" in token.detail
    assert token.fix.startswith("create a new Page access token")
    for name in ("app_secret", "subscription"):
        assert (results[name].ok, results[name].skipped) == (False, True)
        assert results[name].fix.startswith("fix the Page token first")
    assert results["queue_db"].ok


def test_an_invalid_appsecret_proof_fails_the_secret_and_the_token_is_checked_without_one(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    graph_api.get(ME, status=400, json=BAD_PROOF)
    graph_api.get(ME, json={"id": PAGE_ID, "name": "Acme Clinic"})
    graph_api.get(APPS, json={"data": [app()]})
    results = checks(settings, graph)
    assert results["page_token"].ok
    secret = results["app_secret"]
    assert not secret.ok and not secret.skipped
    assert secret.detail.startswith(
        "Graph refused the appsecret_proof made with FB_APP_SECRET (“Invalid appsecret_proof "
        "provided in the API argument”): the secret is not the one of the app the token was "
        "made for, or this machine's clock is off by more than 5 minutes."
    )
    assert "App settings › Basic" in secret.fix
    assert results["subscription"].ok
    first, second, subscription = (c.request for c in graph_api.calls)
    assert "appsecret_proof" in query(first)
    assert "appsecret_proof" not in query(second)
    assert "appsecret_proof" not in query(subscription)


def test_a_bad_proof_when_the_app_requires_one_leaves_the_token_unchecked(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    graph_api.get(ME, status=400, json=BAD_PROOF)
    graph_api.get(
        ME,
        status=400,
        json=graph_error(100, "API calls from the server require an appsecret_proof argument"),
    )
    results = checks(settings, graph)
    assert (results["page_token"].ok, results["page_token"].skipped) == (False, True)
    assert "Require App Secret" in results["page_token"].detail
    assert not results["app_secret"].ok
    assert results["subscription"].skipped


def test_a_token_of_another_page_than_fb_page_id_fails(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    mock_graph(graph_api)
    results = checks(replace(settings, graph=replace(settings.graph, page_id="999")), graph)
    token = results["page_token"]
    assert not token.ok
    assert "but FB_PAGE_ID is 999: the bridge would ignore every delivery" in token.detail
    assert results["subscription"].skipped


def test_not_subscribed_says_meta_may_have_unsubscribed_it_and_to_run_setup(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    mock_graph(graph_api, apps=[])
    result = checks(settings, graph)["subscription"]
    assert not result.ok
    assert result.detail.startswith(
        "the Page 111111111111111 is not subscribed to this app, so Meta sends the bridge no "
        "messages. Meta also removes the subscription by itself after about an hour of failed "
        "webhook deliveries"
    )
    assert result.fix.endswith("then run: python -m bridge setup")


def test_partially_subscribed(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    mock_graph(graph_api, apps=[app(["messages", "messaging_optins"])])
    result = checks(settings, graph)["subscription"]
    assert not result.ok
    assert result.detail == (
        "the Page is subscribed to Acme Bot (222222222222222) without messaging_postbacks: taps "
        "on Get Started, the menu and buttons never reach the bot"
    )
    assert result.fix == "run: python -m bridge setup"


def test_optional_fields_missing_pass_with_a_note() -> None:
    result = interpret_subscription([app(["messages", "messaging_postbacks"])], PAGE_ID, None)
    assert result.ok
    assert "optional fields not subscribed: messaging_optins," in result.detail
    assert "(python -m bridge setup adds them)" in result.detail


def test_a_subscription_of_another_app_is_not_ours() -> None:
    result = interpret_subscription([app(app_id="1")], PAGE_ID, APP_ID)
    assert not result.ok
    assert "not subscribed to this app (subscribed apps: Acme Bot (1))" in result.detail


def test_reading_the_subscription_needs_pages_manage_metadata(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    graph_api.get(ME, json={"id": PAGE_ID, "name": "Acme Clinic"})
    graph_api.get(APPS, status=403, json=graph_error(200, "(#200) Permissions error"))
    result = checks(settings, graph)["subscription"]
    assert not result.ok
    assert "permission denied" in result.detail
    assert "pages_manage_metadata" in result.fix


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"is_valid": False, "error": {"message": "Session expired"}},
            "not valid: Session expired",
        ),
        ({"app_id": "9", "application": "Other"}, "made for the app 'Other' (9), not FB_APP_ID"),
        ({"type": "USER"}, "this is a USER token, not a Page token"),
        ({"profile_id": "5"}, "the token is for the Page 5, not 111111111111111"),
        ({"scopes": ["pages_show_list"]}, "lacks pages_messaging"),
        ({"expires_at": NOW + 3 * 86400}, "the token expires in 3.0 days"),
    ],
)
def test_debug_token_failures(change: dict[str, Any], expected: str) -> None:
    data = {
        "app_id": APP_ID,
        "application": "Acme Bot",
        "type": "PAGE",
        "is_valid": True,
        "expires_at": 0,
        "profile_id": PAGE_ID,
        "scopes": ["pages_messaging", "pages_manage_metadata"],
        **change,
    }
    result = interpret_debug_token(data, app_id=APP_ID, page_id=PAGE_ID, now=NOW)
    assert not result.ok
    assert expected in result.detail


def test_debug_token_notes_a_token_setup_cannot_use_and_a_distant_expiry() -> None:
    data = {
        "app_id": APP_ID,
        "type": "PAGE",
        "is_valid": True,
        "expires_at": NOW + 30 * 86400,
        "scopes": ["pages_messaging"],
    }
    result = interpret_debug_token(data, app_id=APP_ID, page_id=None, now=NOW)
    assert result.ok
    assert "expires 2027-02-14 08:00 UTC" in result.detail
    assert "without pages_manage_metadata, python -m bridge setup cannot subscribe" in result.detail


def test_a_wrong_app_id_or_secret_for_the_app_token(
    settings: Settings, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    mock_graph(graph_api)
    graph_api.replace(
        responses.GET,
        DEBUG,
        status=400,
        json=graph_error(190, "Invalid OAuth access token signature."),
    )
    result = checks(settings, graph, app_id=APP_ID)["token_details"]
    assert not result.ok
    assert result.fix.startswith("check FB_APP_ID is the App ID and FB_APP_SECRET its App Secret")


# --- Lex -------------------------------------------------------------------------------------


@pytest.fixture
def lex_server(
    local_settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> Iterator[Settings]:
    """The bridge's local Lex endpoint on a loopback port; yields settings pointing at it."""
    with wsgi_server() as server:
        settings = replace(
            local_settings,
            lex=replace(
                local_settings.lex,
                bot_id=LOCAL_LEX_BOT_ID,
                alias_id=LOCAL_LEX_ALIAS_ID,
                endpoint_url=f"{server.url}/local/lex",
            ),
            web=replace(local_settings.web, port=server.port),
        )
        server.mount(create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph))
        yield settings


def test_lex_check_runs_one_turn_on_the_local_endpoint(lex_server: Settings) -> None:
    from bridge.bots.lexv2 import make_lexv2_client

    result = check_lex(lex_server, make_lexv2_client)
    assert result.ok
    assert result.detail == (
        "bot LOCALBOT01, alias TSTALIASID, locale en_US (local endpoint) answered “hello” "
        "(intent Welcome, 3 messages). This ran one real turn on the bot, session bridge-check, "
        "request attribute messenger-lex-bridge:check=true (--skip-lex leaves it out)"
    )


def test_lex_check_resource_not_found_on_the_local_endpoint(lex_server: Settings) -> None:
    from bridge.bots.lexv2 import make_lexv2_client

    result = check_lex(
        replace(lex_server, lex=replace(lex_server.lex, bot_id="NOSUCHBOT1")), make_lexv2_client
    )
    assert not result.ok
    assert result.detail.startswith(
        "Lex found no such bot, alias or locale: bot NOSUCHBOT1, alias TSTALIASID, locale en_US "
        "(local endpoint) — Lex said: ResourceNotFoundException (HTTP 404)"
    )
    assert "LEX_BOT_ALIAS_ID (the alias's id such as TSTALIASID, not its name)" in result.fix


def test_lex_check_access_denied_on_the_local_endpoint(lex_server: Settings) -> None:
    from bridge.bots.lexv2 import make_lexv2_client

    requests.post(
        f"http://127.0.0.1:{lex_server.web.port}/local/faults/lex", json={"status": 403}, timeout=5
    ).raise_for_status()
    result = check_lex(lex_server, make_lexv2_client)
    assert not result.ok
    assert result.detail.startswith(
        "the AWS credentials in use may not call lex:RecognizeText on bot LOCALBOT01"
    )
    assert "AccessDeniedException (HTTP 403)" in result.detail
    assert result.fix.startswith("allow lex:RecognizeText on arn:aws:lex:")


def stubbed_lex() -> tuple[Any, Stubber]:
    client = boto3.client(
        "lexv2-runtime",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return client, Stubber(client)


def test_lex_check_sends_the_bridges_request_with_a_check_attribute(settings: Settings) -> None:
    client, stub = stubbed_lex()
    stub.add_response(
        "recognize_text",
        {"sessionId": "bridge-check", "sessionState": {"intent": {"name": "Greeting"}}},
        {
            "botId": "ABCDE12345",
            "botAliasId": "TSTALIASID",
            "localeId": "en_US",
            "sessionId": "bridge-check",
            "text": "hello",
            "requestAttributes": {
                "x-amz-lex:channels:platform": "Facebook",
                CHECK_ATTRIBUTE: "true",
            },
        },
    )
    with stub:
        result = check_lex(
            replace(settings, lex=replace(settings.lex, region="eu-west-1")), lambda s: client
        )
    assert result.ok
    assert "(eu-west-1) answered “hello” (intent Greeting, 0 messages)" in result.detail
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status", "meaning", "fix"),
    [
        (
            "AccessDeniedException",
            403,
            "the AWS credentials in use may not call lex:RecognizeText",
            "allow lex:RecognizeText",
        ),
        ("ResourceNotFoundException", 404, "Lex found no such bot, alias or locale", "LEX_BOT_ID"),
        (
            "DependencyFailedException",
            424,
            "the bot was reached, but its Lambda code hook failed",
            "CloudWatch",
        ),
        ("UnrecognizedClientException", 403, "AWS does not recognise the access key", "AWS_"),
    ],
)
def test_lex_check_failures_through_a_stubber(
    settings: Settings, code: str, status: int, meaning: str, fix: str
) -> None:
    client, stub = stubbed_lex()
    stub.add_client_error(
        "recognize_text", service_error_code=code, service_message="nope", http_status_code=status
    )
    with stub:
        result = check_lex(settings, lambda s: client)
    assert not result.ok
    assert result.detail.startswith(meaning)
    assert f"Lex said: {code} (HTTP {status}): nope" in result.detail
    assert fix in result.fix


def test_lex_check_without_credentials(settings: Settings) -> None:
    class NoCredentials:
        def recognize_text(self, **kwargs: Any) -> Any:
            raise NoCredentialsError()

    result = check_lex(settings, lambda s: NoCredentials())
    assert not result.ok
    assert result.detail == "boto3 found no usable AWS credentials (NoCredentialsError)"
    assert "AWS_ACCESS_KEY_ID" in result.fix


def test_lex_check_without_a_region(settings: Settings) -> None:
    from bridge.bots.lexv2 import make_lexv2_client

    result = check_lex(replace(settings, lex=replace(settings.lex, region=None)), make_lexv2_client)
    assert not result.ok
    assert "AWS_REGION is missing" in result.detail


# --- queue -----------------------------------------------------------------------------------


def test_queue_writable_absent_and_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    SqliteQueue(db).close()
    assert check_queue(db) == CheckResult("queue_db", "Queue database", True, f"{db} is writable")
    fresh = check_queue(tmp_path / "var" / "new.db")
    assert fresh.ok and "does not exist yet; the bridge creates it at start" in fresh.detail
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, just some text" * 100)
    result = check_queue(junk)
    assert not result.ok
    assert result.detail == f"cannot write {junk}: file is not a database"
    assert "writable by the user the bridge runs as" in result.fix


def test_queue_locked_by_another_writer(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    SqliteQueue(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = check_queue(db, timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not result.ok
    assert result.detail == f"{db} stayed locked for 0.1 s: database is locked"


def test_text_output_marks_each_check() -> None:
    results = [
        CheckResult("a", "Page token", True, "valid"),
        CheckResult("b", "App secret", False, "refused", "set it"),
        CheckResult("c", "Subscription", False, "not checked: x", "fix x", skipped=True),
        CheckResult("d", "Token details", True, "skipped: no app id", skipped=True),
    ]
    assert render_text(results) == (
        "✓ Page token: valid\n"
        "✗ App secret: refused\n"
        "    fix: set it\n"
        "– Subscription: not checked: x\n"
        "    fix: fix x\n"
        "– Token details: skipped: no app id\n"
        "\n"
        "1 of 4 checks failed, 1 could not run."
    )


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "FB_APP_SECRET": TEST_SECRET,
        "FB_VERIFY_TOKEN": "verify-token-0123456789",
        "FB_PAGE_ACCESS_TOKEN": TEST_TOKEN,
        "FB_GRAPH_API_URL": GRAPH,
        "LEX_BOT_ID": "ABCDE12345",
        "LEX_BOT_ALIAS_ID": "TSTALIASID",
        "AWS_REGION": "us-east-1",
        "BRIDGE_DB": str(tmp_path / "bridge.db"),
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args], env=env)


def test_cli_json_lists_every_check_and_exits_1_on_a_failure(
    env: dict[str, str], graph_api: responses.RequestsMock
) -> None:
    mock_graph(graph_api, apps=[])
    result = run({**env, "FB_APP_ID": APP_ID}, "--json", "--skip-lex")
    assert result.exit_code == 1
    listed = json.loads(result.output)
    assert [(c["name"], c["ok"]) for c in listed] == [
        ("page_token", True),
        ("app_secret", True),
        ("token_details", True),
        ("subscription", False),
        ("lex_bot", True),
        ("queue_db", True),
    ]
    assert set(listed[3]) == {"name", "ok", "detail", "fix", "skipped"}
    assert listed[3]["fix"].endswith("python -m bridge setup")


def test_cli_text_passes_with_the_real_lex_client_on_a_local_endpoint(
    env: dict[str, str], graph_api: responses.RequestsMock, lex_server: Settings
) -> None:
    """Production settings; boto3's own AWS_ENDPOINT_URL_LEX_RUNTIME_V2 reaches the local bot."""
    mock_graph(graph_api)
    result = run(
        {
            **env,
            "LEX_BOT_ID": LOCAL_LEX_BOT_ID,
            "AWS_ENDPOINT_URL_LEX_RUNTIME_V2": lex_server.lex.endpoint_url or "",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        },
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line[:2] for line in lines[:6]] == ["✓ ", "✓ ", "– ", "✓ ", "✓ ", "✓ "]
    assert lines[4].startswith(
        "✓ Lex bot: bot LOCALBOT01, alias TSTALIASID, locale en_US (us-east-1)"
    )
    assert lines[-1] == "All 6 checks passed."


def test_cli_invalid_token_text_output(
    env: dict[str, str], graph_api: responses.RequestsMock
) -> None:
    graph_api.get(ME, status=401, json=graph_error(190, "Invalid OAuth access token."))
    result = run(env, "--skip-lex")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("✗ Page token: could not read the Page behind the token:")
    assert lines[1].startswith("    fix: create a new Page access token")
    assert lines[2] == "– App secret: not checked: needs a working Page token"
    assert result.output.rstrip().endswith("1 of 6 checks failed, 2 could not run.")


def test_cli_configuration_problems_are_a_failed_check(env: dict[str, str]) -> None:
    result = run({k: v for k, v in env.items() if k != "FB_APP_SECRET"}, "--json")
    assert result.exit_code == 1
    [config] = json.loads(result.output)
    assert config["name"] == "config" and not config["ok"]
    assert "FB_APP_SECRET is missing" in config["detail"]


# --- end to end: a local-mode bridge ---------------------------------------------------------


@pytest.mark.e2e
def test_end_to_end_check_setup_check(tmp_path: Path) -> None:
    bridge = start_bridge(tmp_path)
    port = bridge.url.rsplit(":", 1)[1]
    env = {"BRIDGE_MODE": "local", "PORT": port, "BRIDGE_DB": str(tmp_path / "bridge.db")}
    try:
        first = run(env)
        assert first.exit_code == 0, first.output
        assert first.output.rstrip().endswith("All 6 checks passed.")
        assert (
            f"Token details (debug_token): a Page token of messenger-lex-bridge (local) "
            f"({LOCAL_APP_ID})" in first.output
        )

        # Meta unsubscribes the Page after an hour of failed deliveries
        settings = Settings.from_env(env)
        unsubscribe = build_page_request(
            PageAuth(
                settings.graph.api_url,
                settings.graph.api_version,
                settings.graph.page_access_token,
                LOCAL_APP_SECRET,
            ),
            "DELETE",
            f"{settings.graph.page_id or '100000000000001'}/subscribed_apps",
            now=int(time.time()),
        )
        assert requests.delete(
            unsubscribe.url, params=unsubscribe.params, headers=unsubscribe.headers, timeout=10
        ).ok
        broken = run(env, "--json")
        assert broken.exit_code == 1
        subscription = by_name_json(broken.output)["subscription"]
        assert not subscription["ok"]
        assert subscription["fix"].endswith("then run: python -m bridge setup")

        profile = ROOT / "messenger-profile.example.json"
        dry = CliRunner().invoke(main, ["setup", "--profile", str(profile), "--dry-run"], env=env)
        assert dry.exit_code == 0, dry.output
        assert "  now:    not subscribed" in dry.output
        assert "  + get_started          set (not set on the Page now)" in dry.output
        applied = CliRunner().invoke(main, ["setup", "--profile", str(profile)], env=env)
        assert applied.exit_code == 0, applied.output
        assert "  ✓ subscribed with 10 fields" in applied.output
        assert (
            "  ✓ set get_started, greeting, persistent_menu, ice_breakers, whitelisted_domains"
            in applied.output
        )
        again = CliRunner().invoke(main, ["setup", "--profile", str(profile)], env=env)
        assert again.exit_code == 0, again.output
        assert "  ✓ the profile already matches the file" in again.output

        fixed = run(env)
        assert fixed.exit_code == 0, fixed.output

        # a wrong secret on the Graph side: the local Graph refuses the proof as Graph does
        add_fault(
            bridge,
            "graph",
            {
                "status": 400,
                "code": 100,
                "message": "Invalid appsecret_proof provided in the API argument",
            },
        )
        refused = by_name_json(run(env, "--json", "--skip-lex").output)
        assert not refused["app_secret"]["ok"]
    finally:
        assert stop_bridge(bridge) == 0


def by_name_json(output: str) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in json.loads(output)}


def test_local_mode_without_a_running_bridge_says_to_start_it(tmp_path: Path) -> None:
    from tests.support.servers import free_port

    port = str(free_port())  # nothing listens there
    env = {"BRIDGE_MODE": "local", "PORT": port, "BRIDGE_DB": str(tmp_path / "bridge.db")}
    result = run(env, "--json")
    assert result.exit_code == 1
    listed = by_name_json(result.output)
    assert "Graph was not reached" in listed["page_token"]["detail"]
    for name in ("page_token", "lex_bot"):
        assert listed[name]["fix"].startswith(
            "in local mode Graph and Lex are served by the bridge"
        )


# --- Lex V1 --------------------------------------------------------------------------------------


def v1_settings(settings: Settings) -> Settings:
    return replace(
        settings,
        lex=replace(
            settings.lex, backend="lexv1", bot_name="FluBot", bot_alias="prod", region="eu-west-1"
        ),
    )


def stubbed_models() -> tuple[Any, Stubber]:
    client = boto3.client(
        "lex-models",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return client, Stubber(client)


def test_a_lex_v1_bot_is_checked_with_get_bot_and_no_turn(settings: Settings) -> None:
    client, stub = stubbed_models()
    stub.add_response(
        "get_bot",
        {"name": "FluBot", "status": "READY", "version": "3"},
        {"name": "FluBot", "versionOrAlias": "prod"},
    )
    with stub:
        result = check_lex(v1_settings(settings), NoLex(), lambda s: client)
    assert result.ok
    assert result.detail.startswith(
        "Lex V1 bot FluBot, alias prod (eu-west-1) exists, version 3, status READY (checked with"
        " GetBot: no turn was run"
    )
    stub.assert_no_pending_responses()


def test_a_lex_v1_bot_not_built_fails(settings: Settings) -> None:
    client, stub = stubbed_models()
    stub.add_response("get_bot", {"status": "FAILED", "failureReason": "slot type missing"})
    with stub:
        result = check_lex(v1_settings(settings), NoLex(), lambda s: client)
    assert not result.ok and "status is FAILED (slot type missing)" in result.detail


@pytest.mark.parametrize(
    ("code", "status", "meaning"),
    [
        ("NotFoundException", 404, "Lex V1 has no bot and alias (or version) like"),
        ("AccessDeniedException", 403, "the AWS credentials in use may not call lex:GetBot"),
        ("InternalFailureException", 500, "Lex refused the call for"),
    ],
)
def test_lex_v1_check_failures(settings: Settings, code: str, status: int, meaning: str) -> None:
    client, stub = stubbed_models()
    stub.add_client_error("get_bot", service_error_code=code, http_status_code=status)
    with stub:
        result = check_lex(v1_settings(settings), NoLex(), lambda s: client)
    assert not result.ok and result.detail.startswith(meaning)


def test_the_lex_v1_models_client_is_made_from_the_settings(settings: Settings) -> None:
    from bridge.ops.check.lex_v1 import make_lex_models_client

    client = make_lex_models_client(v1_settings(settings))
    assert client.meta.service_model.service_name == "lex-models"
    assert client.meta.region_name == "eu-west-1"


# --- several Pages -------------------------------------------------------------------------------

PAGE_2 = "222333444555666"
TOKEN_2 = "EAAGsecondPageToken123"


@pytest.fixture
def pages_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "pages.json"
    pages = {
        PAGE_ID: {"access_token": TEST_TOKEN, "name": "Clinic"},
        PAGE_2: {"access_token": TOKEN_2},
    }
    path.write_text(json.dumps({"pages": pages}))
    env = {k: v for k, v in env.items() if k != "FB_PAGE_ACCESS_TOKEN"}
    return {**env, "BRIDGE_PAGES_FILE": str(path)}


def mock_two_pages(graph_api: responses.RequestsMock) -> None:
    from responses import matchers

    for page, token in ((PAGE_ID, TEST_TOKEN), (PAGE_2, TOKEN_2)):
        auth = [matchers.header_matcher({"Authorization": f"Bearer {token}"})]
        graph_api.get(ME, json={"id": page, "name": f"Page {page[:3]}"}, match=auth)
        graph_api.get(f"{V}/{page}/subscribed_apps", json={"data": [app()]}, match=auth)


def test_cli_checks_each_page_with_its_token_and_a_shared_bot_once(
    pages_env: dict[str, str], graph_api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridge.ops.check import runner as checking

    turns: list[str] = []

    class OneTurn:
        def recognize_text(self, **params: Any) -> dict[str, Any]:
            turns.append(params["botId"])
            return {"messages": []}

    monkeypatch.setattr(checking, "make_lexv2_client", lambda s: OneTurn())
    mock_two_pages(graph_api)
    result = run(pages_env, "--json")
    listed = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert [(c.get("page"), c["name"], c["ok"], c["skipped"]) for c in listed] == [
        (f"{PAGE_ID} (Clinic)", "page_token", True, False),
        (f"{PAGE_ID} (Clinic)", "app_secret", True, False),
        (f"{PAGE_ID} (Clinic)", "token_details", True, True),
        (f"{PAGE_ID} (Clinic)", "subscription", True, False),
        (f"{PAGE_ID} (Clinic)", "lex_bot", True, False),
        (PAGE_2, "page_token", True, False),
        (PAGE_2, "app_secret", True, False),
        (PAGE_2, "token_details", True, True),
        (PAGE_2, "subscription", True, False),
        (PAGE_2, "lex_bot", True, True),
        (None, "queue_db", True, False),
    ]
    assert turns == ["ABCDE12345"]  # one turn for the bot both Pages share
    assert listed[9]["detail"].startswith(f"the same bot as Page {PAGE_ID}: ")


def test_cli_check_of_one_page_and_its_text_output(
    pages_env: dict[str, str], graph_api: responses.RequestsMock
) -> None:
    mock_two_pages(graph_api)
    result = run(pages_env, "--skip-lex", "--page", PAGE_2)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Page {PAGE_2}:"
    assert lines[1] == f"✓ Page token: valid, for the Page 'Page 222' ({PAGE_2})"
    assert "Page 111" not in result.output
    unknown = run(pages_env, "--page", "999")
    assert unknown.exit_code == 2 and "--page 999 is not in BRIDGE_PAGES_FILE" in unknown.output
