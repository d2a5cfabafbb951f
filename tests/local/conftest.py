"""Fixtures the local-mode tests share: a local-mode app with a scripted bot, its client, and a
real server on a loopback port to mount an app on (for boto3 and the Graph client)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import TEST_SECRET, TEST_TOKEN, ScriptedBot
from tests.support.servers import LiveServer, wsgi_server


@pytest.fixture
def app(local_settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Flask:
    return create_app(local_settings, queue=queue, bot=ScriptedBot(), graph=graph)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    with wsgi_server() as server:
        yield server


@pytest.fixture
def served_graph(
    live_server: LiveServer, local_settings: Settings, queue: SqliteQueue
) -> Iterator[tuple[Flask, GraphClient]]:
    """A local-mode app served on ``live_server`` and a Graph client of its own talking to
    that server's local Graph endpoint over HTTP."""
    with requests.Session() as http:
        graph = GraphClient(
            base_url=f"{live_server.url}/local/graph",
            version="v25.0",
            page_token=TEST_TOKEN,
            app_secret=TEST_SECRET,
            timeout=5,
            session=http,
        )
        app = create_app(
            replace(local_settings, web=replace(local_settings.web, port=live_server.port)),
            queue=queue,
            bot=ScriptedBot(),
            graph=graph,
        )
        live_server.mount(app)
        yield app, graph
