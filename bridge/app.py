"""The app factory: wiring only.

``create_app()`` reads the settings once, builds the queue and each Page's route (its Graph
client and bot, see bridge/delivery/page_routes.py), and registers the webhook (and, in local mode,
the local Lex endpoint and Graph inbox). Delivery threads are started by the server after fork
(see gunicorn.conf.py) or by ``bridge worker``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from bridge.bots import Bot
from bridge.config.settings import Settings
from bridge.delivery.page_routes import Routes, build_routes
from bridge.delivery.worker import Delivery, Limits, TurnHandler
from bridge.messenger.graph import GraphClient
from bridge.obs.logs import bind, configure_logging, new_request_id, set_secrets, unbind
from bridge.queue import Queue
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web import health, webhook
from bridge.web.recording import Recorder, redaction_key

log = logging.getLogger(__name__)

# A claimed job's lease covers the longest Lex call plus the sends that follow it.
SEND_ALLOWANCE = 60.0


@dataclass
class Services:
    """The collaborators one process uses; shared by the webhook and delivery."""

    settings: Settings
    queue: Queue
    routes: Routes
    recorder: Recorder | None = None
    delivery: Delivery | None = field(default=None)

    def wake(self) -> None:
        """Tell this process's delivery threads that work was committed."""
        if self.delivery is not None:
            self.delivery.wake()

    def turn_handler(self, threads: int) -> TurnHandler:
        """What delivery threads use to answer one job, for every served Page."""
        settings = self.settings
        return TurnHandler(
            queue=self.queue,
            routes=self.routes,
            sender_actions=settings.sender_actions,
            answer_deadline=settings.answer_deadline,
            typing_refresh=settings.typing_refresh,
            bot_threads=threads,
            human_idle=settings.human_idle,
        )

    def limits(self) -> Limits:
        settings = self.settings
        return Limits(
            max_attempts=settings.max_attempts,
            lease=settings.lex_read_timeout + SEND_ALLOWANCE,
            max_event_age=settings.max_event_age,
            probe_interval=settings.probe_interval,
        )

    def start_delivery(self, threads: int | None = None) -> Delivery | None:
        """Start delivery threads in the current process (after fork); None if disabled."""
        count = self.settings.delivery_threads if threads is None else threads
        if count <= 0 or self.delivery is not None:
            return self.delivery
        self.delivery = Delivery(
            self.queue,
            self.turn_handler(count),
            threads=count,
            poll_interval=self.settings.poll_interval,
            limits=self.limits(),
        )
        self.delivery.start()
        return self.delivery

    def stop_delivery(self, timeout: float) -> bool:
        """Stop delivery, letting in-flight turns finish within ``timeout`` seconds."""
        if self.delivery is None:
            return True
        return self.delivery.stop(timeout)


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
    if settings.record_dir is not None:
        key = redaction_key(settings.app_secret) if settings.record_redact else None
        recorder = Recorder(settings.record_dir, redact_with=key)
    return Services(
        settings=settings,
        recorder=recorder,
        queue=queue or make_queue(settings),
        routes=build_routes(settings, bot=bot, graph=graph),
    )


def make_queue(settings: Settings) -> Queue:
    """The queue backend ``BRIDGE_QUEUE`` names: the only place that picks one."""
    if settings.queue == "sqs" and settings.aws_queue is not None:
        from bridge.queue.sqs.queue import SqsQueue  # boto3's SQS and DynamoDB only when used

        return SqsQueue(settings.aws_queue)
    return SqliteQueue(settings.db_path)


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
        configure_logging(settings.log_level, settings.log_format)
    services = build_services(settings, queue=queue, bot=bot, graph=graph)
    app = Flask(__name__, static_folder=None)  # static files only where a blueprint says
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["bridge"] = services
    app.before_request(_start_request)
    app.after_request(_tag_response)
    app.teardown_request(_end_request)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    if settings.is_local:
        # Imported only here: a production server never loads the local endpoints.
        from bridge.local import emulator, routes

        routes.init_app(app, settings)
        emulator.init_app(app, settings)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    return app


REQUEST_ID_HEADER = "X-Request-ID"


def _start_request() -> None:
    """Give the request an id (a proxy's X-Request-ID if valid) and put it on its log lines."""
    g.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.log_token = bind(request_id=g.request_id)


def _tag_response(response: Response) -> Response:
    # The access log reads it from here (gunicorn.conf.py); for a webhook POST it is also the
    # delivery id on the lines of its events' delivery.
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def _end_request(error: BaseException | None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        unbind(token)


def _http_error(error: HTTPException) -> Response:
    return Response(error.name, status=error.code or 500, mimetype="text/plain")


def _internal_error(error: Exception) -> Any:
    # Never a stack trace to a caller; the log has it.
    log.exception("unhandled error", exc_info=error)
    return Response("Internal Server Error", status=500, mimetype="text/plain")
