"""bridge.config.hosts: the one loopback check (local mode's clients, replay's secret)."""

from __future__ import annotations

import pytest

from bridge.config.hosts import is_loopback_host, is_loopback_url


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.9.9.9", "::1", "localhost", "LOCALHOST", "app.localhost"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", [None, "", "10.0.0.1", "bot.example.com", "127.0.0.1.nip.io", "localhost.example"]
)
def test_other_hosts(host: str | None) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://[::1]/", True),
        ("  http://localhost:1/webhook ", True),
        ("https://bot.example.com", False),
        ("http://[::1", False),  # urlsplit refuses it: not loopback, no exception
        ("not a url", False),
    ],
)
def test_urls(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback
