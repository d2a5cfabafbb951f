"""Fixtures the local-mode tests share: a local-mode app with a scripted bot, its client, and a
real server on a loopback port to mount an app on (for boto3 and the Graph client)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot
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
