"""The domains a Page may whitelist for webviews and Messenger Extensions: what Messenger
refuses, and how it compares two of them; pure."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def domain_problem(domain: object) -> str | None:
    """Why ``domain`` cannot be whitelisted (https, a fully qualified name, no IP, no
    localhost), or None."""
    if not isinstance(domain, str):
        return "must be a string such as https://www.example.com"
    parts = urlsplit(domain)
    if parts.scheme != "https":
        return f"{domain!r} must start with https://"
    host = parts.hostname or ""
    if not host:
        return f"{domain!r} has no domain name"
    if parts.username or parts.password:
        return f"{domain!r} must not hold a user name or password"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"{domain!r} is an IP address: Messenger accepts domain names only"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{domain!r} is localhost: Messenger accepts public domain names only"
    if "." not in host:
        return f"{domain!r} is not fully qualified: use a name such as www.example.com"
    return None


def domain_key(domain: str) -> str:
    """``domain`` as Messenger compares it: scheme and host in lower case, no trailing slash."""
    parts = urlsplit(domain.strip())
    path = parts.path.rstrip("/")
    netloc = parts.netloc.lower()
    return f"{parts.scheme.lower()}://{netloc}{path}"
