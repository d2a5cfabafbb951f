"""``python -m bridge send``: queue one outbound message, as ``POST /v1/messages`` does.

Without ``--url`` it opens the configured queue (``BRIDGE_QUEUE``, ``BRIDGE_DB``...) and goes
through the API's own code (``bridge.outbound.enqueue.Outbox``, built by
``bridge.web.services.make_outbox``): the same checks, the same job, the same idempotency.
With ``--url`` it posts to a running bridge, with ``BRIDGE_API_TOKEN`` from the environment.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, NoReturn

import click
import requests

from bridge.errors import ConfigError, InvalidRequest, OutboundRefused, QueueError

# Exit statuses (also in --help).
QUEUED, REFUSED, INVALID, UNREACHABLE = 0, 1, 2, 3
_EXITS = {400: INVALID, 401: INVALID, 404: INVALID, 413: INVALID, 422: REFUSED}


@click.command(
    "send",
    epilog="Exit status: 0 queued (or already queued under this --idempotency-key); 1 it"
    " cannot be sent now (outside_window, held, unknown_recipient, token_expired,"
    " idempotency_conflict); 2 invalid options, request or configuration (also a 401 or 404"
    " from --url: the API is off or the token is wrong); 3 the queue or the bridge could not"
    " be reached.",
)
@click.option("--psid", required=True, help="The person's page-scoped id (PSID).")
@click.option("--text", "text", default=None, help="The text to send (split like bot replies).")
@click.option(
    "--lex-text",
    default=None,
    help="Ask the Page's bot with this text in the person's session, and send its answer.",
)
@click.option(
    "--messaging-type",
    default=None,
    help="RESPONSE (default) or UPDATE: within 24 h of the person's last message;"
    " MESSAGE_TAG with --tag.",
)
@click.option(
    "--tag",
    default=None,
    help="HUMAN_AGENT: a person's reply within 7 days (implies --messaging-type MESSAGE_TAG;"
    " needs Meta's Human Agent permission; never for automated messages).",
)
@click.option("--page-id", default=None, help="The Page to send as (required with several).")
@click.option(
    "--idempotency-key",
    default=None,
    help="Up to 200 characters: the same key again never sends twice.",
)
@click.option(
    "--url",
    default=None,
    help="A running bridge's base URL (e.g. http://127.0.0.1:8000): post to its API with"
    " BRIDGE_API_TOKEN instead of opening the queue.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def send(
    psid: str,
    text: str | None,
    lex_text: str | None,
    messaging_type: str | None,
    tag: str | None,
    page_id: str | None,
    idempotency_key: str | None,
    url: str | None,
    as_json: bool,
) -> None:
    """Send a message the person did not just ask for: a follow-up, a reminder, a person's
    reply (see the README, "Sending messages first"). Prints its id, then `queued`."""
    if (text is None) == (lex_text is None):
        _fail(INVALID, "give exactly one of --text and --lex-text", as_json)
    body = to_body(
        psid=psid,
        text=text,
        lex_text=lex_text,
        messaging_type=messaging_type,
        tag=tag,
        page_id=page_id,
        idempotency_key=idempotency_key,
    )
    status, answer = _post(url, body) if url else _enqueue(body)
    if status >= 300:
        error = answer.get("error") or {}
        where = f" ({error['field']})" if error.get("field") else ""
        message = f"{error.get('code', 'error')}{where}: {error.get('message', '')}"
        _fail(_EXITS.get(status, UNREACHABLE), message, as_json, answer)
    click.echo(json.dumps(answer) if as_json else f"{answer['id']} {answer['status']}")
    if status == 200 and not as_json:
        click.echo("(already queued under this idempotency key: nothing sent twice)", err=True)
    sys.exit(QUEUED)


def to_body(
    *,
    psid: str,
    text: str | None,
    lex_text: str | None,
    messaging_type: str | None,
    tag: str | None,
    page_id: str | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """The ``POST /v1/messages`` body of the options (the API's parser judges it)."""
    body: dict[str, Any] = {"recipient": {"id": psid}}
    if text is not None:
        body["text"] = text
    if lex_text is not None:
        body["lex"] = {"text": lex_text}
    if tag is not None and messaging_type is None:
        messaging_type = "MESSAGE_TAG"
    extra = {"messaging_type": messaging_type, "tag": tag, "page_id": page_id}
    extra["idempotency_key"] = idempotency_key
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def _enqueue(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Queue the message through the configured queue; the API's status and answer."""
    from bridge.app import make_queue, notifications_of
    from bridge.ops.commands.settings import settings_or_exit
    from bridge.web.services import make_outbox

    settings = settings_or_exit()
    try:
        queue = make_queue(settings)
    except (ConfigError, QueueError) as error:
        return 503, _error("unavailable", str(error))
    try:
        accepted = make_outbox(settings, queue, notifications_of(queue)).submit(
            body, now=time.time()
        )
    except InvalidRequest as error:
        return 400, {"error": {"code": "invalid", "field": error.field, "message": error.message}}
    except OutboundRefused as error:
        return 422, _error(error.code, error.message)
    except QueueError as error:
        return 503, _error("unavailable", str(error))
    finally:
        queue.close()
    return (202 if accepted.created else 200), {"id": accepted.id, "status": "queued"}


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Post the message to a running bridge's API."""
    token = os.environ.get("BRIDGE_API_TOKEN", "").strip()
    if not token:
        _fail(INVALID, "--url needs BRIDGE_API_TOKEN in the environment", False)
    try:
        response = requests.post(
            f"{url.rstrip('/')}/v1/messages",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except requests.RequestException as error:
        return 503, _error("unreachable", f"{url} could not be reached ({type(error).__name__})")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return response.status_code, _error("unexpected", f"HTTP {response.status_code}")
    return response.status_code, answer


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _fail(code: int, message: str, as_json: bool, answer: dict[str, Any] | None = None) -> NoReturn:
    if as_json and answer is not None:
        click.echo(json.dumps(answer))
    click.echo(f"messenger-lex-bridge send: {message}", err=True)
    sys.exit(code)
