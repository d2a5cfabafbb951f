"""The HTTP side: where the bridge listens, how many workers serve, what a request may be,
and whether deliveries are recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from bridge.config.env import EnvReader

DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"  # gunicorn's own default
_TOKEN = re.compile(r"^[\x21-\x7e]{16,}$")  # printable, no spaces: fits an Authorization header


@dataclass(frozen=True)
class WebSettings:
    """``workers`` and ``threads`` size gunicorn; ``metrics_token`` None: /metrics is open;
    ``record_dir`` None: deliveries are not recorded."""

    port: int = 8000
    workers: int = 2
    threads: int = 8
    forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS
    metrics_token: str | None = field(default=None, repr=False)
    max_body_bytes: int = 1024 * 1024
    request_read_timeout: float = 5.0
    record_dir: Path | None = None
    record_redact: bool = True


def read_port(env: EnvReader) -> int:
    """PORT: read first, since local mode's own endpoints are reached through it."""
    return env.integer("PORT", 8000, low=1, high=65535)


def read_web(env: EnvReader, port: int) -> WebSettings:
    """WEB_CONCURRENCY, BRIDGE_WEB_THREADS, FORWARDED_ALLOW_IPS and the like."""
    return WebSettings(
        port=port,
        workers=env.integer("WEB_CONCURRENCY", 2, low=1, high=64),
        threads=env.integer("BRIDGE_WEB_THREADS", 8, low=1, high=256),
        forwarded_allow_ips=env.address_list("FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS),
        metrics_token=env.matching(
            "BRIDGE_METRICS_TOKEN",
            _TOKEN,
            "at least 16 printable characters without spaces, e.g. from `openssl rand -hex 32`",
            None,
        ),
        max_body_bytes=env.integer(
            "BRIDGE_MAX_BODY_BYTES", 1024 * 1024, low=1024, high=64 * 1024 * 1024
        ),
        request_read_timeout=env.number("BRIDGE_REQUEST_READ_TIMEOUT", 5.0, low=0.5, high=120),
    )


def read_recording(env: EnvReader, web: WebSettings) -> WebSettings:
    """BRIDGE_RECORD_DIR and BRIDGE_RECORD_REDACT, added to the rest of the web settings."""
    return replace(
        web,
        record_dir=env.optional_path("BRIDGE_RECORD_DIR"),
        record_redact=env.boolean("BRIDGE_RECORD_REDACT", True),
    )
