"""The bridge a replay posts to: its webhook URL, the local-mode endpoints beside it, the
secret to sign with and the headers of each delivery; pure.

The local-mode secret is public (it is in the code), so it is only ever used for a loopback
URL: a replay aimed at a real bridge must be given that bridge's app secret.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from bridge import __version__
from bridge.config.hosts import is_loopback_url
from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_PREFIX
from bridge.messenger.deliveries import delivery_headers


def webhook_url(url: str) -> str:
    """The webhook endpoint for ``--url``: ``/webhook`` appended unless it ends with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url must be an http:// or https:// URL, not {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"--url has a bad port: {url!r}") from None
    path = parts.path.rstrip("/")
    if not path.endswith("/webhook"):
        path += "/webhook"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def local_url(webhook: str, endpoint: str) -> str:
    """A local-mode endpoint (``status``, ``graph/inbox``) beside a webhook URL."""
    parts = urlsplit(webhook)
    root = parts.path.removesuffix("/webhook")
    return urlunsplit((parts.scheme, parts.netloc, f"{root}{LOCAL_PREFIX}/{endpoint}", "", ""))


def choose_secret(given: str | None, url: str) -> str:
    """``--secret`` (or FB_APP_SECRET), else the local-mode secret for a loopback URL only."""
    if given:
        return given
    if is_loopback_url(url):
        return LOCAL_APP_SECRET
    raise ValueError(
        "no app secret to sign with: pass --secret or set FB_APP_SECRET "
        "(the local-mode secret is only used for a loopback --url)"
    )


def request_headers(data: bytes, secret: str) -> dict[str, str]:
    """The headers Meta sends with a delivery, the signature computed over ``data`` exactly,
    and the replay's own User-Agent."""
    return {
        **delivery_headers(data, secret),
        "User-Agent": f"messenger-lex-bridge-replay/{__version__}",
    }
