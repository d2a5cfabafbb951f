"""bridge.config.settings: Settings.from_env, the configuration contract of DESIGN.md §3."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config.patterns import NO_TEXT_KINDS
from bridge.config.settings import Settings
from bridge.errors import BridgeError, ConfigError

APP_SECRET = "f3c9a1d27b4e48c0a9e6d5b8c7a1f2e3"
VERIFY_TOKEN = "verify-tok-8f2d1c"
PAGE_TOKEN = "EAAGm0PX4ZCpsBAZBq9XyZsecretpagetokenZDZD"

MINIMAL_ENV = {
    "FB_APP_SECRET": APP_SECRET,
    "FB_VERIFY_TOKEN": VERIFY_TOKEN,
    "FB_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
    "LEX_BOT_ID": "ABCDE12345",
    "LEX_BOT_ALIAS_ID": "TSTALIASID",
}
REQUIRED = tuple(MINIMAL_ENV)

# MINIMAL_ENV plus FB_PAGE_ID; see test_minimal_production_env_needs_no_page_id.
PRODUCTION_ENV = {**MINIMAL_ENV, "FB_PAGE_ID": "104859375629481"}

SECRETS = (APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN)


def problems_of(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    return caught.value.problems


def assert_documented_defaults(settings: Settings) -> None:
    assert settings.graph.app_secret == APP_SECRET
    assert settings.graph.verify_token == VERIFY_TOKEN
    assert settings.graph.page_access_token == PAGE_TOKEN
    assert settings.lex.bot_id == "ABCDE12345"
    assert settings.lex.alias_id == "TSTALIASID"
    # Defaults from DESIGN.md §3.
    assert settings.graph.api_url == "https://graph.facebook.com"
    assert settings.graph.api_version == "v25.0"
    assert settings.lex.backend == "lexv2"
    assert settings.lex.locale_id == "en_US"
    assert settings.queue.db_path == Path("./var/bridge.db")
    assert settings.queue.kind == "sqlite"
    assert settings.web.port == 8000
    assert settings.log.level == "INFO"
    assert settings.log.format == "json"
    # Production mode: real endpoints, all interfaces.
    assert settings.mode == "production"
    assert not settings.is_local
    assert settings.host == "0.0.0.0"
    assert settings.lex.endpoint_url is None
    assert settings.lex.read_timeout > 30  # above Lex's 30 s Lambda limit (DESIGN.md §4)
    assert settings.conversation.sender_actions is True


def test_minimal_production_env_needs_no_page_id() -> None:
    settings = Settings.from_env(MINIMAL_ENV)
    assert_documented_defaults(settings)
    assert settings.graph.page_id is None


def test_production_env_uses_documented_defaults() -> None:
    settings = Settings.from_env(PRODUCTION_ENV)
    assert_documented_defaults(settings)
    assert settings.graph.page_id == "104859375629481"


def test_values_are_stripped_and_blank_counts_as_missing() -> None:
    env = {**PRODUCTION_ENV, "LEX_BOT_ID": "  ABCDE12345 \n", "FB_APP_SECRET": "   "}
    problems = problems_of(env)
    assert len(problems) == 1
    assert problems[0].startswith("FB_APP_SECRET is missing")


def test_empty_env_names_every_missing_variable_at_once() -> None:
    problems = problems_of({})
    for name in REQUIRED:
        assert any(problem.startswith(f"{name} ") for problem in problems), name


def test_config_error_text_lists_each_problem_on_its_own_line() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    error = caught.value
    assert isinstance(error, BridgeError)
    lines = str(error).splitlines()
    assert lines[0] == "invalid configuration:"
    assert lines[1:] == [f"  - {problem}" for problem in error.problems]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("PORT", "0"),
        ("LEX_BOT_ID", "short"),
        ("LEX_BOT_ALIAS_ID", "has spaces"),
        ("LEX_LOCALE_ID", "en-US"),
        ("FB_PAGE_ID", "my-page"),
        ("FB_GRAPH_API_VERSION", "25"),
        ("FB_GRAPH_API_VERSION", "v25"),
        ("FB_GRAPH_API_URL", "graph.facebook.com"),
        ("BRIDGE_BOT", "foo"),
        ("BRIDGE_MODE", "staging"),
        ("BRIDGE_QUEUE", "redis"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "verbose"),
        ("BRIDGE_SENDER_ACTIONS", "maybe"),
        ("LEX_READ_TIMEOUT", "10"),
        ("LEX_READ_TIMEOUT", "forty"),
        ("FB_GRAPH_TIMEOUT", "0"),
        ("BRIDGE_MAX_ATTEMPTS", "0"),
        ("BRIDGE_DELIVERY_THREADS", "-1"),
        ("BRIDGE_ACK_HOLD", "-0.1"),
        ("BRIDGE_ACK_HOLD", "half"),
    ],
)
def test_malformed_value_is_one_problem_naming_the_variable(name: str, value: str) -> None:
    problems = problems_of({**PRODUCTION_ENV, name: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(name)


def test_several_problems_are_reported_together() -> None:
    bad = {
        "PORT": "abc",
        "LEX_BOT_ID": "short",
        "FB_GRAPH_API_VERSION": "25",
        "BRIDGE_BOT": "foo",
        "LOG_FORMAT": "xml",
        "BRIDGE_SENDER_ACTIONS": "maybe",
        "LEX_READ_TIMEOUT": "10",
    }
    env = {**PRODUCTION_ENV, **bad, "PORT": "70000"}
    env.pop("FB_VERIFY_TOKEN")
    problems = problems_of(env)
    assert len(problems) == len(bad) + 1
    for name in [*bad, "FB_VERIFY_TOKEN"]:
        assert any(problem.startswith(name) for problem in problems), name


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("YES", True), ("on", True), ("false", False), ("0", False)],
)
def test_boolean_spellings(value: str, expected: bool) -> None:
    env = {**PRODUCTION_ENV, "BRIDGE_SENDER_ACTIONS": value}
    assert Settings.from_env(env).conversation.sender_actions is expected


def test_choices_are_case_insensitive() -> None:
    env = {**PRODUCTION_ENV, "LOG_LEVEL": "debug", "LOG_FORMAT": "TEXT", "BRIDGE_BOT": "LexV2"}
    settings = Settings.from_env(env)
    assert (settings.log.level, settings.log.format, settings.lex.backend) == (
        "DEBUG",
        "text",
        "lexv2",
    )


def test_graph_api_url_loses_its_trailing_slash() -> None:
    env = {**PRODUCTION_ENV, "FB_GRAPH_API_URL": "https://graph.internal:8080/"}
    assert Settings.from_env(env).graph.api_url == "https://graph.internal:8080"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://graph.internal:8080", False),
        ("http://10.0.0.5/graph", False),
        ("http://127.0.0.1:9000", True),  # a fake on this machine
        ("http://localhost:9000", True),
        ("https://graph.internal", True),
    ],
)
def test_graph_is_reached_over_https_except_on_this_machine(url: str, allowed: bool) -> None:
    env = {**PRODUCTION_ENV, "FB_GRAPH_API_URL": url}
    if allowed:
        assert Settings.from_env(env).graph.api_url == url
        return
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert "FB_GRAPH_API_URL must use https://" in str(caught.value)
    assert Settings.from_env({**env, "BRIDGE_MODE": "local"}).graph.api_url == url


def test_a_short_verify_token_stops_startup_and_says_how_to_make_one() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**PRODUCTION_ENV, "FB_VERIFY_TOKEN": "abc123"})
    message = str(caught.value)
    assert "FB_VERIFY_TOKEN is too short (6 characters): use at least 16" in message
    assert "abc123" not in message  # a secret, even a bad one, is never printed
    assert Settings.from_env({**PRODUCTION_ENV, "FB_VERIFY_TOKEN": "x" * 16})


def test_secrets_never_appear_in_repr() -> None:
    settings = Settings.from_env(PRODUCTION_ENV)
    for text in (repr(settings), str(settings)):
        for secret in SECRETS:
            assert secret not in text
    assert "ABCDE12345" in repr(settings)  # non-secret fields are still shown


def test_secrets_never_appear_in_the_config_error() -> None:
    env = {**PRODUCTION_ENV, "PORT": "abc", "LEX_BOT_ID": "short", "FB_PAGE_ID": "x"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    text = str(caught.value) + repr(caught.value) + "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 3
    for secret in SECRETS:
        assert secret not in text


def test_local_mode_needs_nothing_else_and_stays_on_loopback() -> None:
    settings = Settings.from_env({"BRIDGE_MODE": "local"})
    assert settings.is_local
    assert settings.host == "127.0.0.1"
    assert settings.lex.backend == "local"
    assert settings.web.port == 8000
    assert settings.graph.api_url.startswith("http://127.0.0.1:8000/")
    assert settings.lex.endpoint_url is not None
    assert settings.lex.endpoint_url.startswith("http://127.0.0.1:8000/")
    assert (
        settings.graph.app_secret
        and settings.graph.verify_token
        and settings.graph.page_access_token
    )
    assert settings.graph.page_id is None  # any Page's deliveries are answered locally


def test_local_mode_follows_port() -> None:
    settings = Settings.from_env({"BRIDGE_MODE": "local", "PORT": "9123"})
    assert settings.web.port == 9123
    assert settings.local_base_url.startswith("http://127.0.0.1:9123")
    assert settings.graph.api_url.startswith("http://127.0.0.1:9123/")
    assert settings.lex.endpoint_url is not None
    assert settings.lex.endpoint_url.startswith("http://127.0.0.1:9123/")
    assert settings.graph.api_url != settings.lex.endpoint_url


def test_local_mode_with_real_lex_needs_the_lex_bot() -> None:
    problems = problems_of({"BRIDGE_MODE": "local", "BRIDGE_BOT": "lexv2"})
    assert sorted(p.split()[0] for p in problems) == ["LEX_BOT_ALIAS_ID", "LEX_BOT_ID"]


def test_local_bot_without_local_mode_is_a_problem() -> None:
    problems = problems_of({**PRODUCTION_ENV, "BRIDGE_BOT": "local"})
    assert len(problems) == 1
    assert "BRIDGE_BOT" in problems[0] and "BRIDGE_MODE=local" in problems[0]


# --- Lex V1, events without text, echoes ------------------------------------------------------

V1_ENV = {
    "FB_APP_SECRET": APP_SECRET,
    "FB_VERIFY_TOKEN": VERIFY_TOKEN,
    "FB_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
    "BRIDGE_BOT": "lexv1",
    "LEX_BOT_NAME": "Flu_Bot",
    "LEX_BOT_ALIAS": "prod",
}


def test_lex_v1_needs_its_bot_name_and_alias_and_not_the_v2_ids() -> None:
    settings = Settings.from_env(V1_ENV)
    assert (settings.lex.backend, settings.lex.bot_name, settings.lex.bot_alias) == (
        "lexv1",
        "Flu_Bot",
        "prod",
    )
    assert (settings.lex.bot_id, settings.lex.alias_id) == ("", "")
    assert settings.lex.v1_attributes is False  # V1 sends its attributes anyway
    assert Settings.from_env({**V1_ENV, "LEX_BOT_ALIAS": "$LATEST"}).lex.bot_alias == "$LATEST"
    missing = {k: v for k, v in V1_ENV.items() if not k.startswith("LEX_")}
    problems = problems_of(missing)
    assert [p.split(" ")[0] for p in problems] == ["LEX_BOT_NAME", "LEX_BOT_ALIAS"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEX_BOT_NAME", "F"),  # 2-50 characters
        ("LEX_BOT_NAME", "Flu__Bot"),  # single underscores
        ("LEX_BOT_NAME", "FluBot2"),  # letters only
        ("LEX_BOT_NAME", "B" * 51),
        ("LEX_BOT_ALIAS", "$latest"),
        ("LEX_BOT_ALIAS", "prod-1"),
    ],
)
def test_malformed_v1_names_are_problems(name: str, value: str) -> None:
    [problem] = problems_of({**V1_ENV, name: value})
    assert problem.startswith(f"{name} is malformed")


def test_v1_era_attributes_and_app_id_are_read() -> None:
    env = {**MINIMAL_ENV, "BRIDGE_V1_ATTRIBUTES": "true", "FB_APP_ID": "1517776481860111"}
    settings = Settings.from_env(env)
    assert settings.lex.v1_attributes is True
    assert settings.graph.app_id == "1517776481860111"
    assert Settings.from_env(MINIMAL_ENV).graph.app_id is None
    [problem] = problems_of({**MINIMAL_ENV, "FB_APP_ID": "my-app"})
    assert problem.startswith("FB_APP_ID is malformed")


def test_no_text_defaults_send_every_kind_to_the_bot() -> None:
    settings = Settings.from_env(MINIMAL_ENV)
    assert settings.conversation.no_text_inputs == ()
    assert settings.conversation.no_text_reply_kinds == frozenset()
    assert settings.conversation.no_text_reply.strip()


def test_no_text_settings_are_read() -> None:
    env = {
        **MINIMAL_ENV,
        "BRIDGE_NO_TEXT_INPUTS": " image = I sent a photo ,LIKE=yes,, location=a=b ",
        "BRIDGE_NO_TEXT_REPLY_KINDS": "Audio, video",
        "BRIDGE_NO_TEXT_REPLY": "Please type your question.",
    }
    settings = Settings.from_env(env)
    assert dict(settings.conversation.no_text_inputs) == {
        "image": "I sent a photo",
        "like": "yes",
        "location": "a=b",
    }
    assert settings.conversation.no_text_reply_kinds == frozenset({"audio", "video"})
    assert settings.conversation.no_text_reply == "Please type your question."
    everything = Settings.from_env({**MINIMAL_ENV, "BRIDGE_NO_TEXT_REPLY_KINDS": "all"})
    assert everything.conversation.no_text_reply_kinds == frozenset(NO_TEXT_KINDS)


def test_bad_no_text_settings_are_each_a_problem() -> None:
    env = {
        **MINIMAL_ENV,
        "BRIDGE_NO_TEXT_INPUTS": "image,photo=a picture,video=,audio=" + "x" * 1025,
        "BRIDGE_NO_TEXT_REPLY_KINDS": "image,gif,all",
    }
    problems = problems_of(env)
    assert [problem.split(" has ")[1].split(":")[0] for problem in problems] == [
        "'image'",
        "'photo=a picture'",
        "'video='",
        "'audio=" + "x" * 1025 + "'",
        "'gif'",
        "'all'",
    ]
    assert all(problem.startswith("BRIDGE_NO_TEXT_") for problem in problems)


# --- the metrics listener ----------------------------------------------------------------------


def test_the_metrics_listener_is_on_loopback_port_9464_by_default() -> None:
    settings = Settings.from_env(PRODUCTION_ENV)
    assert (settings.web.metrics_bind, settings.web.metrics_port) == ("127.0.0.1", 9464)
    assert settings.metrics_listener == ("127.0.0.1", 9464)
    assert Settings.from_env({"BRIDGE_MODE": "local"}).metrics_listener is None  # /metrics on PORT


@pytest.mark.parametrize(
    ("bind", "expected"),
    [("0.0.0.0", "0.0.0.0"), (" 10.1.2.3 ", "10.1.2.3"), ("::", "::"), ("::1", "::1")],
)
def test_the_metrics_listener_follows_its_settings(bind: str, expected: str) -> None:
    env = {**PRODUCTION_ENV, "BRIDGE_METRICS_BIND": bind, "BRIDGE_METRICS_PORT": "9100"}
    assert Settings.from_env(env).metrics_listener == (expected, 9100)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BRIDGE_METRICS_PORT", "0", "BRIDGE_METRICS_PORT=0 is out of range: expected a whole"),
        ("BRIDGE_METRICS_PORT", "65536", "BRIDGE_METRICS_PORT=65536 is out of range"),
        ("BRIDGE_METRICS_PORT", "metrics", "BRIDGE_METRICS_PORT='metrics' is malformed"),
        ("BRIDGE_METRICS_PORT", "8000", "BRIDGE_METRICS_PORT=8000 is PORT's port too"),
        ("BRIDGE_METRICS_BIND", "localhost", "BRIDGE_METRICS_BIND='localhost' is malformed"),
        ("BRIDGE_METRICS_BIND", "0.0.0.0:9464", "BRIDGE_METRICS_BIND='0.0.0.0:9464' is malformed"),
        ("BRIDGE_METRICS_BIND", "[::1]", "BRIDGE_METRICS_BIND='[::1]' is malformed"),
    ],
)
def test_a_bad_metrics_setting_stops_startup_and_says_what_it_should_be(
    name: str, value: str, says: str
) -> None:
    problems = problems_of({**PRODUCTION_ENV, name: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(says), problems
    if name == "BRIDGE_METRICS_BIND":
        assert "expected an IP address to listen on: 127.0.0.1 (this machine only)" in problems[0]
    elif value == "8000":
        assert problems[0].endswith(
            "expected a port of its own for the metrics listener, e.g. 9464"
        )
    else:
        assert "from 1 to 65535" in problems[0]


def test_a_main_port_on_the_metrics_default_says_to_move_one_of_them() -> None:
    [problem] = problems_of({**PRODUCTION_ENV, "PORT": "9464"})
    assert problem == (
        "BRIDGE_METRICS_PORT is 9464 by default, PORT's port too: set it to a port of its own"
        " for the metrics listener, e.g. 9465, or move PORT"
    )
    [problem] = problems_of({**PRODUCTION_ENV, "PORT": "9464", "BRIDGE_METRICS_PORT": "9464"})
    assert problem.endswith("e.g. 9465")
    moved = Settings.from_env({**PRODUCTION_ENV, "PORT": "9464", "BRIDGE_METRICS_PORT": "9465"})
    assert (moved.web.port, moved.metrics_listener) == (9464, ("127.0.0.1", 9465))


def test_local_mode_leaves_the_metrics_port_unused_but_still_checks_it() -> None:
    same = Settings.from_env({"BRIDGE_MODE": "local", "PORT": "9464"})  # no listener to clash
    assert same.web.port == 9464 and same.metrics_listener is None
    [problem] = problems_of({"BRIDGE_MODE": "local", "BRIDGE_METRICS_BIND": "everywhere"})
    assert problem.startswith("BRIDGE_METRICS_BIND='everywhere' is malformed")


def test_the_ack_hold_is_half_a_second_unless_set() -> None:
    assert Settings.from_env(PRODUCTION_ENV).delivery.ack_hold == 0.5
    assert Settings.from_env({**PRODUCTION_ENV, "BRIDGE_ACK_HOLD": "0"}).delivery.ack_hold == 0


def test_the_api_token_is_off_by_default_and_needs_32_characters() -> None:
    assert Settings.from_env(PRODUCTION_ENV).web.api_token is None
    token = "0123456789abcdef0123456789abcdef"
    settings = Settings.from_env({**PRODUCTION_ENV, "BRIDGE_API_TOKEN": token})
    assert settings.web.api_token == token and token in settings.secret_values
    assert token not in repr(settings)
    [problem] = problems_of({**PRODUCTION_ENV, "BRIDGE_API_TOKEN": "short-token"})
    assert problem.startswith("BRIDGE_API_TOKEN is malformed") and "32" in problem
    assert "short-token" not in problem
    assert problems_of({**PRODUCTION_ENV, "BRIDGE_API_TOKEN": "x" * 31 + " y"})
