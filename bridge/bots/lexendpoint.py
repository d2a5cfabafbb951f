"""Where the Lex V2 runtime is, found the way botocore finds it, without its service model.

In order: the endpoint the caller names (local mode's ``LEX_ENDPOINT_URL``); the configured
endpoint of the standard AWS variables and shared config file (``AWS_ENDPOINT_URL_LEX_RUNTIME_V2``,
then ``AWS_ENDPOINT_URL``, then the profile's ``services`` section ``lex_runtime_v2 =
endpoint_url``, then the profile's ``endpoint_url``), unless
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true; else the Region's endpoint from botocore's
endpoint rules for ``lexv2-runtime``: ``https://runtime-v2-lex[-fips].<region>.<dns suffix>``,
FIPS with ``AWS_USE_FIPS_ENDPOINT``, dual-stack with ``AWS_USE_DUALSTACK_ENDPOINT`` (or their
profile keys), the DNS suffix from botocore's partitions (``amazonaws.com``,
``amazonaws.com.cn``...). As in botocore, a named or configured endpoint ignores FIPS and
dual-stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore

from bridge.errors import ConfigError

ENDPOINT_PREFIX = "runtime-v2-lex"
SERVICE_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_LEX_RUNTIME_V2"
GLOBAL_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
_SERVICE_CONFIG_KEY = "lex_runtime_v2"  # the service id "Lex Runtime V2", snake case


def lexv2_endpoint(session: Any, region: str, environ: Mapping[str, str]) -> str:
    """The endpoint URL a botocore ``lexv2-runtime`` client would call (``session`` is a
    botocore session), without a trailing slash."""
    url = configured_endpoint(session, environ) or regional_endpoint(session, region)
    return checked_url(url)


def configured_endpoint(session: Any, environ: Mapping[str, str]) -> str | None:
    """The endpoint of the AWS variables or the shared config file, if one is set."""
    if session.get_config_variable("ignore_configured_endpoint_urls"):
        return None
    for name in (SERVICE_ENDPOINT_VARIABLE, GLOBAL_ENDPOINT_VARIABLE):
        if environ.get(name):
            return environ[name]
    scoped = session.get_scoped_config()
    section = scoped.get("services")
    if section:
        services = session.full_config.get("services", {}).get(section)
        if not services:
            raise ConfigError(
                [
                    f"the AWS profile sets services = {section}, but the config file has no"
                    f" [services {section}] section"
                ]
            )
        service_url = services.get(_SERVICE_CONFIG_KEY, {}).get("endpoint_url")
        if service_url:
            return str(service_url)
    global_url = scoped.get("endpoint_url")
    return str(global_url) if global_url else None


def regional_endpoint(session: Any, region: str) -> str:
    """The Region's endpoint, per botocore's endpoint rules for ``lexv2-runtime``."""
    fips = bool(session.get_config_variable("use_fips_endpoint"))
    dual_stack = bool(session.get_config_variable("use_dualstack_endpoint"))
    partition = _partition(region)
    for wanted, support in ((fips, "supportsFIPS"), (dual_stack, "supportsDualStack")):
        if wanted and not partition.get(support):
            raise ConfigError([f"Region {region}: its AWS partition has no {support[8:]} endpoint"])
    suffix = partition["dualStackDnsSuffix" if dual_stack else "dnsSuffix"]
    return f"https://{ENDPOINT_PREFIX}{'-fips' if fips else ''}.{region}.{suffix}"


def checked_url(url: str) -> str:
    """``url`` without a trailing slash; a ConfigError if it is not an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError([f"the Lex endpoint {url!r} is not an http:// or https:// URL"])
    return url.rstrip("/")


def _partition(region: str) -> dict[str, Any]:
    """The outputs of the AWS partition ``region`` is in, as botocore's ``aws.partition``."""
    partitions = _partitions()
    for partition in partitions:
        if region in partition["regions"]:
            return dict(partition["outputs"])
    for partition in partitions:
        if _matches(partition["regionRegex"], region):
            return dict(partition["outputs"])
    return dict(next(p for p in partitions if p["id"] == "aws")["outputs"])


def _matches(pattern: str, region: str) -> bool:
    return re.match(pattern, region) is not None


def _partitions() -> list[dict[str, Any]]:
    """botocore's partitions file (read once per client: nothing of it is kept)."""
    path = Path(botocore.__file__).parent / "data" / "partitions.json"
    partitions: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["partitions"]
    return partitions
