"""gunicorn settings, in one place: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Each worker process serves the webhook and, after fork, runs the delivery threads, so this
one command is a complete bridge. Settings come from the environment (see config.example.env);
they are checked here, in the master, so a bad setting stops the server before it binds.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from bridge.bots import make_bot
from bridge.config import Settings
from bridge.errors import ConfigError
from bridge.queue.sqlite import SqliteQueue

try:
    _settings = Settings.from_env(os.environ)
    make_bot(_settings)  # the bot's own checks (e.g. an AWS Region), before any worker starts
except ConfigError as _error:
    print(f"messenger-lex-bridge: {_error}", file=sys.stderr)
    sys.exit(2)

bind = f"{_settings.host}:{_settings.port}"
worker_class = "gthread"
workers = _settings.web_workers
threads = _settings.web_threads
# Long enough for delivery threads to finish a turn in flight (a Lex call can take 30 s+).
graceful_timeout = int(_settings.lex_read_timeout + 20)
keepalive = 5
errorlog = "-"
loglevel = _settings.log_level.lower()
proc_name = "messenger-lex-bridge"
# gunicorn's control socket lives at one fixed path per user; the bridge does not use it, and
# two servers on one host (tests, local mode beside production) would fight over it.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Create the queue database once, in the master, before the workers start."""
    SqliteQueue(_settings.db_path).close()


def post_worker_init(worker: Any) -> None:
    """Start delivery in this worker process, after fork."""
    worker.wsgi.extensions["bridge"].start_delivery()


def worker_exit(server: Any, worker: Any) -> None:
    """Stop claiming jobs and let the turns in flight finish before the process ends."""
    app = getattr(worker, "wsgi", None)
    if app is not None:
        app.extensions["bridge"].stop_delivery(timeout=max(1.0, graceful_timeout - 5))
