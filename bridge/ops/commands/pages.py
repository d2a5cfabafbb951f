"""The Pages a command works on (``--page``), and a Graph client for each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from bridge.config.pages import PageConfig
    from bridge.config.settings import Settings
    from bridge.messenger.graph import GraphClient

PAGE_OPTION = click.option(
    "--page",
    "page_id",
    metavar="PAGE_ID",
    default=None,
    help="With BRIDGE_PAGES_FILE: only this Page (default: every Page of the file).",
)


def graph_client(settings: Settings) -> GraphClient:
    """The Graph client the bridge itself would use for ``settings``' Page."""
    from bridge.delivery.page_routes import make_graph

    return make_graph(settings)


def chosen_pages(settings: Settings, page_id: str | None) -> list[PageConfig]:
    """The pages file's Pages a command works on: all, or the one ``--page`` names."""
    if page_id is None:
        return list(settings.pages)
    if not settings.pages:
        raise click.UsageError("--page needs BRIDGE_PAGES_FILE (one Page: FB_PAGE_ACCESS_TOKEN)")
    chosen = [page for page in settings.pages if page.page_id == page_id]
    if not chosen:
        known = ", ".join(page.page_id for page in settings.pages)
        raise click.UsageError(f"--page {page_id} is not in BRIDGE_PAGES_FILE (it has {known})")
    return chosen
