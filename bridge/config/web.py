"""The HTTP side: where the bridge listens (the webhook's port and, apart, the metrics
listener's), how many workers serve, what a request may be, and whether deliveries are
recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from bridge.config.env import EnvReader

DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"  # gunicorn's own default
# The metrics listener (production mode): its own port, as Prometheus exporters have, and
# loopback unless told otherwise. 9464 is also the OpenTelemetry SDKs' Prometheus exporter
# default: an application's own metrics port, not one of the exporters of the 9100s.
DEFAULT_METRICS_PORT = 9464
DEFAULT_METRICS_BIND = "127.0.0.1"
_BIND_HINT = (
    "an IP address to listen on: 127.0.0.1 (this machine only), or 0.0.0.0 (every interface,"
    " in a container or pod whose metrics port is not published)"
)
_TOKEN = re.compile(r"^[\x21-\x7e]{16,}$")  # printable, no spaces: fits an Authorization header
_API_TOKEN = re.compile(r"^[\x21-\x7e]{32,}$")  # the outbound API's: longer, it can send
_API_TOKEN_HINT = (
    "at least 32 printable characters without spaces, e.g. from `openssl rand -hex 32`"
    " (unset: the outbound API is off)"
)


@dataclass(frozen=True)
class WebSettings:
    """``workers`` and ``threads`` size gunicorn; ``metrics_bind`` and ``metrics_port``: where
    the metrics listener listens (production mode only; see bridge/web/listeners.py);
    ``metrics_token`` None: /metrics is open on that listener (and in local mode) and not
    served on ``port``; ``api_token`` None: the outbound API (``/v1/``) is off and answers 404;
    ``record_dir`` None: deliveries are not recorded."""

    port: int = 8000
    metrics_port: int = DEFAULT_METRICS_PORT
    metrics_bind: str = DEFAULT_METRICS_BIND
    workers: int = 2
    threads: int = 8
    forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS
    metrics_token: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    max_body_bytes: int = 1024 * 1024
    request_read_timeout: float = 5.0
    record_dir: Path | None = None
    record_redact: bool = True


def read_port(env: EnvReader) -> int:
    """PORT: read first, since local mode's own endpoints are reached through it."""
    return env.integer("PORT", 8000, low=1, high=65535)


def read_web(env: EnvReader, port: int, *, local: bool) -> WebSettings:
    """WEB_CONCURRENCY, BRIDGE_WEB_THREADS, FORWARDED_ALLOW_IPS, the metrics listener and the
    like."""
    return WebSettings(
        port=port,
        metrics_port=_metrics_port(env, port, local=local),
        metrics_bind=env.address("BRIDGE_METRICS_BIND", DEFAULT_METRICS_BIND, _BIND_HINT),
        workers=env.integer("WEB_CONCURRENCY", 2, low=1, high=64),
        threads=env.integer("BRIDGE_WEB_THREADS", 8, low=1, high=256),
        forwarded_allow_ips=env.address_list("FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS),
        metrics_token=env.matching(
            "BRIDGE_METRICS_TOKEN",
            _TOKEN,
            "at least 16 printable characters without spaces, e.g. from `openssl rand -hex 32`",
            None,
        ),
        api_token=env.matching("BRIDGE_API_TOKEN", _API_TOKEN, _API_TOKEN_HINT, None),
        max_body_bytes=env.integer(
            "BRIDGE_MAX_BODY_BYTES", 1024 * 1024, low=1024, high=64 * 1024 * 1024
        ),
        request_read_timeout=env.number("BRIDGE_REQUEST_READ_TIMEOUT", 5.0, low=0.5, high=120),
    )


def _metrics_port(env: EnvReader, port: int, *, local: bool) -> int:
    """BRIDGE_METRICS_PORT: a port of its own, unless local mode (which opens no metrics
    listener: /metrics is on PORT, on loopback) leaves it unused."""
    metrics_port = env.integer("BRIDGE_METRICS_PORT", DEFAULT_METRICS_PORT, low=1, high=65535)
    if metrics_port == port and not local:
        other = DEFAULT_METRICS_PORT if port != DEFAULT_METRICS_PORT else DEFAULT_METRICS_PORT + 1
        if env.is_set("BRIDGE_METRICS_PORT"):
            env.problem(
                f"BRIDGE_METRICS_PORT={metrics_port} is PORT's port too: expected a port of its"
                f" own for the metrics listener, e.g. {other}"
            )
        else:
            env.problem(
                f"BRIDGE_METRICS_PORT is {metrics_port} by default, PORT's port too: set it to"
                f" a port of its own for the metrics listener, e.g. {other}, or move PORT"
            )
    return metrics_port


def read_recording(env: EnvReader, web: WebSettings) -> WebSettings:
    """BRIDGE_RECORD_DIR and BRIDGE_RECORD_REDACT, added to the rest of the web settings."""
    return replace(
        web,
        record_dir=env.optional_path("BRIDGE_RECORD_DIR"),
        record_redact=env.boolean("BRIDGE_RECORD_REDACT", True),
    )
