"""The local Graph inbox: the Send API and thread control checked as Graph checks them (token,
appsecret_proof, Messenger's limits), recorded, and answered like Graph; and the list of what
was recorded (``/local/graph/inbox``), which the emulator page and the tests read.

A call can be told to fail (``/local/faults/graph``); a fault with ``"record"`` still records a
valid call, as when Meta delivered a message but the answer was lost.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, jsonify, request

from bridge.local import context
from bridge.local.graph import caller, graph_error, graph_fault_error, page_call, with_headers
from bridge.messenger.graph_requests import SENDER_ACTIONS
from bridge.messenger.limits import message_problems
from bridge.outbound.request import RETIRED_TAGS

LIVE_TAGS = ("HUMAN_AGENT", "CUSTOMER_FEEDBACK")

bp = Blueprint("inbox", __name__, url_prefix="/graph")


@bp.post("/<version>/me/messages")
def send_api(version: str) -> Response:
    """Check a Send API call as Graph would, record it, and answer like Graph (or a fault)."""
    page, problem = caller(context.settings())
    if problem:
        return graph_error(401, 190, problem)
    fault = context.take_fault("graph", page)
    if fault is None or "status" not in fault:
        return with_headers(_send(request.get_json(silent=True), page), fault)
    if fault.get("record"):
        _send(request.get_json(silent=True), page)  # recorded if valid; answered below
    return with_headers(graph_fault_error(fault), fault)


@bp.post("/<version>/me/pass_thread_control")
def pass_thread_control(version: str) -> Response:
    """Pass a conversation to another app (the Page Inbox), checked as Graph would; recorded in
    the inbox with the other calls, so what the bridge did can be seen."""
    _, page, refused = page_call()
    if refused is not None:
        return refused
    body = request.get_json(silent=True)
    problem = _invalid_pass(body)
    if problem is not None or not isinstance(body, dict):
        return graph_error(400, 100, f"(#100) {problem}")
    context.local_store().record(body["recipient"]["id"], body, page)
    return jsonify({"success": True})


def _invalid_pass(body: object) -> str | None:
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    recipient = body.get("recipient")
    psid = recipient.get("id") if isinstance(recipient, dict) else None
    if not isinstance(psid, str) or not psid:
        return "The parameter recipient is required"
    target = body.get("target_app_id")
    if isinstance(target, bool) or not (
        isinstance(target, int) or (isinstance(target, str) and target.isdigit())
    ):
        return "The parameter target_app_id is required"
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) >= 1000):
        return "metadata must be a string of fewer than 1000 characters"
    return None


def _send(body: object, page: str) -> Response:
    if not isinstance(body, dict):
        return graph_error(400, 100, "(#100) The request body must be a JSON object")
    psid = _recipient(body.get("recipient"), page)
    if psid is None:
        return graph_error(400, 100, "(#100) The parameter recipient is required")
    invalid = _invalid_send(body)
    if invalid:
        return graph_error(400, 100, f"(#100) {invalid}")
    seq = context.local_store().record(psid, body, page)
    if "sender_action" in body:
        return jsonify({"recipient_id": psid})  # Graph gives no message id for an action
    if "notification_messages_token" in body["recipient"]:
        # Graph names no recipient_id for a notification message
        return jsonify({"message_id": f"m_local_{seq}"})
    return jsonify({"recipient_id": psid, "message_id": f"m_local_{seq}"})


def _recipient(recipient: object, page: str) -> str | None:
    """Whom a call is recorded for: the PSID; for a notification message the person the token
    was given for, as Graph knows it (local mode asks the bridge's own token store), or for a
    token the bridge does not know ``token:`` and a digest of it."""
    if not isinstance(recipient, dict):
        return None
    psid, token = recipient.get("id"), recipient.get("notification_messages_token")
    if isinstance(psid, str) and psid:
        return psid
    if isinstance(token, str) and token:
        owner = context.token_owner(page, token)
        return owner or "token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
    return None


def _invalid_send(body: dict[str, Any]) -> str | None:
    action = body.get("sender_action")
    if action is not None:
        if "message" in body:
            return "sender_action cannot be sent with a message"
        return None if action in SENDER_ACTIONS else f"unknown sender_action {action!r}"
    if "notification_messages_token" not in body["recipient"]:
        invalid = _invalid_messaging(body.get("messaging_type"), body.get("tag"))
        if invalid:
            return invalid
    problems = message_problems(body.get("message"))
    return "; ".join(problems) if problems else None


def _invalid_messaging(messaging_type: object, tag: object) -> str | None:
    """Graph's rules for ``messaging_type`` and ``tag`` (messenger.md §5.2)."""
    if messaging_type in ("RESPONSE", "UPDATE"):
        return None if tag is None else "tag is only sent with messaging_type MESSAGE_TAG"
    if messaging_type != "MESSAGE_TAG":
        return "messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG"
    if tag in RETIRED_TAGS:
        return f"the tag {tag} is no longer supported"
    return None if tag in LIVE_TAGS else "MESSAGE_TAG needs a valid tag"


@bp.get("/inbox")
def inbox() -> Response:
    """What the bridge sent, oldest first: ``?recipient=<psid>&after=<seq>&page=<page id>``."""
    after = request.args.get("after", "0")
    entries = context.local_store().entries(
        recipient=request.args.get("recipient"),
        after=int(after) if after.isdigit() else 0,
        page=request.args.get("page"),
    )
    return jsonify(
        {
            "entries": entries,
            "last": entries[-1]["seq"] if entries else int(after) if after.isdigit() else 0,
        }
    )
