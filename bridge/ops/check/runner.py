"""Running the checks in order: for one Page (``run_checks``), or for each Page of the pages
file with its own token and bot, a bot shared by Pages checked once (``run_page_checks``).

A check that needs an earlier one to pass is marked not run rather than failed, so the first
✗ is the one to fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bridge.bots.lexv2 import make_lexv2_client
from bridge.config.pages import PageConfig
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient
from bridge.ops.check.lex import check_lex
from bridge.ops.check.lex_v1 import make_lex_models_client
from bridge.ops.check.page_token import token_and_secret
from bridge.ops.check.queue import check_configured_queue
from bridge.ops.check.result import CheckResult
from bridge.ops.check.subscription import check_subscription
from bridge.ops.check.token_details import check_token_details
from bridge.ops.graph_advice import LOCAL_UNREACHABLE_FIX


def run_checks(
    settings: Settings,
    graph: GraphClient,
    *,
    app_id: str | None = None,
    skip_lex: bool = False,
    make_lex_client: Callable[[Settings], Any] | None = None,
    make_v1_client: Callable[[Settings], Any] | None = None,
    clock: Callable[[], float] = time.time,
    queue: bool = True,
) -> list[CheckResult]:
    """Every check, in order; later Graph checks are marked not run when the token fails.
    The Lex clients default to the bridge's own (``make_lexv2_client``,
    ``make_lex_models_client``); ``queue`` False leaves out the queue database (checked once
    for several Pages)."""
    secrets = (settings.graph.page_access_token, settings.graph.app_secret)
    local_fix = LOCAL_UNREACHABLE_FIX if settings.is_local else None
    tokens = token_and_secret(graph, settings, secrets, local_fix)
    page_id = tokens.page_id or settings.graph.page_id
    results = [
        tokens.token,
        tokens.secret,
        check_token_details(graph, app_id, page_id, clock, secrets),
        check_subscription(
            graph, tokens.page_id, app_id, proof=tokens.proof, secrets=secrets, local_fix=local_fix
        ),
    ]
    if skip_lex:
        results.append(
            CheckResult("lex_bot", "Lex bot", True, "skipped (--skip-lex)", skipped=True)
        )
    else:
        results.append(
            check_lex(
                settings,
                make_lex_client or make_lexv2_client,
                make_v1_client or make_lex_models_client,
            )
        )
    if queue:
        results.append(check_configured_queue(settings))
    return results


def run_page_checks(
    settings: Settings,
    pages: Sequence[PageConfig],
    make_graph: Callable[[Settings], GraphClient],
    *,
    app_id: str | None = None,
    skip_lex: bool = False,
    make_lex_client: Callable[[Settings], Any] | None = None,
    make_v1_client: Callable[[Settings], Any] | None = None,
    clock: Callable[[], float] = time.time,
) -> list[CheckResult]:
    """Checks 1–5 for each of ``pages`` (of the pages file) with its own token and bot, a bot
    shared by Pages checked once; then the queue database."""
    results: list[CheckResult] = []
    checked: dict[tuple[object, ...], tuple[str, CheckResult]] = {}
    for page in pages:
        view = settings.for_page(page)
        identity = _bot_identity(view)
        earlier = checked.get(identity)
        page_results = run_checks(
            view,
            make_graph(view),
            app_id=app_id,
            skip_lex=skip_lex or earlier is not None,
            make_lex_client=make_lex_client,
            make_v1_client=make_v1_client,
            clock=clock,
            queue=False,
        )
        for result in page_results:
            if result.name == "lex_bot" and earlier is not None and not skip_lex:
                first, found = earlier
                result = replace(
                    found, detail=f"the same bot as Page {first}: {found.detail}", skipped=True
                )
            elif result.name == "lex_bot" and not skip_lex:
                checked[identity] = (page.page_id, result)
            results.append(replace(result, page=page.label))
    results.append(check_configured_queue(settings))
    return results


def _bot_identity(settings: Settings) -> tuple[object, ...]:
    """What makes two Pages' bots the same bot (checked once)."""
    return (
        settings.lex.backend,
        settings.lex.bot_id,
        settings.lex.alias_id,
        settings.lex.locale_id,
        settings.lex.bot_name,
        settings.lex.bot_alias,
        settings.lex.endpoint_url,
    )
