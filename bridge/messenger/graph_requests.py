"""Graph API calls, built but not sent: pure values that ``bridge.messenger.graph`` sends.

Every call made with a Page token takes one ``PageAuth`` (where the Page's calls go and what
authorises them) and the time of its ``appsecret_proof``. The token travels in the
Authorization header, never in a URL; the one exception is ``GET /debug_token``, whose
``input_token`` Graph reads from the query string.
https://developers.facebook.com/docs/messenger-platform/reference/send-api
https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.messenger.signature import appsecret_proof

SENDER_ACTIONS = ("mark_seen", "typing_on", "typing_off")


@dataclass(frozen=True, slots=True)
class PageAuth:
    """One Page's endpoint and credentials: Graph's base URL and pinned version, the Page
    token, and the app secret that proves it. ``proof=False`` leaves ``appsecret_proof`` out
    (Graph accepts that unless the app has "Require App Secret" on): only ``python -m bridge
    check`` asks so, after Graph refused the proof, to tell a bad token from a bad app secret."""

    base_url: str
    version: str
    page_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    proof: bool = True

    def url(self, path: str) -> str:
        """The URL of ``/{version}/{path}``."""
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    def without_proof(self) -> PageAuth:
        """The same Page, its calls made without ``appsecret_proof``."""
        return replace(self, proof=False)


@dataclass(frozen=True, slots=True)
class GraphRequest:
    """A Graph call, built but not sent."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]
    json: dict[str, Any]
    method: str = "POST"


def build_page_request(
    auth: PageAuth,
    method: str,
    path: str,
    *,
    now: int,
    params: Mapping[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> GraphRequest:
    """Build any call made with the Page token: ``method /{version}/{path}``, with a proof
    timestamped ``now`` unless ``auth`` says otherwise."""
    proof = _proof(auth.app_secret, auth.page_token, now) if auth.proof else {}
    return GraphRequest(
        url=auth.url(path),
        params={**proof, **(params or {})},
        headers={"Authorization": f"Bearer {auth.page_token}"},
        json=body or {},
        method=method,
    )


def build_send_request(auth: PageAuth, body: dict[str, Any], *, now: int) -> GraphRequest:
    """Build a ``POST /{version}/me/messages`` call for a Send API body."""
    return build_page_request(auth, "POST", "me/messages", now=now, body=body)


def build_probe_request(auth: PageAuth, *, now: int) -> GraphRequest:
    """Build ``GET /{version}/me``: succeeds only while the Page token works."""
    return build_page_request(auth, "GET", "me", now=now, params={"fields": "id"})


def build_pass_thread_control_request(
    auth: PageAuth, recipient_id: str, target_app_id: str, metadata: str | None, *, now: int
) -> GraphRequest:
    """``POST /{version}/me/pass_thread_control``: hand the conversation with ``recipient_id``
    to another app, e.g. the Page Inbox (Handover Protocol, kept by Conversation Routing;
    ``metadata`` under 1000 characters).
    https://developers.facebook.com/documentation/business-messaging/messenger-platform/conversation-routing
    """
    body = pass_thread_control_body(recipient_id, target_app_id, metadata)
    return build_page_request(auth, "POST", "me/pass_thread_control", now=now, body=body)


def pass_thread_control_body(
    recipient_id: str, target_app_id: str, metadata: str | None
) -> dict[str, Any]:
    """The body of a pass: Graph takes a numeric app id as a number."""
    body: dict[str, Any] = {
        "recipient": {"id": recipient_id},
        "target_app_id": int(target_app_id) if target_app_id.isdigit() else target_app_id,
    }
    if metadata:
        body["metadata"] = metadata
    return body


def build_me_request(
    auth: PageAuth, *, now: int, fields: tuple[str, ...] = ("id", "name")
) -> GraphRequest:
    """``GET /me?fields=id,name``: the Page the token belongs to."""
    return build_page_request(auth, "GET", "me", now=now, params={"fields": ",".join(fields)})


def build_subscribed_apps_request(auth: PageAuth, page_id: str, *, now: int) -> GraphRequest:
    """``GET /{page-id}/subscribed_apps``: this app's webhook fields on the Page (Graph lists
    only the app the token was issued for; an empty list means not subscribed)."""
    return build_page_request(auth, "GET", f"{page_id}/subscribed_apps", now=now)


def build_subscribe_request(
    auth: PageAuth, page_id: str, fields: tuple[str, ...] | list[str], *, now: int
) -> GraphRequest:
    """``POST /{page-id}/subscribed_apps?subscribed_fields=…``: install the app on the Page with
    exactly these webhook fields (the list replaces the app's current one)."""
    params = {"subscribed_fields": ",".join(fields)}
    return build_page_request(auth, "POST", f"{page_id}/subscribed_apps", now=now, params=params)


def build_profile_request(
    auth: PageAuth, fields: tuple[str, ...] | list[str], *, now: int
) -> GraphRequest:
    """``GET /me/messenger_profile?fields=…`` (one Messenger Profile API call)."""
    params = {"fields": ",".join(fields)}
    return build_page_request(auth, "GET", "me/messenger_profile", now=now, params=params)


def build_set_profile_request(auth: PageAuth, profile: dict[str, Any], *, now: int) -> GraphRequest:
    """``POST /me/messenger_profile`` with every field to set in one body (one API call)."""
    return build_page_request(auth, "POST", "me/messenger_profile", now=now, body=profile)


def build_delete_profile_request(
    auth: PageAuth, fields: tuple[str, ...] | list[str], *, now: int
) -> GraphRequest:
    """``DELETE /me/messenger_profile`` with body ``{"fields": [...]}`` (one API call)."""
    body = {"fields": list(fields)}
    return build_page_request(auth, "DELETE", "me/messenger_profile", now=now, body=body)


def build_debug_token_request(auth: PageAuth, app_id: str) -> GraphRequest:
    """``GET /debug_token?input_token=…`` for the Page token, asked with the app token
    ``APP_ID|APP_SECRET``: the token's app, type, Page, expiry and permissions."""
    return GraphRequest(
        url=auth.url("debug_token"),
        params={"input_token": auth.page_token},
        headers={"Authorization": f"Bearer {app_id}|{auth.app_secret}"},
        json={},
        method="GET",
    )


def message_body(
    recipient_id: str,
    message: dict[str, Any],
    *,
    messaging_type: str = "RESPONSE",
    tag: str | None = None,
) -> dict[str, Any]:
    """A message to a person: by default a reply to one who wrote to the Page (inside the
    24-hour window); ``UPDATE``, or ``MESSAGE_TAG`` with its ``tag``, for the outbound API."""
    body = {"recipient": {"id": recipient_id}, "messaging_type": messaging_type, "message": message}
    if tag is not None:
        body["tag"] = tag
    return body


def notification_body(token: str, message: dict[str, Any]) -> dict[str, Any]:
    """A notification message (Marketing Messages): to the person's opt-in token, which
    needs no messaging type (it is the way to reach people outside the window)."""
    return {"recipient": {"notification_messages_token": token}, "message": message}


def action_body(recipient_id: str, action: str) -> dict[str, Any]:
    """A sender action; Messenger refuses it combined with a message."""
    return {"recipient": {"id": recipient_id}, "sender_action": action}


def _proof(app_secret: str, page_token: str, now: int) -> dict[str, str]:
    return {
        "appsecret_proof": appsecret_proof(app_secret, page_token, now),
        "appsecret_time": str(now),
    }
