"""The Facebook side: the app's secrets, the Page, and how the Graph API is reached."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bridge.config import patterns
from bridge.config.env import EnvReader
from bridge.config.hosts import is_loopback_url
from bridge.config.localmode import (
    LOCAL_APP_SECRET,
    LOCAL_PAGE_ACCESS_TOKEN,
    LOCAL_VERIFY_TOKEN,
    local_base_url,
)

VERIFY_TOKEN_MIN = 16
_GRAPH_VERSION = re.compile(r"^v\d+\.\d+$")
_URL = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")


@dataclass(frozen=True)
class GraphSettings:
    """The app secret signs webhooks and appsecret_proof, the verify token answers the GET
    handshake, the Page token sends (empty with a pages file: each Page has its own)."""

    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    page_access_token: str = field(repr=False)
    page_id: str | None = None
    app_id: str | None = None
    api_url: str = "https://graph.facebook.com"
    api_version: str = "v25.0"
    timeout: float = 10.0


def read_graph(env: EnvReader, *, local: bool, port: int, pages_file: Path | None) -> GraphSettings:
    """FB_*: local mode has its own secrets and Graph inbox; production needs the real ones."""
    return GraphSettings(
        app_secret=env.secret(
            "FB_APP_SECRET",
            LOCAL_APP_SECRET if local else None,
            "the App Secret from App settings › Basic",
        ),
        verify_token=_verify_token(env, local=local),
        page_access_token=_page_token(env, local=local, pages_file=pages_file),
        page_id=_page_id(env, pages_file),
        app_id=env.matching("FB_APP_ID", patterns.APP_ID, "digits, e.g. 1517776481860111", None),
        api_url=_api_url(env, local=local, port=port),
        api_version=env.matching(
            "FB_GRAPH_API_VERSION", _GRAPH_VERSION, "a pinned version such as v25.0", "v25.0"
        ),
        timeout=env.number("FB_GRAPH_TIMEOUT", 10.0, low=0.5, high=120),
    )


def _verify_token(env: EnvReader, *, local: bool) -> str:
    """FB_VERIFY_TOKEN: long enough that nobody guesses it and subscribes the app to a URL of
    theirs (local mode has its own)."""
    token = env.secret(
        "FB_VERIFY_TOKEN",
        LOCAL_VERIFY_TOKEN if local else None,
        f"a random string of at least {VERIFY_TOKEN_MIN} characters that you also type into"
        " the webhook's Verify Token (e.g. from: openssl rand -hex 16)",
    )
    if token and not local and len(token) < VERIFY_TOKEN_MIN:
        env.problem(
            f"FB_VERIFY_TOKEN is too short ({len(token)} characters): use at least"
            f" {VERIFY_TOKEN_MIN}, e.g. from: openssl rand -hex 16"
        )
    return token


def _api_url(env: EnvReader, *, local: bool, port: int) -> str:
    """FB_GRAPH_API_URL: HTTPS, since every call carries a Page token; plain HTTP only to this
    machine (a local fake) or in local mode."""
    url = env.matching(
        "FB_GRAPH_API_URL",
        _URL,
        "a URL such as https://graph.facebook.com",
        f"{local_base_url(port)}/graph" if local else "https://graph.facebook.com",
    ).rstrip("/")
    if not local and url.startswith("http://") and not is_loopback_url(url):
        env.problem(
            "FB_GRAPH_API_URL must use https:// (every call carries a Page token); plain"
            " http:// is allowed only to this machine (127.0.0.1, localhost), e.g."
            " https://graph.facebook.com"
        )
    return url


def _page_token(env: EnvReader, *, local: bool, pages_file: Path | None) -> str:
    """FB_PAGE_ACCESS_TOKEN: required, unless the pages file gives each Page its token."""
    if pages_file is None:
        return env.secret(
            "FB_PAGE_ACCESS_TOKEN",
            LOCAL_PAGE_ACCESS_TOKEN if local else None,
            "the Page access token (starts with EAA…)",
        )
    if env.is_set("FB_PAGE_ACCESS_TOKEN"):
        env.problem(
            "FB_PAGE_ACCESS_TOKEN is set together with BRIDGE_PAGES_FILE: give that Page its"
            " access_token in the file instead, and unset FB_PAGE_ACCESS_TOKEN"
        )
    return ""


def _page_id(env: EnvReader, pages_file: Path | None) -> str | None:
    """FB_PAGE_ID: optional (local mode too: recorded deliveries for any Page can be
    replayed); with a pages file, the file says which Pages are served."""
    if pages_file is not None and env.is_set("FB_PAGE_ID"):
        env.problem(
            "FB_PAGE_ID is set together with BRIDGE_PAGES_FILE: the file lists the Pages served;"
            " unset FB_PAGE_ID"
        )
        return None
    return env.matching("FB_PAGE_ID", patterns.PAGE_ID, patterns.PAGE_ID_HINT, None)
