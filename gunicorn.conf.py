"""gunicorn settings, in one place: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Each worker process serves the webhook and, after fork, runs the delivery threads, so this
one command is a complete bridge. Settings come from the environment (see config.example.env);
they are checked here, in the master, so a bad setting stops the server before it binds.

Sizing. The defaults, 2 worker processes (``WEB_CONCURRENCY``) of 8 threads
(``BRIDGE_WEB_THREADS``), suit a 2-core host or container:

- One process per core. What the bridge does on a CPU (HMAC over each body, JSON, rendering)
  holds the GIL, so a second process is what puts the second core to work. gunicorn's usual
  ``2 × cores + 1`` is for sync workers that block on each request; gthread workers do not,
  and every extra process here also runs ``BRIDGE_DELIVERY_THREADS`` delivery threads, a
  heartbeat and (under load) a queue writer thread, and takes its turn at SQLite's one write lock.
- 8 threads per process. With the SQLite queue a whole webhook POST is answered in the
  worker's event loop, not in a thread (``bridge.web.worker``), unless its 200 is to be held
  while every delivery thread is busy: then a thread waits for the commit of its job and the
  hold (the GIL is released meanwhile; the process's writer thread commits the jobs of every
  request that arrived meanwhile in one transaction and one fsync, see
  ``bridge.queue.sqlite.writer``). The threads also take every other request, webhooks with
  the SQS queue or over TLS, Meta's bursts and, in local mode, the calls delivery makes to the
  local Lex and Graph endpoints served by these same processes (a hanging-bot fault holds one
  for 35 s).
- 8 delivery threads per process (``BRIDGE_DELIVERY_THREADS``). A turn mostly waits for
  Lex, Graph and commits; under load each wait ends with a wait for the GIL as well, so with
  4 the answers fell behind the acks (``make bench``'s saturation: 0.35 replies per ack with
  4, 0.83 with 8, reply p50 6.3 s against 137 ms).
- More cores: raise ``WEB_CONCURRENCY`` to the number of cores. ``os.cpu_count()`` is not used:
  in a container it reports the host's cores, not the container's CPU quota.

Logs: the error log and the bridge's own lines use ``LOG_FORMAT`` (JSON lines by default); the
access log is one JSON object per request, built from ``access_log_format`` below with the
path only (``%(U)s``: never the query string, so no verify token or signature), ids in paths
replaced, and the request id the app sets (``X-Request-ID``; for a webhook POST, the delivery
id its events' delivery logs carry). See ``bridge.obs.gunicorn_logs.GunicornLogger``.

Behind a reverse proxy (TLS termination), list its addresses in ``FORWARDED_ALLOW_IPS``
(gunicorn's own variable; IPs or networks, comma-separated): only those may set
``X-Forwarded-Proto`` and the other forwarded headers gunicorn trusts. ``REMOTE_ADDR`` stays
the proxy's address; the access log adds the proxy's ``X-Forwarded-For`` as ``forwarded_for``.

Listeners: the main one on ``PORT`` (all interfaces; 127.0.0.1 in local mode) and, in
production mode, the metrics listener on ``BRIDGE_METRICS_BIND``:``BRIDGE_METRICS_PORT``
(127.0.0.1:9464 by default), which serves ``/metrics`` and ``/healthz`` only; the main port
serves ``/metrics`` only with ``BRIDGE_METRICS_TOKEN`` (see ``bridge.web.listeners``). Every
worker serves both. ``when_ready`` logs where ``/metrics`` is served.

Metrics: every worker process writes its counters to files in ``PROMETHEUS_MULTIPROC_DIR``,
which ``/metrics`` adds up. The folder is prepared here, in the master, before any bridge
module (and so ``prometheus_client``) is imported and before the workers are forked: a fresh
private folder under the system's temp folder per server start (removed on exit), or the
folder the variable names, emptied at start (it must then belong to this server alone).
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from bridge.config.settings import Settings
from bridge.delivery.liveness import pid_alive
from bridge.errors import ConfigError
from bridge.obs.gunicorn_logs import ACCESS_LOG_JSON, ACCESS_LOG_TEXT, gunicorn_logger
from bridge.obs.logs import set_secrets
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web import boot_signals

_METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METRICS_PREFIX = "messenger-lex-bridge-metrics-"
# Set in the master once its folder is ready: "<master pid>:<owned|given>". A configuration
# reload (SIGHUP) runs this file again in the same master; the counters must survive it.
_METRICS_MARK = "_BRIDGE_METRICS_MASTER"


def _stop(error: ConfigError) -> NoReturn:
    print(f"messenger-lex-bridge: {error}", file=sys.stderr)
    _remove_own_metrics_dir()
    sys.exit(2)


def _prepare_metrics_dir() -> None:
    pid, _, _ = os.environ.get(_METRICS_MARK, "").partition(":")
    if pid == str(os.getpid()) and os.environ.get(_METRICS_ENV):
        return
    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            "prometheus_client was imported before gunicorn.conf.py prepared its folder"
        )
    given = os.environ.get(_METRICS_ENV, "").strip()
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        owner = "given"
    else:
        _remove_abandoned_dirs()
        path = Path(tempfile.mkdtemp(prefix=f"{_METRICS_PREFIX}{os.getpid()}-"))
        owner = "owned"
    os.environ[_METRICS_ENV] = str(path)
    os.environ[_METRICS_MARK] = f"{os.getpid()}:{owner}"


def _remove_abandoned_dirs() -> None:
    """Folders of servers that were killed (kill -9) before they could remove their own."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_METRICS_PREFIX}*"):
        pid = folder.name.removeprefix(_METRICS_PREFIX).split("-", 1)[0]
        if folder.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _remove_own_metrics_dir() -> None:
    """Remove the metrics folder this server created (never one the operator named)."""
    if os.environ.get(_METRICS_MARK, "") == f"{os.getpid()}:owned":
        shutil.rmtree(os.environ[_METRICS_ENV], ignore_errors=True)


