"""The queue job of an outbound message: its key (also the API's id), its payload, its status.

The id is ``out_`` and 32 hex digits: from the Page and the caller's ``idempotency_key`` (a
hash, so the same key on the same Page is the same job, and the queue's put absorbs the
repeat), or random without one. The payload holds what delivery sends and checks, and a hash
of the request (a repeat under the same key with another body is refused). A token is
never stored in the payload, only its SHA-256, matched against the person's tokens when it
is sent.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from bridge.outbound.request import OutboundRequest
from bridge.queue.records import Job, OutboundRecord

PREFIX = "out_"
KIND = "outbound"
# A job's state → the API's status (a queued job that sent parts already is still sending).
_STATUS = {"queued": "queued", "running": "sending", "done": "sent"}


@dataclass(frozen=True, slots=True)
class OutboundJob:
    """An outbound job's payload: to ``user`` (with the token of hash ``token_sha256``, if
    any), the ``messages`` to send or the ``lex_text`` to ask the bot with."""

    user: str
    messages: tuple[dict[str, Any], ...]
    lex_text: str | None
    messaging_type: str
    tag: str | None
    token_sha256: str | None
    request_sha256: str


def job_id(page: str, idempotency_key: str | None) -> str:
    """The job key (and the API's id) of a request."""
    if idempotency_key is None:
        return PREFIX + secrets.token_hex(16)
    seed = json.dumps([page, idempotency_key], ensure_ascii=False)
    return PREFIX + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def is_outbound_key(key: str) -> bool:
    """Whether a job key is an outbound job's (a Messenger mid never starts so)."""
    return key.startswith(PREFIX)


def is_outbound(job: Job) -> bool:
    return is_outbound_key(job.key)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def request_hash(request: OutboundRequest, page: str) -> str:
    """What makes two requests the same message (the token by its hash)."""
    seed = {
        "page": page,
        "psid": request.psid,
        "token": None if request.token is None else token_hash(request.token),
        "messages": list(request.messages),
        "lex": request.lex_text,
        "messaging_type": request.messaging_type,
        "tag": request.tag,
    }
    canonical = json.dumps(seed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def to_payload(job: OutboundJob) -> str:
    body = {
        "kind": KIND,
        "user": job.user,
        "messages": list(job.messages),
        "lex_text": job.lex_text,
        "messaging_type": job.messaging_type,
        "tag": job.tag,
        "token_sha256": job.token_sha256,
        "request_sha256": job.request_sha256,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def from_payload(payload: str) -> OutboundJob:
    """The payload ``to_payload`` wrote (ValueError if it is not one)."""
    body = json.loads(payload)
    if not isinstance(body, dict) or body.get("kind") != KIND:
        raise ValueError("not an outbound job's payload")
    return OutboundJob(
        user=str(body["user"]),
        messages=tuple(body.get("messages") or ()),
        lex_text=body.get("lex_text"),
        messaging_type=str(body.get("messaging_type") or ""),
        tag=body.get("tag"),
        token_sha256=body.get("token_sha256"),
        request_sha256=str(body.get("request_sha256") or ""),
    )


def status_of(record: OutboundRecord) -> dict[str, Any]:
    """The API's view of a job: ``{"id", "status", "reason"?, "parts_sent", "message_ids"}``."""
    status = _STATUS.get(record.state, record.state)
    if record.state == "queued" and record.sent > 0:
        status = "sending"
    answer: dict[str, Any] = {"id": record.key, "status": status}
    if record.state in ("dropped", "dead") and record.reason:
        answer["reason"] = record.reason
    answer["parts_sent"] = record.sent
    answer["message_ids"] = list(record.message_ids)
    return answer
