"""The app factory: wiring only.

``create_app()`` reads the settings once, builds the queue and each Page's route (its Graph
client and bot, see bridge/delivery/page_routes.py) into the process's ``Services``
(bridge/web/services.py), and registers the request hooks (bridge/web/hooks.py), the webhook
and the health endpoints (and, in local mode, the local Lex endpoint and Graph inbox); the
webhook's POST is answered in front of Flask (bridge/web/fastpath.py), and in front of that
the metrics listener's requests are kept to /metrics and /healthz (bridge/web/listeners.py).
Delivery threads are started by the server after fork (see gunicorn.conf.py) or by
``bridge worker``.
"""

from __future__ import annotations

import os
from typing import cast

from flask import Flask

from bridge.bots import Bot
from bridge.config.settings import Settings
from bridge.delivery.page_routes import build_routes
from bridge.messenger.graph import GraphClient
from bridge.obs.logs import configure_logging, set_secrets
from bridge.queue import Notifications, Queue
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web import health, hooks, outbound_api, webhook
from bridge.web.fastpath import WebhookFastPath
from bridge.web.listeners import ListenerSplit
from bridge.web.recording import Recorder
from bridge.web.redaction import redaction_key
from bridge.web.services import Services


def build_services(
    settings: Settings,
    *,
    queue: Queue | None = None,
    bot: Bot | None = None,
    graph: GraphClient | None = None,
) -> Services:
    """Build the queue and each Page's route from settings; ``bot`` and ``graph``, if given,
    serve every Page (tests)."""
    set_secrets(settings.secret_values)  # scrubbed from every log line of this process
    recorder = None
    if settings.web.record_dir is not None:
        key = redaction_key(settings.graph.app_secret) if settings.web.record_redact else None
        recorder = Recorder(settings.web.record_dir, redact_with=key)
    queue = queue or make_queue(settings)
    return Services(
        settings=settings,
        recorder=recorder,
        queue=queue,
        routes=build_routes(settings, bot=bot, graph=graph),
        notifications=notifications_of(queue),
    )


def notifications_of(queue: Queue) -> Notifications | None:
    """The queue's store of notification-messages tokens, if this backend keeps them (None:
    no token is known, so a message to one is refused as ``unknown_recipient``)."""
    if hasattr(queue, "notification_token") and hasattr(queue, "person_notification_tokens"):
        return cast(Notifications, queue)
    return None


def make_queue(settings: Settings) -> Queue:
    """The queue backend ``BRIDGE_QUEUE`` names: the only place that picks one."""
    if settings.queue.kind == "sqs" and settings.queue.sqs is not None:
        from bridge.queue.sqs.queue import SqsQueue  # boto3's SQS and DynamoDB only when used

        return SqsQueue(settings.queue.sqs)
    return SqliteQueue(settings.queue.db_path)


def create_app(
    settings: Settings | None = None,
    *,
    queue: Queue | None = None,
    bot: Bot | None = None,
    graph: GraphClient | None = None,
) -> Flask:
    """Build the Flask app; settings default to the environment (read once, here)."""
    if settings is None:
        settings = Settings.from_env(os.environ)
        configure_logging(settings.log.level, settings.log.format)
    services = build_services(settings, queue=queue, bot=bot, graph=graph)
    app = Flask(__name__, static_folder=None)  # static files only where a blueprint says
    app.config["MAX_CONTENT_LENGTH"] = settings.web.max_body_bytes
    app.extensions["bridge"] = services
    hooks.init_app(app)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(outbound_api.bp)
    if settings.is_local:
        # Imported only here: a production server never loads the local endpoints.
        from bridge.local import emulator, routes

        routes.init_app(app, settings)
        emulator.init_app(app, settings)
    # POST /webhook is answered in front of Flask, by the webhook's own functions (cheaper per
    # request); Flask serves everything else, and the route stays for an app used unwrapped.
    app.wsgi_app = WebhookFastPath(app.wsgi_app, services)  # type: ignore[method-assign]
    # In front of both: the metrics listener serves /metrics and /healthz, nothing else
    # (bridge/web/listeners.py); the webhook is never answered there.
    app.wsgi_app = ListenerSplit(app.wsgi_app, settings)  # type: ignore[method-assign]
    return app
