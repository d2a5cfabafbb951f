"""/metrics is not on the webhook's port by default: through the real server in production mode,
the metrics listener (BRIDGE_METRICS_PORT, on 127.0.0.1) serves /metrics and /healthz and
nothing else, the main port answers /metrics 404 (or, with BRIDGE_METRICS_TOKEN, with the
bearer only), and the startup log says where /metrics is served."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bridge.messenger.signature import sign
from tests.support.servers import (
    Bridge,
    body_of,
    free_port,
    run_gunicorn,
    server_environment,
    start_bridge,
    stop_bridge,
    text,
)

pytestmark = pytest.mark.e2e

SECRET = "metrics-e2e-app-secret"
TOKEN = "scrape-token-0123456789abcdef"


def production(**env: str) -> dict[str, str]:
    """A production-mode server that reaches nothing: Graph and Lex at a closed loopback
    port, fake AWS credentials, no AWS configuration of this machine."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    return {
        "BRIDGE_MODE": "production",
        "FB_APP_SECRET": SECRET,
        "FB_VERIFY_TOKEN": "metrics-e2e-verify-token",
        "FB_PAGE_ACCESS_TOKEN": "metrics-e2e-page-token",
        "FB_GRAPH_API_URL": nowhere,
        "LEX_BOT_ID": "ABCDE12345",
        "LEX_BOT_ALIAS_ID": "TSTALIASID",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAMETRICSE2E000000",
        "AWS_SECRET_ACCESS_KEY": "metrics-e2e-secret-key",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_LEX_RUNTIME_V2": nowhere,
        "BRIDGE_METRICS_PORT": str(free_port()),
        **env,
    }


def started(tmp_path: Path, **env: str) -> tuple[Bridge, str]:
    """The server, and its metrics listener's URL."""
    environment = production(**env)
    bridge = start_bridge(tmp_path, **environment)
    return bridge, f"http://127.0.0.1:{environment['BRIDGE_METRICS_PORT']}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Bridge, str]]:
    bridge, metrics_url = started(tmp_path)
    yield bridge, metrics_url
    assert stop_bridge(bridge) == 0, bridge.log.read_text()


def samples(page: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def signed(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(SECRET, body)}


def log_lines(bridge: Bridge) -> list[dict[str, object]]:
    return [json.loads(line) for line in bridge.log.read_text().splitlines() if line[:1] == "{"]


def test_by_default_metrics_have_their_own_loopback_listener_and_only_it(
    server: tuple[Bridge, str],
) -> None:
    bridge, metrics_url = server
    assert requests.get(f"{bridge.url}/metrics", timeout=5).status_code == 404
    page = requests.get(f"{metrics_url}/metrics", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/plain; version=")
    assert "# HELP bridge_webhook_requests_total " in page.text
    found = samples(page.text)
    assert found[("bridge_queue_up", frozenset())] == 1
    assert requests.get(f"{metrics_url}/healthz", timeout=5).text == "ok"
    # Nothing else on the metrics listener: not the webhook (a signed delivery is not taken),
    # nor its handshake, /readyz, or a path Flask would answer.
    body = body_of(text("7100000000000001", "hello", "m_metrics_port"))
    posted = requests.post(f"{metrics_url}/webhook", data=body, headers=signed(body), timeout=5)
    assert (posted.status_code, posted.text) == (404, "Not Found")
    assert "X-Request-ID" in posted.headers
    query = {"hub.mode": "subscribe", "hub.verify_token": "metrics-e2e-verify-token"}
    for path, params in (("/webhook", query), ("/readyz", {}), ("/", {}), ("/metrics/", {})):
        got = requests.get(f"{metrics_url}{path}", params=params, timeout=5)
        assert got.status_code == 404, path
    assert requests.post(f"{metrics_url}/metrics", timeout=5).status_code == 405
    # The main port still takes webhooks: a bad signature there is counted; the metrics
    # listener's delivery never was.
    assert requests.post(f"{bridge.url}/webhook", data=body, timeout=5).status_code == 403
    after = samples(requests.get(f"{metrics_url}/metrics", timeout=5).text)
    requests_total = "bridge_webhook_requests_total"
    assert after[(requests_total, frozenset({("result", "bad_signature")}))] == 1
    assert after.get((requests_total, frozenset({("result", "ok")})), 0) == 0
    assert all(value == 0 for (name, _), value in after.items() if name == "bridge_queue_jobs"), (
        "nothing was queued"
    )
    # Where it listens, and the line that says so.
    port = metrics_url.rsplit(":", 1)[1]
    lines = log_lines(bridge)
    listening = [line["message"] for line in lines if "Listening at" in str(line["message"])]
    assert any(f"http://127.0.0.1:{port}" in str(message) for message in listening), listening
    said = [line for line in lines if str(line["message"]).startswith("metrics: ")]
    assert len(said) == 1, said
    assert f"http://127.0.0.1:{port}" in str(said[0]["message"])
    assert "not on the main port" in str(said[0]["message"])


def test_with_a_token_the_main_port_serves_metrics_to_its_bearer(tmp_path: Path) -> None:
    bridge, metrics_url = started(tmp_path, BRIDGE_METRICS_TOKEN=TOKEN)
    try:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        for url in (bridge.url, metrics_url):
            page = requests.get(f"{url}/metrics", headers=bearer, timeout=5)
            assert page.status_code == 200, url
            assert "# HELP bridge_webhook_requests_total " in page.text
            for headers in ({}, {"Authorization": "Bearer not-the-token"}):
                refused = requests.get(f"{url}/metrics", headers=headers, timeout=5)
                assert refused.status_code == 401, (url, headers)
                assert refused.headers["WWW-Authenticate"].startswith("Bearer")
                assert "bridge_" not in refused.text
        body = body_of(text("7100000000000002", "hello", "m_metrics_token"))
        posted = requests.post(f"{metrics_url}/webhook", data=body, headers=signed(body), timeout=5)
        assert posted.status_code == 404  # the token opens /metrics, not the webhook
    finally:
        assert stop_bridge(bridge) == 0, bridge.log.read_text()
    log = bridge.log.read_text()
    assert TOKEN not in log
    said = [line for line in log_lines(bridge) if str(line["message"]).startswith("metrics: ")]
    assert len(said) == 1 and "BRIDGE_METRICS_TOKEN" in str(said[0]["message"])


def test_local_mode_serves_metrics_on_its_one_loopback_port(tmp_path: Path) -> None:
    unused = free_port()
    bridge = start_bridge(tmp_path, BRIDGE_METRICS_PORT=str(unused))
    try:
        page = requests.get(f"{bridge.url}/metrics", timeout=5)
        assert page.status_code == 200 and "bridge_queue_up" in page.text
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", unused), timeout=2):
            pass  # no metrics listener in local mode
    finally:
        assert stop_bridge(bridge) == 0, bridge.log.read_text()
    said = [line for line in log_lines(bridge) if str(line["message"]).startswith("metrics: ")]
    assert len(said) == 1 and "local mode" in str(said[0]["message"])


def test_a_metrics_port_that_is_the_main_port_stops_the_server_at_startup() -> None:
    port = str(free_port())
    environment = server_environment("AWS_", **production(PORT=port, BRIDGE_METRICS_PORT=port))
    result = run_gunicorn(environment)
    assert result.returncode == 2, result.stderr
    assert f"BRIDGE_METRICS_PORT={port} is PORT's port too" in result.stderr
    assert "Listening at" not in result.stderr
