"""Which Graph client (Page token), bot and fallback text each Page's turns use.

One Page (``FB_PAGE_ACCESS_TOKEN``): one route for every event (``FB_PAGE_ID``, if set, already
kept other Pages' events out at the webhook). Several Pages (``BRIDGE_PAGES_FILE``): one route
per Page, each with a Graph client holding that Page's token and the Page's own bot; a Page not
in the file has no route. The Graph clients share one connection pool, and bots of one Lex
service share one boto3 client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from bridge.bots import Bot, make_bot
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient, make_session


@dataclass(frozen=True)
class PageRoute:
    """What one Page's turns use."""

    graph: GraphClient
    bot: Bot
    fallback_text: str


@dataclass(frozen=True)
class Routes:
    """Each served Page's route; ``default`` serves every Page (the single-Page setup)."""

    default: PageRoute | None = None
    pages: Mapping[str, PageRoute] = field(default_factory=dict)

    def get(self, page: str) -> PageRoute | None:
        """The route of ``page``; None if the bridge does not serve it (any more)."""
        return self.pages.get(page, self.default)


def make_graph(settings: Settings, session: requests.Session | None = None) -> GraphClient:
    """The Graph client of the settings' Page token."""
    return GraphClient(
        base_url=settings.graph.api_url,
        version=settings.graph.api_version,
        page_token=settings.graph.page_access_token,
        app_secret=settings.graph.app_secret,
        timeout=settings.graph.timeout,
        session=session,
    )


def build_routes(
    settings: Settings, *, bot: Bot | None = None, graph: GraphClient | None = None
) -> Routes:
    """Routes from the settings; ``bot`` and ``graph``, if given, serve every Page (tests)."""
    if not settings.pages:
        return Routes(
            default=PageRoute(
                graph=graph or make_graph(settings),
                bot=bot or make_bot(settings),
                fallback_text=settings.conversation.fallback_text,
            )
        )
    session = make_session()
    clients: dict[Any, Any] = {}
    routes = {}
    for page in settings.pages:
        view = settings.for_page(page)
        routes[page.page_id] = PageRoute(
            graph=graph or make_graph(view, session),
            bot=bot or make_bot(view, clients=clients),
            fallback_text=view.conversation.fallback_text,
        )
    return Routes(pages=routes)
