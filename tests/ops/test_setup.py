"""``python -m bridge setup`` (bridge/ops/setup/): reading a profile file, the
subscription and profile plans, the Profile API's call budget, and the command against a
``responses``-mocked Graph (success, dry run, only changed fields, --delete-missing, token and
appsecret_proof failures, budget refusal)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from click.testing import CliRunner, Result
from responses import matchers

from bridge.cli import main
from bridge.errors import Problem, ProfileError
from bridge.messenger.profile import PROFILE_FIELDS, validate_profile
from bridge.messenger.signature import appsecret_proof
from bridge.messenger.subscriptions import SUBSCRIBED_FIELDS
from bridge.ops.setup.budget import CallLog, budget, call_log_path
from bridge.ops.setup.plan import normalize, plan_profile, plan_subscription
from bridge.ops.setup.profile_file import load_profile
from tests.conftest import GRAPH, TEST_SECRET, TEST_TOKEN
from tests.support.ids import PAGE_ID

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "messenger-profile.example.json"
V = f"{GRAPH}/v25.0"
ME = f"{V}/me"
APPS = f"{V}/{PAGE_ID}/subscribed_apps"
PROFILE = f"{V}/me/messenger_profile"
APP_ID = "222222222222222"
BRIDGE_FIELDS = list(SUBSCRIBED_FIELDS)


def example() -> dict[str, Any]:
    profile: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return profile


# --- reading the file (pure) -----------------------------------------------------------------


def test_the_example_profile_is_valid_and_uses_every_field() -> None:
    profile = load_profile(EXAMPLE)
    assert validate_profile(profile) == []
    assert set(profile) == set(PROFILE_FIELDS)


def test_a_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{\n  "get_started": {"payload": "GO"},\n}\n')
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.problems == [
        Problem(
            "$",
            "not valid JSON: Expecting property name enclosed in double quotes (line 3, column 1)",
        )
    ]


def test_a_duplicated_key_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"greeting": [], "greeting": [{"locale": "default", "text": "hi"}]}')
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert [str(p) for p in caught.value.problems] == [
        "$: the key 'greeting' appears twice in one object (only the last would count)"
    ]


def test_yaml_is_read_when_pyyaml_is_installed(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(
        "get_started:\n  payload: GET_STARTED\n"
        "greeting:\n  - locale: default\n    text: Hi {{user_first_name}}!\n"
    )
    assert load_profile(path) == {
        "get_started": {"payload": "GET_STARTED"},
        "greeting": [{"locale": "default", "text": "Hi {{user_first_name}}!"}],
    }


def test_yaml_without_pyyaml_says_to_install_it_or_use_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    real = importlib.import_module

    def no_yaml(name: str, package: str | None = None) -> Any:
        if name == "yaml":
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_yaml)
    path = tmp_path / "profile.yml"
    path.write_text("get_started: {payload: GO}\n")
    with pytest.raises(ProfileError, match="reading YAML needs PyYAML"):
        load_profile(path)


# --- plans (pure) -----------------------------------------------------------------------------


def test_subscription_plans() -> None:
    nothing = plan_subscription([])
    assert (nothing.subscribed, nothing.missing, nothing.fields) == (
        False,
        tuple(BRIDGE_FIELDS),
        tuple(BRIDGE_FIELDS),
    )
    partial = plan_subscription(
        [{"id": APP_ID, "name": "Bot", "subscribed_fields": ["messages", "message_reactions"]}]
    )
    assert partial.subscribed and partial.changes
    assert partial.missing == tuple(BRIDGE_FIELDS[1:])
    assert partial.kept == ("message_reactions",)
    assert partial.fields == (*BRIDGE_FIELDS, "message_reactions")
    complete = plan_subscription([{"id": APP_ID, "subscribed_fields": BRIDGE_FIELDS}])
    assert not complete.changes
    other_app = plan_subscription([{"id": "1", "subscribed_fields": BRIDGE_FIELDS}], APP_ID)
    assert not other_app.subscribed


def test_what_graph_returns_compares_equal_when_it_means_the_same() -> None:
    mine = example()
    theirs = copy.deepcopy(mine)
    theirs["greeting"].reverse()  # locale order
    theirs["whitelisted_domains"] = ["https://WWW.EXAMPLE.COM/"]  # spelling, trailing slash
    del theirs["persistent_menu"][0]["composer_input_disabled"]  # a default value
    theirs["persistent_menu"][0]["call_to_actions"][0]["messenger_extensions"] = False
    for name in PROFILE_FIELDS:
        assert normalize(name, mine[name]) == normalize(name, theirs[name]), name
    plan = plan_profile(mine, theirs)
    assert [c.kind for c in plan.changes] == ["same"] * 5
    assert plan.writes == 0


def test_only_changed_fields_are_set_and_missing_ones_kept_or_deleted() -> None:
    current = example()
    desired = example()
    desired["greeting"][0]["text"] = "Hello!"
    del desired["whitelisted_domains"]
    del current["ice_breakers"]
    plan = plan_profile(desired, current)
    assert [(c.name, c.kind) for c in plan.changes] == [
        ("get_started", "same"),
        ("greeting", "change"),
        ("persistent_menu", "same"),
        ("ice_breakers", "add"),
        ("whitelisted_domains", "keep"),
    ]
    assert plan.to_set == {"greeting": desired["greeting"], "ice_breakers": desired["ice_breakers"]}
    assert (plan.to_delete, plan.writes) == ([], 1)
    deleting = plan_profile(desired, current, delete_missing=True)
    assert (deleting.to_delete, deleting.writes) == (["whitelisted_domains"], 2)
    only = plan_profile(desired, current, only=["greeting"])
    assert [c.name for c in only.changes] == ["greeting"]
    assert list(only.to_set) == ["greeting"]


def test_a_menu_needs_get_started_on_the_page_after_the_run() -> None:
    menu_only = {"persistent_menu": example()["persistent_menu"]}
    assert [str(p) for p in plan_profile(menu_only, {}).problems] == [
        "$.persistent_menu: Messenger shows a persistent menu only once a Get Started button is "
        "set: add get_started to the file (and to --fields, if you use it)"
    ]
    assert plan_profile(menu_only, {"get_started": {"payload": "GO"}}).problems == []
    deleting = plan_profile(menu_only, example(), delete_missing=True)
    assert "--delete-missing would remove get_started" in str(deleting.problems[0])


def test_budget_counts_calls_in_the_last_ten_minutes() -> None:
    now = 10_000.0
    state = budget([now - 700, now - 599, now - 10, now - 1], now)
    assert (state.used, state.left, state.frees_at) == (3, 7, now - 599 + 600)
    full = budget([now - n for n in range(10)], now)
    assert (full.used, full.left) == (10, 0)
    assert budget([], now) == budget([now - 601], now)


def test_call_log_round_trip_and_a_corrupt_file(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "sub" / "calls.json")
    assert log.calls(PAGE_ID) == []
    log.record(PAGE_ID, 100.0)
    log.record(PAGE_ID, 200.0)
    log.record("other", 150.0)
    assert log.calls(PAGE_ID) == [100.0, 200.0]
    log.record(PAGE_ID, 900.0)  # the first two no longer count: forgotten
    assert log.calls(PAGE_ID) == [900.0]
    log.path.write_text("not json")
    assert log.calls(PAGE_ID) == []
    assert call_log_path(Path("var/bridge.db")) == Path("var/bridge-profile-calls.json")


# --- the command against a mocked Graph -------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "FB_APP_SECRET": TEST_SECRET,
        "FB_VERIFY_TOKEN": "verify-token-0123456789",
        "FB_PAGE_ACCESS_TOKEN": TEST_TOKEN,
        "FB_GRAPH_API_URL": GRAPH,
        "LEX_BOT_ID": "ABCDE12345",
        "LEX_BOT_ALIAS_ID": "TSTALIASID",
        "BRIDGE_DB": str(tmp_path / "bridge.db"),
    }


@pytest.fixture
def graph_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def profile_file(tmp_path: Path) -> Path:
    path = tmp_path / "messenger-profile.json"
    path.write_text(EXAMPLE.read_text())
    return path


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["setup", *args], env=env)


def graph_error(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "TRACE1"
    return {"error": error}


def mock_page(
    graph_api: responses.RequestsMock,
    *,
    fields: list[str] | None = None,
    profile: dict[str, Any] | None = None,
) -> None:
    graph_api.get(ME, json={"id": PAGE_ID, "name": "Acme Clinic"})
    apps = (
        [] if fields is None else [{"id": APP_ID, "name": "Acme Bot", "subscribed_fields": fields}]
    )
    graph_api.get(APPS, json={"data": apps})
    graph_api.post(APPS, json={"success": True})
    graph_api.get(PROFILE, json={"data": [profile] if profile else []})
    graph_api.post(PROFILE, json={"result": "success"})
    graph_api.delete(PROFILE, json={"result": "success"})


def calls(graph_api: responses.RequestsMock, method: str, url: str) -> list[Any]:
    return [
        c.request
        for c in graph_api.calls
        if c.request.method == method and (c.request.url or "").split("?")[0] == url
    ]


def query(request: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url or "")).query)


def assert_signed(request: Any) -> None:
    params = query(request)
    moment = int(params["appsecret_time"][0])
    assert params["appsecret_proof"] == [appsecret_proof(TEST_SECRET, TEST_TOKEN, moment)]
    assert request.headers["Authorization"] == f"Bearer {TEST_TOKEN}"
    assert TEST_TOKEN not in (request.url or "")


def test_setup_subscribes_and_posts_only_the_changed_fields(
    env: dict[str, str], graph_api: responses.RequestsMock, profile_file: Path
) -> None:
    current = example()
    current["greeting"][0]["text"] = "Hi!"
    del current["ice_breakers"]
    mock_page(graph_api, fields=["messages", "message_reactions"], profile=current)
    result = run(env, "--profile", str(profile_file))
    assert result.exit_code == 0, result.output
    [subscribe] = calls(graph_api, "POST", APPS)
    assert_signed(subscribe)
    assert query(subscribe)["subscribed_fields"] == [
        ",".join([*BRIDGE_FIELDS, "message_reactions"])
    ]
    [read] = calls(graph_api, "GET", PROFILE)
    assert query(read)["fields"] == [",".join(PROFILE_FIELDS)]
    [post] = calls(graph_api, "POST", PROFILE)
    assert_signed(post)
    assert json.loads(post.body) == {
        "greeting": example()["greeting"],
        "ice_breakers": example()["ice_breakers"],
    }
    assert calls(graph_api, "DELETE", PROFILE) == []
    out = result.output
    assert "Page: Acme Clinic (111111111111111)" in out
    assert "  now:    messages, message_reactions" in out
    assert "  adds:   messaging_postbacks, messaging_optins," in out
    assert "  keeps:  message_reactions (not used by the bridge; left as is)" in out
    assert "  ✓ subscribed with 11 fields" in out
    assert "  = get_started          unchanged" in out
    assert "  ~ greeting             changed" in out
    assert '      -    "text": "Hi!"' in out
    assert "  + ice_breakers         set (not set on the Page now)" in out
    assert (
        "Profile API calls: 1 read + 1 POST (Meta allows 10 per 10 minutes per Page; 9 left" in out
    )
    assert "  ✓ set greeting, ice_breakers (one call)" in out
    assert TEST_TOKEN not in out and TEST_SECRET not in out
    log = CallLog(call_log_path(Path(env["BRIDGE_DB"])))
    assert len(log.calls(PAGE_ID)) == 2  # the read and the write


def test_dry_run_prints_the_difference_and_changes_nothing(
    env: dict[str, str], graph_api: responses.RequestsMock, profile_file: Path
) -> None:
    current = example()
    current["persistent_menu"][0]["call_to_actions"].pop()
    current["whitelisted_domains"] = ["https://old.example.com"]
    mock_page(graph_api, fields=["messages", "messaging_postbacks"], profile=current)
    result = run(env, "--profile", str(profile_file), "--dry-run")
    assert result.exit_code == 0, result.output
    assert calls(graph_api, "POST", APPS) == calls(graph_api, "POST", PROFILE) == []
    out = result.output
    assert "  would subscribe with 10 fields" in out
    assert "  ~ persistent_menu      changed" in out
    menu = out.split("~ persistent_menu")[1].split("= ice_breakers")[0]
    assert '      +        "type": "web_url",' in menu
    assert '      +        "url": "https://www.example.com/hours",' in menu
    assert "  ~ whitelisted_domains  changed" in out
    assert '      -  "https://old.example.com"' in out
    assert '      +  "https://www.example.com"' in out
    assert out.rstrip().endswith(
        "Dry run: nothing was changed. Run again without --dry-run to apply."
    )


def test_nothing_to_do_makes_no_write(
    env: dict[str, str], graph_api: responses.RequestsMock, profile_file: Path
) -> None:
    mock_page(graph_api, fields=BRIDGE_FIELDS, profile=example())
    result = run(env, "--profile", str(profile_file))
    assert result.exit_code == 0, result.output
    assert "  ✓ already subscribed to every field the bridge uses" in result.output
    assert "  ✓ the profile already matches the file" in result.output
    assert [c.request.method for c in graph_api.calls] == ["GET", "GET", "GET"]


def test_delete_missing_deletes_in_one_call_and_fields_limits_the_run(
    env: dict[str, str], graph_api: responses.RequestsMock, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    desired = example()
    desired["greeting"][0]["text"] = "Hello!"
    del desired["whitelisted_domains"], desired["ice_breakers"]
    path.write_text(json.dumps(desired))
    mock_page(graph_api, fields=BRIDGE_FIELDS, profile=example())
    result = run(
        env, "--profile", str(path), "--delete-missing", "--fields", "greeting,whitelisted_domains"
    )
    assert result.exit_code == 0, result.output
    [post] = calls(graph_api, "POST", PROFILE)
    assert json.loads(post.body) == {"greeting": desired["greeting"]}
    [delete] = calls(graph_api, "DELETE", PROFILE)
    assert_signed(delete)
    assert json.loads(delete.body) == {"fields": ["whitelisted_domains"]}
    assert "ice_breakers" not in result.output  # not in --fields: untouched
    assert "  ✓ deleted whitelisted_domains (one call)" in result.output


def test_validation_errors_are_listed_with_paths_before_any_call(
    env: dict[str, str], graph_api: responses.RequestsMock, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    bad = example()
    bad["greeting"][1]["text"] = "x" * 200
    bad["ice_breakers"][0]["call_to_actions"] *= 2
    path.write_text(json.dumps(bad))
    result = run(env, "--profile", str(path))
    assert result.exit_code == 1
    assert len(graph_api.calls) == 0
    assert result.output == (
        f"✗ {path} has 2 problems:\n"
        "  $.greeting[1].text: has 200 characters; the limit is 160\n"
        "  $.ice_breakers[0].call_to_actions: has 6 items; the limit is 4\n"
        "Nothing was changed.\n"
    )


def test_an_invalid_token_is_explained_and_never_printed(
    env: dict[str, str], graph_api: responses.RequestsMock, profile_file: Path
) -> None:
    graph_api.get(
        ME,
        status=400,
        json=graph_error(190, f"Malformed access token {TEST_TOKEN}", 463),
    )
    result = run(env, "--profile", str(profile_file))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "✗ could not read the Page behind FB_PAGE_ACCESS_TOKEN: the Page access token does not "
        "work: the token has expired — Graph said: “Malformed access token [redacted]” (code "
        "190/463, HTTP 400, fbtrace_id TRACE1)"
    )
    assert "fix: create a new Page access token" in result.output
    assert TEST_TOKEN not in result.output
    assert len(graph_api.calls) == 1


def test_an_invalid_appsecret_proof_says_the_app_secret_is_wrong(
    env: dict[str, str], graph_api: responses.RequestsMock
) -> None:
    graph_api.get(
        ME,
        status=400,
        json=graph_error(100, "Invalid appsecret_proof provided in the API argument"),
    )
    result = run(env)
    assert result.exit_code == 1
    assert "Graph refused the appsecret_proof made with FB_APP_SECRET" in result.output
    assert "fix: set FB_APP_SECRET to the App Secret (App settings › Basic)" in result.output


def test_a_permission_error_names_the_permission_the_call_needs(
    env: dict[str, str], graph_api: responses.RequestsMock
) -> None:
    mock_page(graph_api, fields=[])
    graph_api.replace(
        responses.POST,
        APPS,
        status=403,
        json=graph_error(200, "(#200) Requires pages_manage_metadata permission"),
    )
    result = run(env)
    assert result.exit_code == 1
    assert "✗ could not subscribe the Page to the app: permission denied" in result.output
    assert "the Page token needs the pages_manage_metadata permission" in result.output


def test_a_token_of_another_page_is_refused(
    env: dict[str, str], graph_api: responses.RequestsMock
) -> None:
    mock_page(graph_api, fields=BRIDGE_FIELDS)
    result = run({**env, "FB_PAGE_ID": "999"})
    assert result.exit_code == 1
    assert (
        "✗ FB_PAGE_ACCESS_TOKEN belongs to the Page 'Acme Clinic' (111111111111111), but "
        "FB_PAGE_ID is 999"
    ) in result.output
    assert len(graph_api.calls) == 1


def test_a_plan_over_the_budget_is_refused_before_any_write(
    env: dict[str, str], graph_api: responses.RequestsMock, profile_file: Path
) -> None:
    log = CallLog(call_log_path(Path(env["BRIDGE_DB"])))
    now = time.time()
    for n in range(9):
        log.record(PAGE_ID, now - 500 + n)
    mock_page(graph_api, fields=BRIDGE_FIELDS, profile={})
    result = run(env, "--profile", str(profile_file))
    assert result.exit_code == 1
    assert calls(graph_api, "GET", PROFILE)  # the read used the last call
    assert calls(graph_api, "POST", PROFILE) == []
    assert (
        "✗ this needs 1 more Messenger Profile API call, but 10 of the 10 Meta allows per 10 "
        "minutes for this Page were made from here already (0 left). Nothing was changed."
    ) in result.output
    assert "  fix: run it again in 10" in result.output  # ~100 s: the oldest call is 500 s old


def test_no_call_is_made_when_the_budget_is_used_up(
    env: dict[str, str], graph_api: responses.RequestsMock, profile_file: Path
) -> None:
    log = CallLog(call_log_path(Path(env["BRIDGE_DB"])))
    for n in range(10):
        log.record(PAGE_ID, time.time() - n)
    mock_page(graph_api, fields=BRIDGE_FIELDS)
    result = run(env, "--profile", str(profile_file), "--no-subscribe", "--dry-run")
    assert result.exit_code == 1
    assert calls(graph_api, "GET", PROFILE) == []
    assert "this needs 1 more Messenger Profile API call" in result.output


def test_graphs_rate_limit_on_the_profile_is_explained(
    env: dict[str, str], graph_api: responses.RequestsMock, profile_file: Path
) -> None:
    mock_page(graph_api, fields=BRIDGE_FIELDS, profile={})
    graph_api.replace(
        responses.POST,
        PROFILE,
        status=400,
        json=graph_error(613, "(#613) Calls to this api have exceeded the rate limit."),
    )
    result = run(env, "--profile", str(profile_file), "--no-subscribe")
    assert result.exit_code == 1
    assert "✗ could not set the Messenger profile: rate limited" in result.output
    assert "10 calls per 10 minutes per Page" in result.output
    log = CallLog(call_log_path(Path(env["BRIDGE_DB"])))
    assert len(log.calls(PAGE_ID)) == 2  # a refused call is counted too


def test_usage_errors(env: dict[str, str], profile_file: Path) -> None:
    for args, message in [
        (["--fields", "greeting"], "--fields and --delete-missing need --profile"),
        (["--no-subscribe"], "nothing to do"),
        (["--profile", str(profile_file), "--fields", "greetings"], "greetings: name fields"),
    ]:
        result = run(env, *args)
        assert result.exit_code == 2, args
        assert message in result.output
    partial = profile_file.parent / "partial.json"
    partial.write_text(json.dumps({"get_started": {"payload": "GO"}}))
    result = run(env, "--profile", str(partial), "--fields", "greeting")
    assert result.exit_code == 2
    assert "--fields names greeting, not in" in result.output


def test_missing_configuration_exits_2(profile_file: Path) -> None:
    result = run({}, "--profile", str(profile_file))
    assert result.exit_code == 2
    assert "FB_APP_SECRET is missing" in result.output


# --- several Pages -------------------------------------------------------------------------------

PAGE_2 = "222333444555666"
TOKEN_2 = "EAAGsecondPageToken123"


def test_setup_subscribes_each_page_of_the_file_with_its_own_token(
    env: dict[str, str], graph_api: responses.RequestsMock, tmp_path: Path
) -> None:
    pages = tmp_path / "pages.json"
    pages.write_text(
        json.dumps(
            {
                "pages": {
                    PAGE_ID: {"access_token": TEST_TOKEN, "name": "Clinic"},
                    PAGE_2: {"access_token": TOKEN_2},
                }
            }
        )
    )
    env = {k: v for k, v in env.items() if k != "FB_PAGE_ACCESS_TOKEN"}
    env["BRIDGE_PAGES_FILE"] = str(pages)
    for page, token in ((PAGE_ID, TEST_TOKEN), (PAGE_2, TOKEN_2)):
        auth = [matchers.header_matcher({"Authorization": f"Bearer {token}"})]
        graph_api.get(ME, json={"id": page, "name": f"Page {page[:3]}"}, match=auth)
        graph_api.get(f"{V}/{page}/subscribed_apps", json={"data": []}, match=auth)
        graph_api.post(f"{V}/{page}/subscribed_apps", json={"success": True}, match=auth)
    result = run(env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index(f"Page {PAGE_ID} (Clinic):") < out.index(f"Page {PAGE_2}:")
    assert out.count("✓ subscribed with 10 fields") == 2
    assert len(calls(graph_api, "POST", f"{V}/{PAGE_2}/subscribed_apps")) == 1
    only = run(env, "--page", PAGE_2)
    assert only.exit_code == 0 and f"Page {PAGE_ID}" not in only.output


def test_setup_page_option_needs_a_pages_file(env: dict[str, str]) -> None:
    result = run(env, "--page", PAGE_ID)
    assert result.exit_code == 2 and "--page needs BRIDGE_PAGES_FILE" in result.output
