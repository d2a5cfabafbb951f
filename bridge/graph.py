"""The one place that talks HTTP to the Graph API (Send API calls).

``build_send_request`` is pure; ``GraphClient.send_message``/``send_action`` do the I/O over
one ``requests.Session`` (connection reuse) and turn every failure into ``GraphError``.
The page token travels in the Authorization header, never in a URL, and every call carries a
fresh timestamped ``appsecret_proof``.
https://developers.facebook.com/docs/messenger-platform/reference/send-api
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bridge.errors import GraphError
from bridge.policy import usage_retry_after
from bridge.signature import appsecret_proof

log = logging.getLogger(__name__)

SENDER_ACTIONS = ("mark_seen", "typing_on", "typing_off")


@dataclass(frozen=True, slots=True)
class GraphRequest:
    """A Graph call, built but not sent."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]
    json: dict[str, Any]


def build_send_request(
    *,
    base_url: str,
    version: str,
    page_token: str,
    app_secret: str,
    body: dict[str, Any],
    now: int,
) -> GraphRequest:
    """Build a ``POST /{version}/me/messages`` call for a Send API body."""
    return GraphRequest(
        url=f"{base_url}/{version}/me/messages",
        params=_proof(app_secret, page_token, now),
        headers={"Authorization": f"Bearer {page_token}"},
        json=body,
    )


def build_probe_request(
    *, base_url: str, version: str, page_token: str, app_secret: str, now: int
) -> GraphRequest:
    """Build ``GET /{version}/me``: succeeds only while the Page token works."""
    return GraphRequest(
        url=f"{base_url}/{version}/me",
        params={**_proof(app_secret, page_token, now), "fields": "id"},
        headers={"Authorization": f"Bearer {page_token}"},
        json={},
    )


def _proof(app_secret: str, page_token: str, now: int) -> dict[str, str]:
    return {
        "appsecret_proof": appsecret_proof(app_secret, page_token, now),
        "appsecret_time": str(now),
    }


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


def message_body(recipient_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """A reply to a person who wrote to the Page (inside the 24-hour window)."""
    return {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": message}


def action_body(recipient_id: str, action: str) -> dict[str, Any]:
    """A sender action; Messenger refuses it combined with a message."""
    return {"recipient": {"id": recipient_id}, "sender_action": action}


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
    """Sends messages and sender actions for one Page."""

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
        self._base_url = base_url.rstrip("/")
        self._version = version
        self._page_token = page_token
        self._app_secret = app_secret
        self._timeout = timeout
        self._session = session or make_session()
        self._clock = clock

    def send_message(self, recipient_id: str, message: dict[str, Any]) -> str | None:
        """Send one message; return its ``message_id``."""
        result = self._post(message_body(recipient_id, message))
        message_id = result.get("message_id")
        return str(message_id) if message_id else None

    def send_action(self, recipient_id: str, action: str) -> None:
        """Send ``mark_seen``, ``typing_on`` or ``typing_off``."""
        if action not in SENDER_ACTIONS:
            raise ValueError(f"unknown sender action {action!r}")
        self._post(action_body(recipient_id, action))

    def probe(self) -> None:
        """Check that the Page token works (used to resume a paused Page); raises GraphError."""
        self._call(
            "GET",
            build_probe_request(
                base_url=self._base_url,
                version=self._version,
                page_token=self._page_token,
                app_secret=self._app_secret,
                now=int(self._clock()),
            ),
        )

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            "POST",
            build_send_request(
                base_url=self._base_url,
                version=self._version,
                page_token=self._page_token,
                app_secret=self._app_secret,
                body=body,
                now=int(self._clock()),
            ),
        )

    def _call(self, method: str, request: GraphRequest) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            response = self._session.request(
                method,
                request.url,
                params=request.params,
                headers=request.headers,
                json=request.json if method == "POST" else None,
                timeout=self._timeout,
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
