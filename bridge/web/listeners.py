"""The server's two listeners: the main one (``PORT``: the webhook and everything else) and, in
production mode, the metrics listener (``BRIDGE_METRICS_BIND``:``BRIDGE_METRICS_PORT``,
loopback by default), as Prometheus exporters have a port of their own.

gunicorn listens on both (gunicorn.conf.py binds ``binds(settings)``) and every worker serves
both; a request tells which one it reached by ``SERVER_PORT``, which gunicorn takes from the
listening socket's own address (``listener.getsockname()``, gunicorn/http/wsgi.py ``create``),
never from the request: neither the ``Host`` header nor the PROXY protocol changes it. Only
on a unix socket does gunicorn take it from ``Host``: gunicorn.conf.py binds TCP only, and a
request that came through a unix socket (a ``--bind unix:…`` put in ``GUNICORN_CMD_ARGS``)
counts as the main listener's, whatever its ``Host`` says.

``ListenerSplit`` sits in front of everything else, the webhook's fast path included
(bridge/app.py): on the metrics listener only ``/metrics`` and ``/healthz`` go on, anything
else is 404 here, so the webhook (and ``/readyz``, ``/local``…) is never served there. It
marks each request with the listener it reached (``on_metrics_listener``), which
``/metrics`` (bridge/web/health.py) reads: on the metrics listener it is open (or, with
``BRIDGE_METRICS_TOKEN``, needs the token); on the main port of a production server it is
404 unless ``BRIDGE_METRICS_TOKEN`` is set, and then needs it as bearer (401 otherwise).
Local mode opens no metrics listener: ``/metrics`` is served on its one loopback port.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bridge.config.settings import Settings
from bridge.obs.logs import new_request_id
from bridge.web.hooks import REQUEST_ID_HEADER

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

METRICS_PATHS = frozenset({"/metrics", "/healthz"})
LISTENER_KEY = "bridge.listener"  # not a header's key: those all start with HTTP_
MAIN, METRICS = "main", "metrics"
_REQUEST_ID_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
_NOT_FOUND = b"Not Found"
_TCP = (socket.AF_INET, socket.AF_INET6)


def address(host: str, port: int) -> str:
    """``host:port`` as gunicorn's ``bind`` takes it (an IPv6 address in brackets)."""
    if ipaddress.ip_address(host).version == 6:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def binds(settings: Settings) -> list[str]:
    """gunicorn's ``bind``: the main listener, then the metrics listener if there is one."""
    found = [address(settings.host, settings.web.port)]
    if settings.metrics_listener is not None:
        found.append(address(*settings.metrics_listener))
    return found


def tcp_addresses(listeners: Iterable[Any]) -> set[tuple[str, int]]:
    """The (address, port) of each TCP socket among gunicorn's bound listeners."""
    return {
        (str(ipaddress.ip_address(name[0])), int(name[1]))
        for name in (lnr.getsockname() for lnr in listeners if lnr.family in _TCP)
    }


def where_metrics(settings: Settings, bound: set[tuple[str, int]] | None = None) -> str:
    """The startup line that says where /metrics is served (names, never the token);
    ``bound``: the addresses gunicorn listens on, if known."""
    web = settings.web
    bearer = "with the bearer BRIDGE_METRICS_TOKEN" if web.metrics_token else ""
    if settings.metrics_listener is None:
        guard = f", {bearer}" if bearer else ""
        return (
            f"metrics: /metrics served on the main port, http://127.0.0.1:{web.port}{guard}"
            " (local mode: no metrics listener)"
        )
    if bound is not None and settings.metrics_listener not in bound:
        # gunicorn's bind was set elsewhere (GUNICORN_CMD_ARGS, the command line).
        served = (
            f"served on gunicorn's listeners {bearer} only"
            if bearer
            else "not served (404 without BRIDGE_METRICS_TOKEN)"
        )
        return (
            "metrics: no metrics listener (gunicorn's bind is not gunicorn.conf.py's);"
            f" /metrics {served}"
        )
    listener = f"http://{address(*settings.metrics_listener)}"
    if bearer:
        main = f"and on the main port {web.port}, both {bearer}"
    else:
        main = f"and not on the main port {web.port} (404 without BRIDGE_METRICS_TOKEN)"
    return f"metrics: /metrics served on the metrics listener {listener} {main}"


def on_metrics_listener(environ: WSGIEnvironment) -> bool:
    """Whether this request reached the metrics listener (as ``ListenerSplit`` marked it)."""
    return environ.get(LISTENER_KEY) == METRICS


class ListenerSplit:
    """WSGI middleware: on the metrics listener, only ``/metrics`` and ``/healthz`` reach
    ``app``; everything else there is 404. Every request is marked with its listener."""

    def __init__(self, app: WSGIApplication, settings: Settings) -> None:
        self.app = app
        listener = settings.metrics_listener
        self.metrics_port = None if listener is None else str(listener[1])

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not self._reached_metrics(environ):
            environ[LISTENER_KEY] = MAIN
            return self.app(environ, start_response)
        environ[LISTENER_KEY] = METRICS
        if environ.get("PATH_INFO") in METRICS_PATHS:
            return self.app(environ, start_response)
        # As Flask's 404 reads (bridge/web/hooks.py), with the id the access log shows.
        start_response(
            "404 NOT FOUND",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(_NOT_FOUND))),
                (REQUEST_ID_HEADER, new_request_id(environ.get(_REQUEST_ID_KEY))),
            ],
        )
        return [_NOT_FOUND]

    def _reached_metrics(self, environ: WSGIEnvironment) -> bool:
        if self.metrics_port is None or environ.get("SERVER_PORT") != self.metrics_port:
            return False
        # SERVER_PORT is the listening socket's own port on TCP only (see above). No socket:
        # another WSGI server (tests), whose SERVER_PORT is its own port too.
        connection = environ.get("gunicorn.socket")
        return connection is None or getattr(connection, "family", None) in _TCP
