"""Check 3: what ``GET /debug_token`` says about the Page token, and ``/me`` cannot: the app it
was made for, its type, its Page, its expiry and its permissions.

It needs the app token ``APP_ID|APP_SECRET``, so it runs only with an app id (FB_APP_ID or
``--app-id``). A token that expires within a week fails, so it is replaced in time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridge.errors import GraphError
from bridge.messenger.graph import GraphClient
from bridge.ops.check.result import SETUP, CheckResult, fail
from bridge.ops.graph_advice import explain_graph_error

TOKEN_EXPIRY_WARNING = 7 * 86400.0
NEEDED_SCOPES = ("pages_messaging",)
SETUP_SCOPES = ("pages_manage_metadata",)

_NAME, _TITLE = "token_details", "Token details (debug_token)"


def check_token_details(
    graph: GraphClient,
    app_id: str | None,
    page_id: str | None,
    clock: Callable[[], float],
    secrets: Sequence[str],
) -> CheckResult:
    """``GET /debug_token`` interpreted, or skipped (and fine) without an app id."""
    if not app_id:
        return CheckResult(
            _NAME,
            _TITLE,
            True,
            "skipped: set FB_APP_ID (or --app-id) to also check the token's app, type, "
            "expiry and permissions",
            skipped=True,
        )
    now = clock()
    try:
        data = graph.debug_token(app_id)
    except GraphError as error:
        explained = explain_graph_error(
            error,
            doing="inspect the token with the app token FB_APP_ID|FB_APP_SECRET",
            secrets=secrets,
        )
        return fail(
            _NAME,
            _TITLE,
            explained.detail,
            "check FB_APP_ID is the App ID and FB_APP_SECRET its App Secret (App settings › "
            f"Basic); {explained.fix}",
        )
    return interpret_debug_token(data, app_id=app_id, page_id=page_id, now=now)


def interpret_debug_token(
    data: Mapping[str, Any], *, app_id: str, page_id: str | None, now: float
) -> CheckResult:
    """``GET /debug_token``'s ``data``: valid, this app's, a Page token, expiry, permissions."""
    problem = (
        _validity_problem(data, app_id)
        or _kind_problem(data, page_id)
        or _scope_problem(data)
        or _expiry_problem(data, now)
    )
    if problem is not None:
        detail, fix = problem
        return fail(_NAME, _TITLE, detail, fix)
    return CheckResult(_NAME, _TITLE, True, "; ".join(_summary(data)))


def _validity_problem(data: Mapping[str, Any], app_id: str) -> tuple[str, str] | None:
    """A token Graph calls invalid, or one made for another app: (detail, fix)."""
    if not data.get("is_valid"):
        error = data.get("error")
        why = error.get("message") if isinstance(error, dict) else None
        return (
            "Graph says the Page token is not valid" + (f": {why}" if why else ""),
            "create a new Page access token and set FB_PAGE_ACCESS_TOKEN",
        )
    token_app = str(data.get("app_id") or "")
    if token_app != app_id:
        return (
            f"the token was made for the app {data.get('application')!r} ({token_app}), not "
            f"FB_APP_ID {app_id}: webhooks, the app secret and the token must all be one app's",
            "make the Page token in the app whose id is FB_APP_ID (or fix FB_APP_ID)",
        )
    return None


def _kind_problem(data: Mapping[str, Any], page_id: str | None) -> tuple[str, str] | None:
    """A user or app token, or the token of another Page: (detail, fix)."""
    kind = str(data.get("type") or "")
    if kind != "PAGE":
        return (
            f"this is a {kind or 'non-Page'} token, not a Page token",
            "use the Page's own token (GET /me/accounts lists each Page with its access_token)",
        )
    profile = str(data.get("profile_id") or "")
    if page_id is not None and profile and profile != page_id:
        return (
            f"the token is for the Page {profile}, not {page_id}",
            "use the token of the bridge's Page",
        )
    return None


def _scope_problem(data: Mapping[str, Any]) -> tuple[str, str] | None:
    missing = [s for s in NEEDED_SCOPES if s not in _scopes(data)]
    if not missing:
        return None
    return (
        f"the token lacks {', '.join(missing)}: the bridge cannot send messages",
        f"make a new Page token with {', '.join(missing)} granted",
    )


def _expiry_problem(data: Mapping[str, Any], now: float) -> tuple[str, str] | None:
    expires = _number(data.get("expires_at"))
    if not expires or expires - now >= TOKEN_EXPIRY_WARNING:
        return None
    days = max(0.0, (expires - now) / 86400)
    return (
        f"the token expires in {days:.1f} days ({_date(expires)})",
        "make a long-lived Page token (from a long-lived user token, or a system user's) "
        "and set FB_PAGE_ACCESS_TOKEN",
    )


def _summary(data: Mapping[str, Any]) -> list[str]:
    """What a good token's details say: its app, expiry, data access and permissions."""
    token_app = str(data.get("app_id") or "")
    parts = [f"a Page token of {data.get('application') or 'the app'} ({token_app})"]
    expires = _number(data.get("expires_at"))
    parts.append(f"expires {_date(expires)}" if expires else "never expires")
    access = _number(data.get("data_access_expires_at"))
    if access:
        parts.append(f"data access until {_date(access)}")
    scopes = _scopes(data)
    parts.append(f"permissions: {', '.join(scopes) or 'none'}")
    absent = [s for s in SETUP_SCOPES if s not in scopes]
    if absent:
        parts.append(f"without {', '.join(absent)}, {SETUP} cannot subscribe the Page")
    return parts


def _scopes(data: Mapping[str, Any]) -> list[str]:
    return [str(s) for s in data.get("scopes") or [] if isinstance(s, str)]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))
