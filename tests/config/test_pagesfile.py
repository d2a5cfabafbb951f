"""BRIDGE_PAGES_FILE: several Pages, each with its token and bot; every problem named at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.config.localmode import LOCAL_LEX_BOT_ID
from bridge.config.pages import PageBot, PageConfig, parse_pages, read_pages_file
from bridge.config.settings import Settings
from bridge.errors import ConfigError

PAGE_A, PAGE_B = "104859375629481", "231764905812337"
TOKEN_A = "EAAGpageAtokenAAAAAAAAAAAAsecret"
TOKEN_B = "EAAGpageBtokenBBBBBBBBBBBBsecret"
BASE_ENV = {"FB_APP_SECRET": "app-secret-123456", "FB_VERIFY_TOKEN": "verify-token-123456"}
SOURCE = "BRIDGE_PAGES_FILE (pages.json)"


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "pages.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def problems(data: Any, *, local: bool = False) -> list[str]:
    return parse_pages(data, source=SOURCE, local=local)[1]


def test_a_full_file_parses_to_page_configs() -> None:
    pages, found = parse_pages(
        {
            "pages": {
                PAGE_A: {
                    "name": "Clinic",
                    "access_token": TOKEN_A,
                    "bot": {"type": "lexv2", "bot_id": "ABCDE12345", "alias_id": "TSTALIASID"},
                    "fallback_text": "Sorry, the clinic bot is down.",
                    "handover_intent": "TalkToNurse",
                    "no_text_inputs": {"image": "I sent a photo"},
                    "no_text_reply_kinds": ["sticker", "like"],
                    "no_text_reply": "Text only, please.",
                },
                PAGE_B: {
                    "access_token": TOKEN_B,
                    "bot": {"type": "lexv1", "bot_name": "FluBot", "bot_alias": "$LATEST"},
                },
            }
        },
        source=SOURCE,
        local=False,
    )
    assert found == []
    assert pages == (
        PageConfig(
            PAGE_A,
            TOKEN_A,
            name="Clinic",
            bot=PageBot("lexv2", bot_id="ABCDE12345", alias_id="TSTALIASID"),
            fallback_text="Sorry, the clinic bot is down.",
            handover_intent="TalkToNurse",
            no_text_inputs=(("image", "I sent a photo"),),
            no_text_reply_kinds=frozenset({"sticker", "like"}),
            no_text_reply="Text only, please.",
        ),
        PageConfig(PAGE_B, TOKEN_B, bot=PageBot("lexv1", bot_name="FluBot", bot_alias="$LATEST")),
    )
    assert pages[0].label == f"{PAGE_A} (Clinic)" and pages[1].label == PAGE_B


def test_every_problem_is_named_with_its_page_and_field_and_no_token() -> None:
    found = problems(
        {
            "pages": {
                "not-digits": {"access_token": TOKEN_A},
                PAGE_A: {"acess_token": TOKEN_A, "bot": {"type": "lexv2", "bot_id": "short"}},
                PAGE_B: {
                    "access_token": "has a space in it",
                    "no_text_inputs": {"photo": "x"},
                    "no_text_reply_kinds": "some",
                    "handover_intent": "1 bad",
                },
            }
        }
    )
    assert found == [
        f"{SOURCE}: Page not-digits: the Page id is malformed: expected digits, e.g. 1234567890",
        f"{SOURCE}: Page {PAGE_A}: unknown field 'acess_token' (known: name, access_token, bot,"
        " fallback_text, handover_intent, no_text_inputs, no_text_reply_kinds, no_text_reply)",
        f"{SOURCE}: Page {PAGE_A}: 'access_token' is missing: set it to the Page access token"
        " (starts with EAA…, no spaces)",
        f"{SOURCE}: Page {PAGE_A}: bot.'bot_id' is malformed: expected the 10-character bot id,"
        " e.g. ABCDE12345",
        f"{SOURCE}: Page {PAGE_A}: bot.'alias_id' is missing: set it to the alias id (not its"
        " name), e.g. TSTALIASID or 1A2B3C4D5E",
        f"{SOURCE}: Page {PAGE_B}: 'access_token' is malformed: expected the Page access token"
        " (starts with EAA…, no spaces)",
        f'{SOURCE}: Page {PAGE_B}: "no_text_reply_kinds" must be "all" or a list of kinds,'
        ' e.g. ["image"]',
        f"{SOURCE}: Page {PAGE_B}: 'handover_intent' is malformed: expected a Lex intent name"
        " (letters, digits and underscores), e.g. TalkToPerson",
        f"{SOURCE}: Page {PAGE_B}: \"no_text_inputs\" has the unknown kind 'photo' (kinds: image,"
        " audio, video, file, fallback, sticker, location, like, other, referral, optin)",
    ]
    assert not any("space in it" in problem for problem in found)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "must be a JSON object of this shape"),
        ({"pages": []}, "must be a JSON object of this shape"),
        ({"pages": {}, "extra": 1}, "must be a JSON object of this shape"),
        ({"pages": {}}, 'names no Page: add at least one under "pages"'),
        ({"pages": {PAGE_A: "EAA"}}, 'expected an object such as {"access_token": "EAA…"}'),
        (
            {"pages": {PAGE_A: {"access_token": TOKEN_A, "bot": {"type": "lex"}}}},
            '"bot" must be an object with "type" one of lexv2, lexv1, local',
        ),
        (
            {"pages": {PAGE_A: {"access_token": TOKEN_A, "bot": {"type": "local"}}}},
            '"bot" type local needs BRIDGE_MODE=local',
        ),
        (
            {"pages": {PAGE_A: {"access_token": TOKEN_A}, PAGE_B: {"access_token": TOKEN_A}}},
            f"Pages {PAGE_A} and {PAGE_B} have the same access_token",
        ),
        (
            {"pages": {PAGE_A: {"access_token": TOKEN_A, "fallback_text": 3}}},
            "'fallback_text' must be a non-empty string",
        ),
    ],
)
def test_shape_problems(data: Any, expected: str) -> None:
    [problem] = problems(data)
    assert expected in problem


def test_reading_the_file_reports_io_json_and_duplicate_keys(tmp_path: Path) -> None:
    missing = read_pages_file(tmp_path / "nope.json", local=False)
    assert missing[0] == () and "cannot be read: No such file or directory" in missing[1][0]
    broken = read_pages_file(write(tmp_path, '{"pages": {"1": {"access_token": "EAA'), local=False)
    assert "is not JSON: Unterminated string" in broken[1][0] and "line 1" in broken[1][0]
    twice = f'{{"pages": {{"{PAGE_A}": {{"access_token": "{TOKEN_A}"}}, "{PAGE_A}": {{}}}}}}'
    assert read_pages_file(write(tmp_path, twice), local=False)[1] == [
        f"BRIDGE_PAGES_FILE ({tmp_path / 'pages.json'}): the key '{PAGE_A}' appears twice in one"
        " object"
    ]


# --- the environment ---------------------------------------------------------------------------


def pages_env(path: Path, **extra: str) -> dict[str, str]:
    return {**BASE_ENV, "BRIDGE_PAGES_FILE": str(path), **extra}


def test_a_pages_file_replaces_the_page_token_and_lex_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "pages": {
                PAGE_A: {
                    "access_token": TOKEN_A,
                    "bot": {"type": "lexv2", "bot_id": "ABCDE12345", "alias_id": "ALIAS1"},
                },
                PAGE_B: {
                    "access_token": TOKEN_B,
                    "bot": {"type": "lexv1", "bot_name": "FluBot", "bot_alias": "prod"},
                },
            }
        },
    )
    settings = Settings.from_env(pages_env(path, AWS_REGION="eu-west-1"))
    assert settings.graph.page_access_token == "" and settings.graph.page_id is None
    assert settings.served_pages == frozenset({PAGE_A, PAGE_B})
    # Every token is scrubbed from logs, and none is in a repr.
    assert {TOKEN_A, TOKEN_B} <= set(settings.secret_values)
    assert TOKEN_A not in repr(settings) and TOKEN_B not in repr(settings.pages)
    view_a, view_b = (settings.for_page(page) for page in settings.pages)
    assert (
        view_a.graph.page_id,
        view_a.graph.page_access_token,
        view_a.lex.backend,
        view_a.lex.bot_id,
    ) == (
        PAGE_A,
        TOKEN_A,
        "lexv2",
        "ABCDE12345",
    )
    assert (view_b.lex.backend, view_b.lex.bot_name, view_b.lex.bot_alias) == (
        "lexv1",
        "FluBot",
        "prod",
    )
    assert view_a.pages == () and view_a.pages_file is None


def test_pages_without_a_bot_use_the_environments_bot_and_texts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"pages": {PAGE_A: {"access_token": TOKEN_A}, PAGE_B: {"access_token": TOKEN_B}}},
    )
    problems_found = pytest.raises(ConfigError, Settings.from_env, pages_env(path)).value.problems
    assert [p.split(":")[0] for p in problems_found] == [
        "LEX_BOT_ID is missing",
        "LEX_BOT_ALIAS_ID is missing",
    ]
    settings = Settings.from_env(
        pages_env(
            path,
            LEX_BOT_ID="ABCDE12345",
            LEX_BOT_ALIAS_ID="TSTALIASID",
            BRIDGE_FALLBACK_TEXT="Oops.",
            BRIDGE_HANDOVER_INTENT="Human",
        )
    )
    view = settings.for_page(settings.pages[1])
    assert (
        view.lex.bot_id,
        view.conversation.fallback_text,
        view.conversation.handover_intent,
    ) == (
        "ABCDE12345",
        "Oops.",
        "Human",
    )


def test_a_pages_file_with_the_single_page_variables_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, {"pages": {PAGE_A: {"access_token": TOKEN_A}}})
    env = pages_env(
        path,
        FB_PAGE_ACCESS_TOKEN=TOKEN_B,
        FB_PAGE_ID=PAGE_A,
        LEX_BOT_ID="ABCDE12345",
        LEX_BOT_ALIAS_ID="TSTALIASID",
    )
    found = pytest.raises(ConfigError, Settings.from_env, env).value.problems
    assert [problem.split(" is set")[0] for problem in found] == [
        "FB_PAGE_ACCESS_TOKEN",
        "FB_PAGE_ID",
    ]
    assert all(TOKEN_B not in problem for problem in found)


def test_file_problems_are_listed_with_the_other_variables(tmp_path: Path) -> None:
    path = write(tmp_path, {"pages": {PAGE_A: {}}})
    env = {"BRIDGE_PAGES_FILE": str(path), "BRIDGE_SESSION_ID": "user"}
    found = pytest.raises(ConfigError, Settings.from_env, env).value.problems
    assert [problem[:30] for problem in found] == [
        "BRIDGE_PAGES_FILE (" + str(path)[:11],
        "LEX_BOT_ID is missing: set it ",
        "LEX_BOT_ALIAS_ID is missing: s",
        "FB_APP_SECRET is missing: set ",
        "FB_VERIFY_TOKEN is missing: se",
        "BRIDGE_SESSION_ID='user' is no",
    ]


def test_local_mode_serves_the_files_pages_with_the_local_bot(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "pages": {
                PAGE_A: {"access_token": TOKEN_A},
                PAGE_B: {"access_token": TOKEN_B, "bot": {"type": "local", "locale_id": "ko_KR"}},
            }
        },
    )
    settings = Settings.from_env({"BRIDGE_MODE": "local", "BRIDGE_PAGES_FILE": str(path)})
    view = settings.for_page(settings.pages[1])
    assert (view.lex.backend, view.lex.bot_id, view.lex.locale_id) == (
        "local",
        LOCAL_LEX_BOT_ID,
        "ko_KR",
    )
    assert view.lex.endpoint_url == f"{settings.local_base_url}/lex"
    # The environment's (local mode):
    assert settings.for_page(settings.pages[0]).lex.backend == "local"


def test_new_settings_have_their_defaults_and_ranges() -> None:
    env = {**BASE_ENV, "FB_PAGE_ACCESS_TOKEN": TOKEN_A, "LEX_BOT_ID": "ABCDE12345"}
    env["LEX_BOT_ALIAS_ID"] = "TSTALIASID"
    settings = Settings.from_env(env)
    assert (
        settings.lex.session_id,
        settings.conversation.handover_intent,
        settings.conversation.human_idle,
    ) == (
        "psid",
        None,
        86400.0,
    )
    custom = Settings.from_env(
        {**env, "BRIDGE_SESSION_ID": "page_psid", "BRIDGE_HUMAN_IDLE": "600"}
    )
    assert (custom.lex.session_id, custom.conversation.human_idle) == ("page_psid", 600.0)
    found = pytest.raises(
        ConfigError, Settings.from_env, {**env, "BRIDGE_HUMAN_IDLE": "5"}
    ).value.problems
    assert found == ["BRIDGE_HUMAN_IDLE=5 is out of range: expected a number from 60 to 604800"]
