"""Whether a host or URL names this machine: the one loopback check of the package.

Local mode serves only loopback clients, ``bridge replay`` signs with the local-mode secret
only for a loopback URL, and settings allow plain HTTP only to loopback. ``localhost`` and its
subdomains count (RFC 6761 keeps them on this machine), as do 127.0.0.0/8 and ::1.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, ``*.localhost``, 127.0.0.0/8 and ::1; False for anything else,
    an empty host included."""
    if not host:
        return False
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True if the URL's host is this machine (see ``is_loopback_host``)."""
    try:
        return is_loopback_host(urlsplit(url.strip()).hostname)
    except ValueError:
        return False
