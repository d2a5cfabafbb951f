"""``python -m bridge check``: every check of ``bridge.ops.check``, as text or JSON."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from bridge.config.settings import Settings
from bridge.errors import ConfigError
from bridge.ops.commands.pages import PAGE_OPTION, chosen_pages, graph_client

if TYPE_CHECKING:
    from bridge.ops.check.result import CheckResult


@click.command()
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list of {name, ok, detail, fix}."
)
@click.option(
    "--app-id",
    envvar="FB_APP_ID",
    default=None,
    show_default="FB_APP_ID",
    help="The app's id: adds GET /debug_token (the token's app, type, expiry, permissions).",
)
@click.option(
    "--skip-lex",
    is_flag=True,
    help="Leave out the Lex check (for Lex V2 it runs one real turn on the bot).",
)
@PAGE_OPTION
def check(as_json: bool, app_id: str | None, skip_lex: bool, page_id: str | None) -> None:
    """Check everything the bridge needs, and say how to fix what is wrong.

    \b
    ✓/✗ per check:
      Page token            GET /me: valid, and which Page it belongs to (FB_PAGE_ID's?)
      App secret            the same call's appsecret_proof (FB_APP_SECRET) is accepted
      Token details         with FB_APP_ID: GET /debug_token with APP_ID|APP_SECRET: the
                            token's app, Page, expiry and permissions
      Webhook subscription  GET /{page}/subscribed_apps: this app, with the bridge's fields
                            (Meta unsubscribes a Page after ~1 h of failed deliveries)
      Lex bot               Lex V2: one RecognizeText turn, "hello", session bridge-check,
                            with the configured bot, alias, locale, Region and credentials;
                            Lex V1: GetBot (lex-models) on the bot name and alias, no turn
      Queue database        BRIDGE_DB opens and takes a write lock (then rolls back);
                            BRIDGE_QUEUE=sqs: the queue, its dead-letter queue and the
                            table answer and the table takes a write

    With BRIDGE_PAGES_FILE the first five run for each Page (or only --page) with its own
    token and bot; a bot shared by several Pages is checked once.

    Exit status: 0 when every check passes, 1 otherwise.
    """
    from bridge.ops.check.render import render_json, render_text
    from bridge.ops.check.result import config_failure

    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as error:
        results = [config_failure(error)]
    else:
        results = _run(settings, app_id=app_id, skip_lex=skip_lex, page_id=page_id)
    click.echo(render_json(results) if as_json else render_text(results))
    sys.exit(0 if all(result.ok for result in results) else 1)


def _run(
    settings: Settings, *, app_id: str | None, skip_lex: bool, page_id: str | None
) -> list[CheckResult]:
    """The checks for the one Page, or for each Page of the pages file (or only ``--page``)."""
    from bridge.ops.check.runner import run_checks, run_page_checks

    if app_id is None and settings.is_local:
        from bridge.local.graph import LOCAL_APP_ID

        app_id = LOCAL_APP_ID
    if settings.pages:
        return run_page_checks(
            settings,
            chosen_pages(settings, page_id),
            graph_client,
            app_id=app_id,
            skip_lex=skip_lex,
        )
    chosen_pages(settings, page_id)  # --page without a pages file: a usage error
    return run_checks(settings, graph_client(settings), app_id=app_id, skip_lex=skip_lex)
