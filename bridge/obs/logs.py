"""Logging: JSON lines (or plain text) with ids, never message text or secrets.

- ``JsonFormatter`` (python-json-logger's format, with a cheap path for plain records): one
  object per line with ``time``, ``level``, ``logger``, ``message`` and the record's fields
  (``extra=``); ``TextFormatter`` for humans (``LOG_FORMAT=text``).
- ``log_context(...)`` binds fields to every line logged inside it, in this thread (and in
  work handed on with ``contextvars.copy_context()``): the webhook binds the request's
  ``delivery_id``; delivery binds ``delivery_id``, ``job_id``, ``mid``, ``page`` and ``user``
  (``hash_id`` of the PSID) for the whole turn, including the bot's helper thread.
- As a last line of defence, the configured secrets (app secret, tokens) and any
  ``appsecret_proof`` value are replaced by ``[redacted]`` in every formatted line.

gunicorn's own error and access logs are made to match in bridge/obs/gunicorn_logs.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonEncoder as PythonJsonEncoder
from pythonjsonlogger.json import JsonFormatter as _PythonJsonFormatter

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is emitted.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
REDACTED = "[redacted]"
_MIN_SECRET = 8  # shorter values are scrubbed only as whole words (not inside other words)
_PROOF = re.compile(r"(appsecret_proof\W{1,4})[0-9a-fA-F]{16,}")
_secrets: tuple[str, ...] = ()
_short_secrets: re.Pattern[str] | None = None

_context: ContextVar[Mapping[str, object] | None] = ContextVar("bridge_log_context", default=None)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def hash_id(value: str) -> str:
    """A short stable digest of a user id, so logs can correlate without naming people."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def new_request_id(offered: str | None = None) -> str:
    """A request's id: a proxy's ``X-Request-ID`` if it looks like one (8-64 characters of
    ``[A-Za-z0-9._:-]``), else 16 random hex digits."""
    if offered and _REQUEST_ID.fullmatch(offered):
        return offered
    return secrets.token_hex(8)


# --- context -----------------------------------------------------------------------------------


def current_context() -> Mapping[str, object]:
    """The fields bound to log lines here (empty if none)."""
    return _context.get() or {}


def bind(**fields: object) -> Token[Mapping[str, object] | None]:
    """Add fields to every log line in this context until ``unbind(token)``."""
    return _context.set({**current_context(), **fields})


def unbind(token: Token[Mapping[str, object] | None]) -> None:
    """Undo a ``bind``."""
    try:
        _context.reset(token)
    except ValueError:  # reset from another context: forget everything bound here instead
        _context.set(None)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Bind fields to every log line logged inside the ``with`` block."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


class ContextFilter(logging.Filter):
    """Copies the bound context onto each record; fields given with ``extra=`` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_context().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


# --- scrubbing ---------------------------------------------------------------------------------


def set_secrets(values: Iterable[str | None]) -> None:
    """Values never to print (replaced by ``[redacted]``), as they are and as a JSON line
    escapes them; those under 8 characters only where they stand as a word of their own."""
    global _secrets, _short_secrets
    forms = {form for value in values if value for form in _written_forms(value)}
    by_length = sorted(forms, key=len, reverse=True)
    _secrets = tuple(form for form in by_length if len(form) >= _MIN_SECRET)
    short = [re.escape(form) for form in by_length if len(form) < _MIN_SECRET]
    _short_secrets = re.compile(rf"(?<!\w)(?:{'|'.join(short)})(?!\w)") if short else None


def _written_forms(secret: str) -> set[str]:
    """The secret, and how JSON writes it (quotes, backslashes, control and non-ASCII
    characters escaped)."""
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}


def scrub(line: str) -> str:
    """The line with every configured secret and appsecret_proof value replaced."""
    for secret in _secrets:
        if secret in line:
            line = line.replace(secret, REDACTED)
    if _short_secrets is not None:
        line = _short_secrets.sub(REDACTED, line)
    if "appsecret_proof" in line:
        line = _PROOF.sub(rf"\g<1>{REDACTED}", line)
    return line


# --- formatters --------------------------------------------------------------------------------


def iso_time(created: float) -> str:
    """A record's time as the JSON lines show it: ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


_ENCODER = PythonJsonEncoder(ensure_ascii=False)  # stateless between calls: shared by threads


class JsonFormatter(_PythonJsonFormatter):
    """One JSON object per line: time, level, logger, message, then the record's fields.

    The bridge's own lines (no exception, stack or dict message) are built here as one small
    dict and encoded once, without python-json-logger's per-record machinery; the line is the
    same as python-json-logger writes (tested), which still formats the rest."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = iso_time(record.created)
        super().add_fields(log_data, record, message_dict)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info or isinstance(record.msg, dict):
            return scrub(super().format(record))
        record.message = record.getMessage()
        line: dict[str, Any] = {
            "time": iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.message,
        }
        skipped = self._skip_fields  # LogRecord's own attributes, level, logger and message
        for key, value in record.__dict__.items():
            if key not in skipped and not key.startswith("_"):
                line[key] = value
        return scrub(_ENCODER.encode(line))


class TextFormatter(logging.Formatter):
    """Human-readable lines with the extras appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{key}={value}"
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        ]
        return scrub(f"{line} {' '.join(extras)}" if extras else line)


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter for ``LOG_FORMAT`` (``json`` or ``text``)."""
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(level: str, fmt: str, *, secrets: Iterable[str | None] = ()) -> None:
    """Send the bridge's logs to stderr in the chosen format (idempotent).

    ``secrets`` are scrubbed from every line (see ``set_secrets``).
    """
    if secrets:
        set_secrets(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_bridge", False):
            root.removeHandler(existing)
    handler._bridge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries log request URLs and bodies at DEBUG; keep them quiet even when we are not.
    for name in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(name).setLevel(max(logging.getLevelName(level), logging.WARNING))
