"""Faults for local mode: the local Lex and Graph endpoints can be told to fail.

A fault is a JSON object queued for a target ("lex" or "graph") and taken, oldest first, by the
next call to that target; a sticky fault is never taken away, so it applies to every call until
cleared. A Graph fault with ``"page"`` applies only to calls made with that Page's token (with
several Pages, one Page's Graph can fail while the others' work).

This module says what a valid fault is (pure: ``validate_faults``); the faults are kept in the
local-mode SQLite file by ``bridge.local.store.LocalStore``, so every server process sees them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from bridge.errors import FaultError

FAULT_TARGETS = ("lex", "graph")
MAX_DELAY = 120.0
MAX_COUNT = 1000

# RecognizeText's modeled errors: either half of a Lex fault gives the other.
LEX_ERRORS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    409: "ConflictException",
    424: "DependencyFailedException",
    429: "ThrottlingException",
    500: "InternalServerException",
    502: "BadGatewayException",
}
_LEX_STATUS = {name: status for status, name in LEX_ERRORS.items()}

# Default messages, Graph's wording where known: (code, subcode), then (code, None).
_GRAPH_MESSAGES = {
    (1, 1357046): "Received Invalid JSON reply.",
    (1, None): "An unknown error occurred",
    (2, None): "An unexpected error has occurred. Please retry your request later.",
    (4, None): "(#4) Application request limit reached",
    (10, 2018278): "(#10) This message is sent outside of allowed window.",
    (10, None): "(#10) Permission denied",
    (17, None): "(#17) User request limit reached",
    (32, None): "(#32) Page request limit reached",
    (100, None): "(#100) Invalid parameter",
    (190, None): "Invalid OAuth access token - Cannot parse access token",
    (200, None): "(#200) Permissions error",
    (368, None): "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
    (551, None): "(#551) This person isn't available right now.",
    (613, None): "(#613) Calls to this api have exceeded the rate limit.",
}

_LEX_KEYS = frozenset({"status", "type", "message", "delay", "sticky", "count"})
_GRAPH_KEYS = frozenset(
    {
        "status",
        "code",
        "subcode",
        "message",
        "headers",
        "delay",
        "record",
        "sticky",
        "count",
        "page",
    }
)
_ERROR_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_.:#-]{0,99}")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
_RESERVED_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding", "connection"})

# --- validation ----------------------------------------------------------------------------


def validate_faults(target: str, faults: Sequence[object]) -> list[dict[str, Any]]:
    """Every fault to queue, in order, with ``count`` expanded into copies.

    Raises ``FaultError`` naming the first problem; then nothing should be queued.
    """
    if target not in FAULT_TARGETS:
        raise FaultError(f"unknown fault target {target!r}: use one of {', '.join(FAULT_TARGETS)}")
    if not faults:
        raise FaultError("give a fault object or a non-empty list of them")
    queued: list[dict[str, Any]] = []
    for index, raw in enumerate(faults):
        try:
            fault, count = _validate_one(target, raw)
        except FaultError as exc:
            raise FaultError(f"fault {index}: {exc}" if len(faults) > 1 else str(exc)) from None
        queued += [dict(fault) for _ in range(count)]
    return queued


def _validate_one(target: str, raw: object) -> tuple[dict[str, Any], int]:
    if not isinstance(raw, dict):
        raise FaultError("a fault must be a JSON object")
    allowed = _LEX_KEYS if target == "lex" else _GRAPH_KEYS
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise FaultError(
            f"unknown field(s) for a {target} fault: {', '.join(unknown)}"
            f" (allowed: {', '.join(sorted(allowed))})"
        )
    fault = _lex_fault(raw) if target == "lex" else _graph_fault(raw)
    if "delay" in raw:
        fault["delay"] = _delay(raw["delay"])
    if not fault:
        what = "status or type" if target == "lex" else "status and code, headers"
        raise FaultError(f"a {target} fault needs {what} or a delay")
    if "page" in raw:
        page = raw["page"]
        if not isinstance(page, str) or not page.isascii() or not page.isdigit():
            raise FaultError("page must be a Page id (digits, as a string)")
        fault["page"] = page
    if _flag(raw, "sticky"):
        fault["sticky"] = True
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
        raise FaultError(f"count must be a whole number from 1 to {MAX_COUNT}")
    return fault, count


def _lex_fault(raw: dict[str, Any]) -> dict[str, Any]:
    if "status" not in raw and "type" not in raw:
        if "message" in raw:
            raise FaultError("message needs a status or type")
        return {}
    status = _status(raw["status"]) if "status" in raw else None
    kind = raw.get("type")
    if kind is not None and (not isinstance(kind, str) or not _ERROR_TYPE.fullmatch(kind)):
        raise FaultError("type must be an error name such as ThrottlingException")
    if kind is None:
        assert status is not None
        kind = LEX_ERRORS.get(status)
        if kind is None:
            raise FaultError(f"status {status} is not a RecognizeText error: give its type too")
    if status is None:
        status = _LEX_STATUS.get(kind)
        if status is None:
            raise FaultError(f"type {kind} is not a RecognizeText error: give its status too")
    return {"status": status, "type": kind, "message": _message(raw, f"Local fault: {kind}")}


def _graph_fault(raw: dict[str, Any]) -> dict[str, Any]:
    fault: dict[str, Any] = {}
    if "status" in raw or "code" in raw:
        if "status" not in raw or "code" not in raw:
            raise FaultError("a graph error needs both status (HTTP) and code (Graph error code)")
        status = _status(raw["status"])
        code = _positive(raw, "code")
        subcode = _positive(raw, "subcode") if "subcode" in raw else None
        default = _GRAPH_MESSAGES.get((code, subcode)) or _GRAPH_MESSAGES.get(
            (code, None), f"(#{code}) Local fault"
        )
        fault = {"status": status, "code": code}
        if subcode is not None:
            fault["subcode"] = subcode
        fault["message"] = _message(raw, default)
        if _flag(raw, "record"):
            fault["record"] = True
    else:
        for key in ("subcode", "message"):
            if key in raw:
                raise FaultError(f"{key} needs an error: give status and code")
        if _flag(raw, "record"):
            raise FaultError("record needs an error: give status and code")
    if "headers" in raw:
        fault["headers"] = _headers(raw["headers"])
    return fault


def _delay(delay: object) -> float:
    if (
        not isinstance(delay, int | float)
        or isinstance(delay, bool)
        or not math.isfinite(delay)
        or not 0 <= delay <= MAX_DELAY
    ):
        raise FaultError(f"delay must be a number of seconds from 0 to {MAX_DELAY:g}")
    return delay


def _status(status: object) -> int:
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise FaultError("status must be an HTTP error status from 400 to 599")
    return status


def _positive(raw: dict[str, Any], key: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FaultError(f"{key} must be a positive whole number")
    return value


def _flag(raw: dict[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise FaultError(f"{key} must be true or false")
    return value


def _message(raw: dict[str, Any], default: str) -> str:
    message = raw.get("message", default)
    if not isinstance(message, str) or not message.strip() or len(message) > 1000:
        raise FaultError("message must be a non-empty string of at most 1000 characters")
    return message


def _headers(headers: object) -> dict[str, str]:
    if not isinstance(headers, dict):
        raise FaultError("headers must be an object of header names to values")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise FaultError(f"{name!r} is not a valid header name")
        if name.lower() in _RESERVED_HEADERS:
            raise FaultError(f"header {name} cannot be set by a fault")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > 4000 or re.search(r"[\r\n\0]", value):
            raise FaultError(f"header {name} must be a one-line string")
        checked[name] = value
    return checked
