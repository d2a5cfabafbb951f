"""Where the lean Lex V2 client sends its calls (bridge.bots.lexendpoint): for each AWS
variable, shared config file section, FIPS and dual-stack setting, the endpoint a botocore
client would call. Nothing is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.bots.lexv2 import make_botocore_lexv2_client, make_lexv2_client
from bridge.config.graph import GraphSettings
from bridge.config.lex import LexSettings
from bridge.config.settings import Settings
from bridge.errors import ConfigError

CALL: dict[str, Any] = {
    "botId": "ABCDE12345",
    "botAliasId": "TSTALIASID",
    "localeId": "en_US",
    "sessionId": "2900000000000001",
    "text": "hi",
}


pytestmark = pytest.mark.usefixtures("clean_aws_env")


def settings(endpoint_url: str | None = None, **lex: Any) -> Settings:
    values: dict[str, Any] = {"bot_id": "ABCDE12345", "alias_id": "TSTALIASID"}
    if endpoint_url:
        values |= {"backend": "local", "endpoint_url": endpoint_url}
    return Settings(
        graph=GraphSettings(app_secret="s", verify_token="v", page_access_token="t"),
        lex=LexSettings(**(values | lex)),
    )


CONFIG_SERVICES = """[default]
services = local
endpoint_url = http://127.0.0.1:4602
[services local]
lex_runtime_v2 =
  endpoint_url = http://127.0.0.1:4601
"""


SERVICE_URL, GLOBAL_URL = "http://127.0.0.1:4599", "http://127.0.0.1:4600"
FIPS, DUAL_STACK = {"AWS_USE_FIPS_ENDPOINT": "true"}, {"AWS_USE_DUALSTACK_ENDPOINT": "true"}
SERVICE, GLOBAL = {"AWS_ENDPOINT_URL_LEX_RUNTIME_V2": SERVICE_URL}, {"AWS_ENDPOINT_URL": GLOBAL_URL}
IGNORE = {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
CONFIG_GLOBAL = "[default]\nendpoint_url = http://127.0.0.1:4602\n"
EU_WEST_1 = "https://runtime-v2-lex.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(
    ("region", "env", "config", "expected"),
    [
        ("eu-west-1", {}, "", EU_WEST_1),
        ("cn-north-1", {}, "", "https://runtime-v2-lex.cn-north-1.amazonaws.com.cn"),
        ("us-east-1", FIPS, "", "https://runtime-v2-lex-fips.us-east-1.amazonaws.com"),
        ("us-gov-west-1", FIPS, "", "https://runtime-v2-lex-fips.us-gov-west-1.amazonaws.com"),
        ("eu-west-1", DUAL_STACK, "", "https://runtime-v2-lex.eu-west-1.api.aws"),
        ("eu-west-1", SERVICE | GLOBAL, CONFIG_SERVICES, SERVICE_URL),
        ("eu-west-1", GLOBAL, CONFIG_SERVICES, GLOBAL_URL),
        ("eu-west-1", GLOBAL | FIPS, "", GLOBAL_URL),
        ("eu-west-1", {}, CONFIG_SERVICES, "http://127.0.0.1:4601"),
        ("eu-west-1", {}, CONFIG_GLOBAL, "http://127.0.0.1:4602"),
        ("eu-west-1", SERVICE | GLOBAL | IGNORE, CONFIG_SERVICES, EU_WEST_1),
    ],
)
def test_the_endpoint_is_the_one_botocore_calls(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    region: str,
    env: dict[str, str],
    config: str,
    expected: str,
) -> None:
    (tmp_path / "aws-config").write_text(config)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert make_lexv2_client(settings(region=region)).endpoint_url == expected
    assert botocore_url(make_botocore_lexv2_client(settings(region=region))) == expected


def test_the_local_endpoint_wins_over_the_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LEX_RUNTIME_V2", "http://127.0.0.1:4599")
    client = make_lexv2_client(settings("http://127.0.0.1:9/lex"))
    assert client.endpoint_url == "http://127.0.0.1:9/lex"
    assert botocore_url(make_botocore_lexv2_client(settings("http://127.0.0.1:9/lex"))) == (
        "http://127.0.0.1:9/lex"
    )


def test_an_endpoint_that_is_not_a_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LEX_RUNTIME_V2", "localhost:4599")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with pytest.raises(ConfigError):
        make_lexv2_client(settings(region="eu-west-1"))


class _Sent(Exception):
    pass


def botocore_url(client: Any) -> str:
    """The endpoint of the URL a botocore client sends RecognizeText to (nothing is sent)."""
    urls: list[str] = []

    def capture(request: Any, **kwargs: Any) -> None:
        urls.append(request.url)
        raise _Sent

    client.meta.events.register("before-send.*", capture)
    with pytest.raises(_Sent):
        client.recognize_text(**CALL)
    return urls[0].split("/bots/")[0]


def test_a_profile_naming_a_missing_services_section_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "aws-config").write_text("[default]\nservices = nowhere\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with pytest.raises(ConfigError) as raised:
        make_lexv2_client(settings(region="eu-west-1"))
    assert "[services nowhere]" in str(raised.value)
