"""Who may use local mode's routes: this machine, under a name of this machine, not a web page
of another site.

Every ``/local`` route and the emulator answer only a loopback peer that names a loopback host
in ``Host`` (a tunnel to 127.0.0.1, or DNS rebinding, brings a request from 127.0.0.1 under
another name: 404, as if local mode were off). A request that changes state (``POST``, ``PUT``,
``PATCH``, ``DELETE``) is also refused (403) when the browser says it comes from another site
(``Sec-Fetch-Site``, ``Origin``); and the control routes that take a body (faults, the
emulator's signing) need ``Content-Type: application/json`` (415), which a cross-site form
cannot send without the preflight local mode never answers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, jsonify, request

from bridge.config.hosts import is_loopback_host, is_loopback_url

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SAME_SITE = frozenset({"same-origin", "none"})  # "none": typed by the person, or curl


def refusal(*, json_body: bool) -> Response | None:
    """The answer that refuses this request, or None if it may go on. ``json_body``: the route
    takes a JSON body when it changes state."""
    if not (is_loopback_host(request.remote_addr) and is_loopback_host(_host())):
        return Response("Not Found", status=404, mimetype="text/plain")
    if request.method not in STATE_CHANGING:
        return None
    if _cross_site():
        return _error(403, "cross-site requests to local mode are refused")
    if json_body and request.method == "POST" and request.mimetype != "application/json":
        return _error(415, "send JSON with Content-Type: application/json (curl --json …)")
    return None


def _host() -> str | None:
    try:
        return urlsplit(f"//{request.host}").hostname
    except ValueError:
        return None


def _cross_site() -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in _SAME_SITE:
        return True
    origin = request.headers.get("Origin")
    return origin is not None and not is_loopback_url(origin)  # "null" included


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response
