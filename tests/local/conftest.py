"""Fixtures the local-mode tests share: a local-mode app with a scripted bot, its client, and a
real server on a loopback port to mount an app on (for boto3 and the Graph client)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot


@pytest.fixture
def app(local_settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Flask:
    return create_app(local_settings, queue=queue, bot=ScriptedBot(), graph=graph)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class _Dispatcher:
    """A WSGI app that forwards to the Flask app set once the server's port is known."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        assert self.app is not None, "no app mounted"
        return self.app(environ, start_response)


@dataclass
class LiveServer:
    port: int
    dispatcher: _Dispatcher

    def mount(self, app: Flask) -> None:
        self.dispatcher.app = app


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    dispatcher = _Dispatcher()
    server = make_server("127.0.0.1", 0, dispatcher, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="test-live-server",
        daemon=True,
    )
    thread.start()
    try:
        yield LiveServer(server.server_port, dispatcher)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
