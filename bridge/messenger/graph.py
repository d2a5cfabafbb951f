"""The one place that talks HTTP to the Graph API (Send API calls, Page setup and checks).

The calls are built by the pure ``bridge.messenger.graph_requests``; ``GraphClient`` sends them
over one ``requests.Session`` (connection reuse) and turns every failure into ``GraphError``.
Every call carries a fresh timestamped ``appsecret_proof`` (only ``python -m bridge check``,
after Graph refused the proof, asks again without one, to tell a bad token from a bad app
secret). The bridge logs no URLs (``GET /debug_token`` carries the token in its query string),
and keeps urllib3's request lines out of its logs.
https://developers.facebook.com/docs/messenger-platform/reference/send-api
https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bridge.errors import GraphError
from bridge.messenger.graph_policy import usage_retry_after
from bridge.messenger.graph_requests import (
    SENDER_ACTIONS,
    GraphRequest,
    PageAuth,
    action_body,
    build_debug_token_request,
    build_delete_profile_request,
    build_me_request,
    build_pass_thread_control_request,
    build_probe_request,
    build_profile_request,
    build_send_request,
    build_set_profile_request,
    build_subscribe_request,
    build_subscribed_apps_request,
    message_body,
    notification_body,
)

log = logging.getLogger(__name__)


def make_session(pool_size: int = 32) -> requests.Session:
    """A session that reuses connections and retries only failed *connects* (the request never
    left, so nothing can be sent twice); everything else is the queue's retry policy."""
    retry = Retry(
        total=2,
        connect=2,
        read=0,
        status=0,
        other=0,
        redirect=0,
        backoff_factor=0.1,
        allowed_methods=None,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def to_graph_error(
    status: int, payload: object, headers: Mapping[str, str] | None = None
) -> GraphError:
    """Read Graph's error body ``{"error": {"message", "code", "error_subcode", "fbtrace_id"}}``
    and how long its headers ask us to wait."""
    retry_after = usage_retry_after(headers or {})
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return GraphError(
            f"HTTP {status} without a Graph error body", status=status, retry_after=retry_after
        )
    return GraphError(
        str(error.get("message") or "Graph API error"),
        status=status,
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
        retry_after=retry_after,
    )


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


class GraphClient:
    """Sends messages and sender actions for one Page (one Page token; with several Pages,
    one client each, sharing one session)."""

    def __init__(
        self,
        *,
        base_url: str,
        version: str,
        page_token: str,
        app_secret: str,
        timeout: float,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._auth = PageAuth(base_url.rstrip("/"), version, page_token, app_secret)
        self._timeout = timeout
        self._session = session or make_session()
        # Proxies and the CA bundle from the environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE …),
        # read once here rather than on every call (see _call).
        found = self._session.merge_environment_settings(self._auth.base_url, {}, None, None, None)
        self._transport: dict[str, Any] = {
            "verify": True if found["verify"] is None else found["verify"],
            "cert": found["cert"],
            "proxies": found["proxies"],
        }
        self._clock = clock

    def send_message(
        self,
        recipient_id: str,
        message: dict[str, Any],
        *,
        messaging_type: str = "RESPONSE",
        tag: str | None = None,
        token: str | None = None,
    ) -> str | None:
        """Send one message; return its ``message_id``. A reply by default; ``messaging_type``
        and ``tag`` as the outbound API asks; with ``token``, a notification message to the
        person's opt-in token instead of their PSID."""
        if token is not None:
            body = notification_body(token, message)
        else:
            body = message_body(recipient_id, message, messaging_type=messaging_type, tag=tag)
        result = self._post(body)
        message_id = result.get("message_id")
        return str(message_id) if message_id else None

    def send_action(self, recipient_id: str, action: str) -> None:
        """Send ``mark_seen``, ``typing_on`` or ``typing_off``."""
        if action not in SENDER_ACTIONS:
            raise ValueError(f"unknown sender action {action!r}")
        self._post(action_body(recipient_id, action))

    def probe(self) -> None:
        """Check that the Page token works (used to resume a paused Page); raises GraphError."""
        self._page(build_probe_request)

    def pass_thread_control(
        self, recipient_id: str, target_app_id: str, metadata: str | None = None
    ) -> None:
        """Pass the conversation with ``recipient_id`` to ``target_app_id`` (the Page Inbox)."""
        self._page(build_pass_thread_control_request, recipient_id, target_app_id, metadata)

    # --- Page setup and checks (python -m bridge setup / check) ----------------------------

    def _page(
        self,
        build: Callable[..., GraphRequest],
        *args: Any,
        proof: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        auth = self._auth if proof else self._auth.without_proof()
        return self._call(build(auth, *args, now=int(self._clock()), **kwargs))

    def me(self, *, proof: bool = True) -> dict[str, Any]:
        """``{"id", "name"}`` of the Page the token belongs to; raises GraphError."""
        return self._page(build_me_request, proof=proof)

    def subscribed_apps(self, page_id: str, *, proof: bool = True) -> list[dict[str, Any]]:
        """This app's subscription on the Page: ``[{"id", "name", "subscribed_fields"}]``."""
        data = self._page(build_subscribed_apps_request, page_id, proof=proof).get("data")
        return [app for app in data if isinstance(app, dict)] if isinstance(data, list) else []

    def subscribe(self, page_id: str, fields: tuple[str, ...] | list[str]) -> None:
        """Subscribe the app to the Page's webhooks with exactly ``fields``."""
        self._page(build_subscribe_request, page_id, fields)

    def messenger_profile(self, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
        """The Page's current Messenger profile ``fields`` (those set; others are absent)."""
        data = self._page(build_profile_request, fields).get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return data[0]
        return {}

    def set_messenger_profile(self, profile: dict[str, Any]) -> None:
        """Set every field of ``profile`` in one call."""
        self._page(build_set_profile_request, profile)

    def delete_messenger_profile(self, fields: tuple[str, ...] | list[str]) -> None:
        """Remove ``fields`` from the Messenger profile in one call."""
        self._page(build_delete_profile_request, fields)

    def debug_token(self, app_id: str) -> dict[str, Any]:
        """What Graph knows about the Page token, asked with the app token; the ``data`` object."""
        data = self._call(build_debug_token_request(self._auth, app_id)).get("data")
        return data if isinstance(data, dict) else {}

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._page(build_send_request, body)

    def _call(self, request: GraphRequest) -> dict[str, Any]:
        method = request.method
        started = time.perf_counter()
        # Straight to the session's transport adapter (its connection pool): Session.request
        # reads the environment, merges and extracts cookies and runs hooks on every call,
        # which doubled the CPU cost of a send; Graph sets no cookies and never redirects.
        prepared = requests.Request(
            method,
            request.url,
            params=request.params,
            headers={**self._session.headers, **request.headers},
            json=request.json if method in ("POST", "DELETE") else None,
        ).prepare()
        try:
            response = self._session.get_adapter(request.url).send(
                prepared, timeout=self._timeout, **self._transport
            )
        except requests.Timeout as exc:
            raise GraphError(f"timed out: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise GraphError(f"connection failed: {type(exc).__name__}") from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        try:
            payload: object = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 300:
            raise to_graph_error(response.status_code, payload, response.headers)
        log.debug(
            "graph call ok",
            extra={"status": response.status_code, "elapsed_ms": round(elapsed_ms, 1)},
        )
        return payload if isinstance(payload, dict) else {}
