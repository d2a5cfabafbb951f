"""Where a replay posts and how it signs (bridge/ops/replay/target.py): URLs, secrets,
signatures."""

from __future__ import annotations

import json

import pytest

from bridge.config.hosts import is_loopback_url
from bridge.config.localmode import LOCAL_APP_SECRET
from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature, sign
from bridge.ops.replay.target import choose_secret, local_url, request_headers, webhook_url
from tests.ops.replay.test_replayer import meta, text

# --- URLs, secrets, signatures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "webhook", "status"),
    [
        (
            "http://127.0.0.1:8000",
            "http://127.0.0.1:8000/webhook",
            "http://127.0.0.1:8000/local/status",
        ),
        (
            "http://127.0.0.1:8000/",
            "http://127.0.0.1:8000/webhook",
            "http://127.0.0.1:8000/local/status",
        ),
        (
            "https://bot.example.com/webhook",
            "https://bot.example.com/webhook",
            "https://bot.example.com/local/status",
        ),
        (
            "https://bot.example.com/webhook/",
            "https://bot.example.com/webhook",
            "https://bot.example.com/local/status",
        ),
        (
            "https://example.com/fb/",
            "https://example.com/fb/webhook",
            "https://example.com/fb/local/status",
        ),
        ("http://[::1]:9/x?t=1", "http://[::1]:9/x/webhook?t=1", "http://[::1]:9/x/local/status"),
    ],
)
def test_webhook_is_appended_unless_the_url_ends_with_it(
    url: str, webhook: str, status: str
) -> None:
    assert webhook_url(url) == webhook
    assert local_url(webhook_url(url), "status") == status


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host/", "http://", "http://h:port/"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="--url"):
        webhook_url(url)


def test_loopback_hosts_and_the_local_secret() -> None:
    for url in ("http://127.0.0.1:8000", "http://127.9.9.9", "http://localhost:1", "http://[::1]/"):
        assert is_loopback_url(url), url
        assert choose_secret(None, url) == LOCAL_APP_SECRET
        assert choose_secret("mine", url) == "mine"
    for url in ("http://10.0.0.1", "https://bot.example.com", "http://127.0.0.1.nip.io"):
        assert not is_loopback_url(url), url
        assert choose_secret("mine", url) == "mine"
        with pytest.raises(ValueError, match="pass --secret or set FB_APP_SECRET"):
            choose_secret(None, url)
    with pytest.raises(ValueError):
        choose_secret("", "https://bot.example.com")


def test_the_signature_covers_the_exact_bytes() -> None:
    data = meta(text("7", "héllo </b> 😀"))
    headers = request_headers(data, "s3cret")
    assert headers["Content-Type"] == "application/json"
    assert is_valid_signature("s3cret", data, headers[SIGNATURE_HEADER])
    reserialised = json.dumps(json.loads(data), separators=(",", ":")).encode()
    assert reserialised != data  # Meta's escapes are lost by a round trip...
    assert not is_valid_signature("s3cret", reserialised, headers[SIGNATURE_HEADER])  # ...and so
    assert headers[SIGNATURE_HEADER] == sign("s3cret", data)
