"""Operations endpoints: ``/healthz``, ``/readyz`` and ``/metrics``, in every mode.

- ``/healthz``: 200 ``ok`` while the process serves requests; touches nothing else (cheap
  enough for a container HEALTHCHECK every few seconds).
- ``/readyz``: 200 with a JSON of checks when this process can do its work: the queue database
  takes a write lock (``BEGIN IMMEDIATE``, rolled back), this process's delivery threads are
  alive (or delivery is off here: ``BRIDGE_DELIVERY_THREADS=0``), and no Page is paused; 503
  with the same JSON naming what failed otherwise. ``?exclude=pages`` (repeatable) leaves a
  check out. Anyone gets each check's verdict (``ok``, ``fail``, ``excluded``, ``disabled``);
  what failed and why (which Page is paused, with its reason) only a caller with
  ``BRIDGE_METRICS_TOKEN`` as bearer, and in local mode. Answers hold no secrets, paths or
  stack traces; details go to the log.
- ``/metrics``: Prometheus text format (see bridge/obs/metrics.py, and bridge/web/queue_metrics.py
  for the queue's gauges). In production mode it is served on the metrics listener
  (``BRIDGE_METRICS_PORT``, see bridge/web/listeners.py) and, on the main port, only when
  ``BRIDGE_METRICS_TOKEN`` is set (404 there otherwise, as for any unknown path); local mode
  serves it on its one loopback port. Wherever it is served, a set ``BRIDGE_METRICS_TOKEN``
  is needed as ``Authorization: Bearer <token>`` (401 otherwise).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from flask import Blueprint, Response, abort, current_app, jsonify, request

from bridge.delivery.liveness import STALE_AFTER
from bridge.errors import QueueError
from bridge.obs.exposition import exposition
from bridge.web.listeners import on_metrics_listener
from bridge.web.queue_metrics import QueueCollector
from bridge.web.services import Services

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

CHECKS = ("queue", "delivery", "pages")
WRITE_CHECK_TIMEOUT = 2.0  # seconds to wait for the write lock before calling the queue stuck


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive and serving requests."""
    return Response("ok", status=200, mimetype="text/plain")


@bp.get("/readyz")
def readyz() -> Response:
    """Whether this process can take and deliver work now; 503 naming what fails if not."""
    services: Services = current_app.extensions["bridge"]
    excluded = set(request.args.getlist("exclude"))
    checks: dict[str, str] = {}
    failed = False
    for name in CHECKS:
        if name in excluded:
            checks[name] = "excluded"
            continue
        problem = _CHECKERS[name](services)
        checks[name] = problem or _passing(name, services)
        failed = failed or problem is not None
    if not _may_see_details(services):
        checks = {name: _verdict(value) for name, value in checks.items()}
    response = jsonify({"status": "fail" if failed else "ok", "checks": checks})
    response.status_code = 503 if failed else 200
    response.headers["Cache-Control"] = "no-store"
    return response


def _may_see_details(services: Services) -> bool:
    settings = services.settings
    if settings.is_local:
        return True
    token = settings.web.metrics_token
    return token is not None and _bearer_matches(token, request.headers.get("Authorization"))


def _verdict(value: str) -> str:
    return value if value in ("ok", "excluded", "disabled") else "fail"


def _passing(name: str, services: Services) -> str:
    if name == "delivery" and services.delivery is None:
        return "disabled"
    return "ok"


def _queue_problem(services: Services) -> str | None:
    try:
        services.queue.check_writable(timeout=WRITE_CHECK_TIMEOUT)
    except QueueError as exc:
        log.warning("readiness: the queue is not writable", extra={"error": str(exc)})
        return "not writable"
    return None


def _delivery_problem(services: Services) -> str | None:
    delivery = services.delivery
    if delivery is None:
        if services.settings.delivery.threads > 0:
            return "not started"
        return None  # off in this process: `bridge worker` delivers
    if not delivery.is_alive():
        return "threads stopped"
    return None


def _pages_problem(services: Services) -> str | None:
    try:
        paused = [page for page in services.queue.pages() if page.paused]
    except QueueError as exc:
        log.warning("readiness: Pages could not be read", extra={"error": str(exc)})
        return "unknown: the queue could not be read"
    if not paused:
        return None
    return "paused: " + "; ".join(f"{page.page} ({page.reason})" for page in paused)


_CHECKERS: dict[str, Callable[[Services], str | None]] = {
    "queue": _queue_problem,
    "delivery": _delivery_problem,
    "pages": _pages_problem,
}


@bp.get("/metrics")
def metrics_page() -> Response:
    """Prometheus metrics: every worker process's counters and the queue's gauges."""
    services: Services = current_app.extensions["bridge"]
    settings = services.settings
    token = settings.web.metrics_token
    if token is None and not (settings.is_local or on_metrics_listener(request.environ)):
        abort(404)  # the main port of a production server: metrics have their own listener
    if token is not None and not _bearer_matches(token, request.headers.get("Authorization")):
        response = Response("Unauthorized", status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition(
        [QueueCollector(services.queue, stale_after=STALE_AFTER)],
        accept=request.headers.get("Accept", ""),
    )
    response = Response(body, status=200, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer_matches(token: str, header: str | None) -> bool:
    """Constant-time comparison of ``Authorization: Bearer <token>``."""
    scheme, _, given = (header or "").partition(" ")
    expected = token.encode("utf-8")
    offered = given.strip().encode("utf-8")
    # compare_digest on the value alone, whatever the scheme, so timing says nothing either way
    matches = hmac.compare_digest(offered, expected)
    return matches and scheme.lower() == "bearer"