try:
    _settings = Settings.from_env(os.environ)
except ConfigError as _error:
    _stop(_error)

_prepare_metrics_dir()

# Imported only now: prometheus_client picks its multi-process mode when first imported, and
# the bots (like delivery) record metrics.
from prometheus_client import multiprocess  # noqa: E402

from bridge.bots import make_bot  # noqa: E402
from bridge.obs import metrics  # noqa: E402
from bridge.web.listeners import binds, tcp_addresses, where_metrics  # noqa: E402

try:
    make_bot(_settings)  # the bot's own checks (e.g. an AWS Region), before any worker starts
except ConfigError as _error:
    _stop(_error)

set_secrets(_settings.secret_values)  # scrubbed from gunicorn's own log lines too

# The main listener, then the metrics listener (production mode): bridge.web.listeners tells
# their requests apart by SERVER_PORT, which gunicorn sets from the listening socket.
bind = binds(_settings)
# The app (Flask, boto3, the Lex client, the bridge) is built once, here in the master, and
# the workers are forked from it: they share its memory instead of each building its own copy
# (see pre_fork; the Lex client opens its connections in each worker). Delivery threads still
# start in each worker, after fork.
preload_app = True
# gthread, reading each request whole before a thread takes it (slow clients hold no thread).
worker_class = "bridge.web.worker.BufferingWorker"
workers = _settings.web.workers
threads = _settings.web.threads
# Long enough for delivery threads to finish a turn in flight (a Lex call can take 30 s+).
graceful_timeout = int(_settings.lex.read_timeout + 20)
keepalive = 5
forwarded_allow_ips = _settings.web.forwarded_allow_ips
errorlog = "-"
loglevel = _settings.log.level.lower()
logger_class = gunicorn_logger(_settings.log.format)
accesslog = "-"
# One JSON object per request (or a text line): see bridge.obs.gunicorn_logs.ACCESS_LOG_JSON.
access_log_format = ACCESS_LOG_JSON if _settings.log.format == "json" else ACCESS_LOG_TEXT
proc_name = "messenger-lex-bridge"
# gunicorn's control socket lives at one fixed path per user; the bridge does not use it, and
# two servers on one host (tests, local mode beside production) would fight over it.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Create the queue database once, in the master, before the workers start (the SQS
    queue and table are made beforehand, by ``python -m bridge init-aws``)."""
    if _settings.queue.kind == "sqlite":
        SqliteQueue(_settings.queue.db_path).close()


def when_ready(server: Any) -> None:
    """The listeners are bound: say where /metrics is served (one line, no secret)."""
    server.log.info(where_metrics(_settings, tcp_addresses(server.LISTENERS)))


def pre_fork(server: Any, worker: Any) -> None:
    """Keep the master's objects out of the workers' garbage collections: a collection writes
    to every object it visits, which would copy each shared memory page into the worker.
    Hold the stop signals until the worker can handle them (``bridge.web.boot_signals``)."""
    gc.freeze()
    boot_signals.hold_for_fork()


def post_worker_init(worker: Any) -> None:
    """Start delivery in this worker process, after fork; then take the stop signals held
    since the fork (a SIGTERM sent while the worker booted stops it now)."""
    bridge = worker.wsgi.extensions["bridge"]
    bridge.summary_in_access_log = True  # one line per webhook POST: GunicornLogger's access
    bridge.start_delivery()
    metrics.WEB_PROCESSES.set(1)  # summed over live processes; child_exit drops a dead one's
    boot_signals.release()


def pre_request(worker: Any, req: Any) -> None:
    """Nothing: gunicorn's default logs each raw path at DEBUG (in local mode the Lex path holds
    the PSID); the access log already has every request, with ids in paths replaced."""


def worker_exit(server: Any, worker: Any) -> None:
    """Stop claiming jobs and let the turns in flight finish before the process ends."""
    app = getattr(worker, "wsgi", None)
    if app is not None:
        app.extensions["bridge"].stop_delivery(timeout=max(1.0, graceful_timeout - 5))


def child_exit(server: Any, worker: Any) -> None:
    """A worker process ended: drop its live-gauge files (its counters stay counted)."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """The server stops: remove the metrics folder it created."""
    _remove_own_metrics_dir()
