"""The local Graph API: who a call is from (a Page's token and its appsecret_proof, checked as
Graph checks them), Graph's error answers, and the Page endpoints that ``python -m bridge
setup`` and ``check`` call.

The Page endpoints: ``/me`` (the Page behind a token), the Page's webhook subscription
(``/{page}/subscribed_apps``: a local bridge starts subscribed to the bridge's fields, as a
set-up Page is; DELETE unsubscribes it, as Meta does after failed deliveries), the Messenger
Profile API (``/me/messenger_profile``, validated like ``setup`` validates a file) and
``/debug_token`` (for the app token ``LOCAL_APP_ID|<app secret>``). The Send API and the inbox
are in bridge/local/inbox.py.

With ``BRIDGE_PAGES_FILE`` every Page of the file is served: a call's token says which Page it
is for, and a fault may name the Page it applies to.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.config.settings import Settings
from bridge.local import context
from bridge.local.store import LocalStore
from bridge.messenger.profile import PROFILE_FIELDS, validate_profile
from bridge.messenger.signature import appsecret_proof, tokens_match
from bridge.messenger.subscriptions import SUBSCRIBED_FIELDS

bp = Blueprint("graph", __name__, url_prefix="/graph")

PROOF_WINDOW = 300
LOCAL_PAGE_NAME = "Local Test Page"
LOCAL_APP_ID = "100000000000002"
LOCAL_APP_NAME = "messenger-lex-bridge (local)"
# Messenger webhook fields a Page subscription may name (POST /{page}/subscribed_apps).
WEBHOOK_FIELDS = (
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "messaging_referrals",
    "message_deliveries",
    "message_reads",
    "messaging_handovers",
    "standby",
    "messaging_policy_enforcement",
    "message_echoes",
    "message_reactions",
    "message_edits",
    "messaging_account_linking",
    "messaging_game_plays",
    "messaging_feedback",
    "messaging_customer_information",
    "messaging_seen",
    "inbox_labels",
    "response_feedback",
    "send_cart",
)
_PAGE_SCOPES = ["pages_messaging", "pages_manage_metadata", "pages_show_list"]


# --- Graph's answers and who is calling -------------------------------------------------------


def graph_error(status: int, code: int, message: str, subcode: int | None = None) -> Response:
    """An error answer in Graph's shape (``{"error": {...}}``)."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "LOCAL",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    response = jsonify({"error": error})
    response.status_code = status
    return response


def graph_fault_error(fault: dict[str, Any]) -> Response:
    return graph_error(fault["status"], fault["code"], fault["message"], fault.get("subcode"))


def with_headers(response: Response, fault: dict[str, Any] | None) -> Response:
    """``response`` with the headers a fault adds (none without a fault)."""
    response.headers.update((fault or {}).get("headers", {}))
    return response


def local_pages(settings: Settings) -> dict[str, str]:
    """Page token → Page id, for every Page the local Graph serves."""
    if settings.pages:
        return {page.access_token: page.page_id for page in settings.pages}
    return {settings.graph.page_access_token: settings.graph.page_id or LOCAL_PAGE_ID}


def _page_of(settings: Settings, token: str | None) -> str | None:
    """The Page whose token ``token`` is (compared in constant time), if any."""
    found = None
    for known, page in local_pages(settings).items():
        if tokens_match(known, token):
            found = page
    return found


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[len("Bearer ") :] if header.startswith("Bearer ") else None


def caller(settings: Settings) -> tuple[str, str | None]:
    """The Page of the call's token, and what Graph would refuse about the call (if
    anything): the token, or the appsecret_proof made with it."""
    bearer = _bearer()
    token = bearer if bearer is not None else request.args.get("access_token")
    page = _page_of(settings, token)
    if page is None or token is None:
        return "", "Invalid OAuth access token"
    proof = request.args.get("appsecret_proof", "")
    moment = request.args.get("appsecret_time", "")
    if not proof and not moment:
        # Graph's words for an app with "Require App Secret" on, as the local Page behaves.
        return page, "API calls from the server require an appsecret_proof argument"
    if not moment.isdigit() or abs(time.time() - int(moment)) > PROOF_WINDOW:
        return page, "appsecret_time is missing or expired"
    if not tokens_match(appsecret_proof(settings.graph.app_secret, token, int(moment)), proof):
        return page, "Invalid appsecret_proof provided in the API argument"
    return page, None


def page_call() -> tuple[Settings, str, Response | None]:
    """Settings, the caller's Page, and an error response if the call's token/proof is wrong
    or a fault is due."""
    settings = context.settings()
    page, problem = caller(settings)
    if problem:
        return settings, page, graph_error(401, 190, problem)
    fault = context.take_fault("graph", page)
    if fault is not None and "status" in fault:
        return settings, page, with_headers(graph_fault_error(fault), fault)
    return settings, page, None


def _unknown_object(node: str) -> Response:
    return graph_error(
        400,
        100,
        f"Unsupported request. Object with ID '{node}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation",
        33,
    )


# --- the Page endpoints ----------------------------------------------------------------------


