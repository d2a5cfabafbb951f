"""The Lambda code hook: ``examples.symptom_bot.handler.handler`` (Lex V2, interface 1.0).

A Lex V2 event in, a Lex V2 response out; the dialog is the local sample bot's
(bridge/local/sample_bot/symptoms.py), reading the DynamoDB table named by ``TABLE_NAME``. Cards get
images from ``ASSET_BASE_URL`` (a public HTTPS folder) when it is set. One log line per turn,
with the intents, the dialog action, counts, the time taken and a hash of the session id —
never what the person wrote.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from bridge.local.sample_bot.conditions import Conditions
from bridge.local.sample_bot.symptoms import respond, unavailable
from examples.symptom_bot.dynamo import DynamoConditions, StoreError
from examples.symptom_bot.lexv2 import Request, lex_response, parse_event

LOG = logging.getLogger("symptom_bot")
LOG.setLevel(logging.INFO)

_clients: dict[str, Any] = {}


def _dynamodb() -> Any:
    """boto3's DynamoDB client, made once per Lambda container (``AWS_ENDPOINT_URL_DYNAMODB``
    points it elsewhere, as for any boto3 client)."""
    if "dynamodb" not in _clients:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard"})
        region = os.environ.get("AWS_REGION") or None  # set by Lambda; botocore reads another
        _clients["dynamodb"] = boto3.client("dynamodb", region_name=region, config=config)
    return _clients["dynamodb"]


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """The Lambda entry point."""
    store = DynamoConditions(_dynamodb(), os.environ["TABLE_NAME"])
    return handle(event, store, asset_base=os.environ.get("ASSET_BASE_URL", ""))


def handle(event: Mapping[str, Any], store: Conditions, *, asset_base: str) -> dict[str, Any]:
    """One Lex V2 turn over ``store``; a table that cannot be read gets an apology (Close,
    Failed) rather than an error for Lex to report."""
    started = time.monotonic()
    request = parse_event(event)
    failed = False
    try:
        turn = respond(
            request.text, request.session, asset_base=asset_base, store=store, hint=request.hint
        )
    except StoreError as exc:
        LOG.error(json.dumps({"event": "store_error", "error": str(exc)}))
        turn, failed = unavailable(request.text, request.session), True
    response = lex_response(request, turn, failed=failed)
    LOG.info(json.dumps(log_fields(request, response, time.monotonic() - started)))
    return response


def log_fields(request: Request, response: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """What a turn's log line says: no text, no slot values, no session attribute values."""
    state = response["sessionState"]
    return {
        "event": "turn",
        "session": hashlib.sha256(request.session_id.encode()).hexdigest()[:16],
        "invocation": request.invocation,
        "lex_intent": request.intent,
        "lex_slot_filled": request.hint.slot is not None,
        "intent": state["intent"]["name"],
        "intent_state": state["intent"]["state"],
        "action": state["dialogAction"]["type"],
        "slot_to_elicit": state["dialogAction"].get("slotToElicit"),
        "messages": [m["contentType"] for m in response["messages"]],
        "ms": round(seconds * 1000, 1),
    }
