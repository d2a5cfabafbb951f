"""The README and config.example.env stay in step with the settings the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def variables_read_by_config() -> set[str]:
    modules = sorted((ROOT / "bridge" / "config").glob("*.py"))
    source = "\n".join(path.read_text() for path in modules)
    return set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_config_reads_the_documented_contract() -> None:
    names = variables_read_by_config()
    assert {
        "FB_APP_SECRET",
        "FB_VERIFY_TOKEN",
        "FB_PAGE_ACCESS_TOKEN",
        "FB_PAGE_ID",
        "FB_GRAPH_API_URL",
        "FB_GRAPH_API_VERSION",
        "BRIDGE_BOT",
        "LEX_BOT_ID",
        "LEX_BOT_ALIAS_ID",
        "LEX_LOCALE_ID",
        "BRIDGE_DB",
        "BRIDGE_QUEUE",
        "PORT",
        "LOG_LEVEL",
        "LOG_FORMAT",
    } <= names


def test_every_setting_is_in_the_example_env_and_the_readme() -> None:
    example = (ROOT / "config.example.env").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in sorted(variables_read_by_config()):
        assert re.search(rf"^#?{name}=", example, re.MULTILINE), f"{name} not in example env"
        assert f"`{name}`" in readme, f"{name} not in README"


def test_the_readme_opens_with_the_two_commands() -> None:
    opening = "\n".join((ROOT / "README.md").read_text().splitlines()[:20])
    assert "make demo" in opening and "make test" in opening


def test_every_metric_is_in_the_monitoring_guide() -> None:
    from prometheus_client.metrics import MetricWrapperBase

    from bridge.obs import metrics

    guide = (ROOT / "docs" / "monitoring.md").read_text()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            name = value._name + ("_total" if value._type == "counter" else "")
            assert f"`{name}`" in guide, f"{name} not in docs/monitoring.md"


def test_the_compose_example_lets_its_network_scrape_metrics_and_nothing_else() -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with responses (dev deps)
    compose = yaml.safe_load((ROOT / "docker-compose.example.yml").read_text())
    bridge = compose["services"]["bridge"]
    assert bridge["environment"]["BRIDGE_METRICS_BIND"] == "0.0.0.0"  # the container's address
    assert "ports" not in bridge and "9464" not in str(compose["services"]["proxy"])
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    public = next(line for line in caddyfile.splitlines() if line.strip().startswith("@public"))
    assert public.split()[2:] == ["/webhook", "/healthz"], "the proxy never forwards /metrics"
    assert "9464" not in caddyfile