@bp.get("/<version>/me")
def me(version: str) -> Response:
    """The Page behind the token: what the bridge calls to probe a paused Page."""
    settings = context.settings()
    page, problem = caller(settings)
    if problem:
        return graph_error(401, 190, problem)
    fault = context.take_fault("graph", page)
    if fault is not None and "status" in fault:
        return with_headers(graph_fault_error(fault), fault)
    names = {config.page_id: config.name for config in settings.pages}
    return with_headers(jsonify({"id": page, "name": names.get(page) or LOCAL_PAGE_NAME}), fault)


@bp.route("/<version>/<node>/subscribed_apps", methods=["GET", "POST", "DELETE"])
def subscribed_apps(version: str, node: str) -> Response:
    """The app's webhook subscription on the Page: list, set (POST ?subscribed_fields=…),
    remove (DELETE, as Meta does after an hour of failed deliveries)."""
    _, page, refused = page_call()
    if refused is not None:
        return refused
    if node not in (page, "me"):
        return _unknown_object(node)
    store = context.local_store()
    if request.method == "GET":
        fields = store.subscribed_fields(page)
        if fields is None:
            fields = list(SUBSCRIBED_FIELDS)  # a Page never changed has the bridge's own
        apps = [{"id": LOCAL_APP_ID, "name": LOCAL_APP_NAME, "subscribed_fields": fields}]
        return jsonify({"data": apps if fields else []})
    if request.method == "DELETE":
        store.set_subscribed_fields(page, [])
        return jsonify({"success": True})
    return _subscribe(store, page)


def _subscribe(store: LocalStore, page: str) -> Response:
    raw = request.args.get("subscribed_fields") or request.form.get("subscribed_fields") or ""
    fields = [name.strip() for name in raw.split(",") if name.strip()]
    if not fields:
        return graph_error(400, 100, "(#100) The parameter subscribed_fields is required")
    for index, name in enumerate(fields):
        if name not in WEBHOOK_FIELDS:
            return graph_error(
                400,
                100,
                f"(#100) Param subscribed_fields[{index}] must be one of "
                f'{{{", ".join(WEBHOOK_FIELDS)}}} - got "{name}"',
            )
    store.set_subscribed_fields(page, list(dict.fromkeys(fields)))
    return jsonify({"success": True})


@bp.route("/<version>/me/messenger_profile", methods=["GET", "POST", "DELETE"])
def messenger_profile(version: str) -> Response:
    """The Messenger Profile API: GET ?fields=…, POST the fields to set, DELETE {"fields"}."""
    _, _, refused = page_call()
    if refused is not None:
        return refused
    store = context.local_store()
    if request.method == "GET":
        wanted = [f for f in request.args.get("fields", "").split(",") if f]
        if not wanted:
            return graph_error(400, 100, "(#100) The parameter fields is required")
        profile = {k: v for k, v in store.profile().items() if k in wanted}
        return jsonify({"data": [profile] if profile else []})
    body = request.get_json(silent=True)
    if request.method == "DELETE":
        return _delete_profile(store, body)
    return _set_profile(store, body)


def _delete_profile(store: LocalStore, body: object) -> Response:
    names = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(names, list) or not names or not all(n in PROFILE_FIELDS for n in names):
        return graph_error(400, 100, f"(#100) fields must list some of {', '.join(PROFILE_FIELDS)}")
    store.delete_profile(names)
    return jsonify({"result": "success"})


def _set_profile(store: LocalStore, body: object) -> Response:
    if not isinstance(body, dict) or not body:
        return graph_error(400, 100, "(#100) The request body must name the fields to set")
    problems = validate_profile(body)
    if problems:
        return graph_error(400, 100, f"(#100) {problems[0]}")
    current = store.profile()
    if "persistent_menu" in body and "get_started" not in {**current, **body}:
        return graph_error(
            400,
            100,
            "(#100) You must set a Get Started button if you also wish to use persistent menu.",
        )
    store.set_profile(body)
    return jsonify({"result": "success"})


@bp.get("/<version>/debug_token")
def debug_token(version: str) -> Response:
    """What Graph knows about ``input_token``, asked with the app token ``LOCAL_APP_ID|secret``."""
    settings = context.settings()
    app_id, _, secret = (_bearer() or "").partition("|")
    if app_id != LOCAL_APP_ID or not tokens_match(settings.graph.app_secret, secret):
        return graph_error(400, 190, "Invalid OAuth access token signature.")
    page = _page_of(settings, request.args.get("input_token"))
    return jsonify({"data": _token_data(page)})


def _token_data(page: str | None) -> dict[str, Any]:
    """debug_token's ``data`` for a Page's token (None: a token of no Page)."""
    if page is None:
        return {
            "app_id": LOCAL_APP_ID,
            "is_valid": False,
            "error": {"code": 190, "message": "Invalid OAuth access token."},
            "scopes": [],
        }
    return {
        "app_id": LOCAL_APP_ID,
        "type": "PAGE",
        "application": LOCAL_APP_NAME,
        "data_access_expires_at": 0,
        "expires_at": 0,
        "is_valid": True,
        "profile_id": page,
        "scopes": _PAGE_SCOPES,
        "user_id": "100000000000003",
    }
