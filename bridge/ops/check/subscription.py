"""Check 4: the Page is subscribed to this app with the webhook fields the bridge needs.

This is where Meta's own unsubscribing shows: after about an hour of failed deliveries Meta
removes the subscription, and the bridge hears nothing more until ``setup`` adds it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.errors import GraphError
from bridge.messenger.graph import GraphClient
from bridge.messenger.subscriptions import REQUIRED_FIELDS, SUBSCRIBED_FIELDS
from bridge.ops.check.result import SETUP, CheckResult, fail, not_run
from bridge.ops.graph_advice import explain_graph_error

_TITLE = "Webhook subscription"


def check_subscription(
    graph: GraphClient,
    page_id: str | None,
    app_id: str | None,
    *,
    proof: bool,
    secrets: Sequence[str],
    local_fix: str | None,
) -> CheckResult:
    """``GET /{page}/subscribed_apps`` interpreted; not run without a working Page token."""
    if page_id is None:
        return not_run(
            "subscription", _TITLE, "needs a working Page token", "fix the Page token first"
        )
    try:
        apps = graph.subscribed_apps(page_id, proof=proof)
    except GraphError as error:
        explained = explain_graph_error(
            error,
            doing="read the Page's webhook subscription",
            permission="pages_manage_metadata",
            secrets=secrets,
            unreachable_fix=local_fix,
        )
        return fail("subscription", _TITLE, explained.detail, explained.fix)
    return interpret_subscription(apps, page_id, app_id)


def interpret_subscription(
    apps: Sequence[Mapping[str, Any]], page_id: str, app_id: str | None
) -> CheckResult:
    """``GET /{page}/subscribed_apps``: is this app subscribed with the fields the bridge uses?"""
    mine = [app for app in apps if app_id is None or str(app.get("id")) == app_id]
    if not mine:
        return _not_subscribed(apps, page_id)
    fields = mine[0].get("subscribed_fields")
    current = [str(f) for f in fields] if isinstance(fields, list) else []
    required = [f for f in REQUIRED_FIELDS if f not in current]
    optional = [f for f in SUBSCRIBED_FIELDS if f not in current and f not in REQUIRED_FIELDS]
    app = f"{mine[0].get('name') or 'this app'} ({mine[0].get('id')})"
    if required:
        return fail(
            "subscription",
            _TITLE,
            f"the Page is subscribed to {app} without {', '.join(required)}: "
            + (
                "the bot never hears what people type"
                if "messages" in required
                else "taps on Get Started, the menu and buttons never reach the bot"
            ),
            f"run: {SETUP}",
        )
    detail = f"{app} receives {', '.join(f for f in SUBSCRIBED_FIELDS if f in current)}"
    if optional:
        detail += f"; optional fields not subscribed: {', '.join(optional)} ({SETUP} adds them)"
    return CheckResult("subscription", _TITLE, True, detail)


def _not_subscribed(apps: Sequence[Mapping[str, Any]], page_id: str) -> CheckResult:
    others = ", ".join(f"{a.get('name')} ({a.get('id')})" for a in apps)
    also = f" (subscribed apps: {others})" if others else ""
    return fail(
        "subscription",
        _TITLE,
        f"the Page {page_id} is not subscribed to this app{also}, so Meta sends the bridge "
        "no messages. Meta also removes the subscription by itself after about an hour of "
        "failed webhook deliveries (server down, wrong app secret, slow answers)",
        "find what made deliveries fail (App Dashboard › Webhooks › Show recent errors), "
        f"fix it, then run: {SETUP}",
    )
