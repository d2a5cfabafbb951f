"""Logging: JSON lines (or plain text) with ids, never message text or secrets.

- ``JsonFormatter`` (python-json-logger): one object per line with ``time``, ``level``,
  ``logger``, ``message`` and the record's fields (``extra=``); ``TextFormatter`` for humans
  (``LOG_FORMAT=text``).
- ``log_context(...)`` binds fields to every line logged inside it, in this thread (and in
  work handed on with ``contextvars.copy_context()``): the webhook binds the request's
  ``delivery_id``; delivery binds ``delivery_id``, ``job_id``, ``mid``, ``page`` and ``user``
  (``hash_id`` of the PSID) for the whole turn, including the bot's helper thread.
- As a last line of defence, the configured secrets (app secret, tokens) and any
  ``appsecret_proof`` value are replaced by ``[redacted]`` in every formatted line.
- ``GunicornLogger`` gives gunicorn's own error log the same format, and its access log
  JSON-safe values with the query string, credentials and ids in paths left out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger as _GunicornBaseLogger
from pythonjsonlogger.json import JsonFormatter as _PythonJsonFormatter

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is emitted.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
REDACTED = "[redacted]"
_MIN_SECRET = 8  # shorter values would mangle ordinary words; they are not scrubbed
_PROOF = re.compile(r"(appsecret_proof\W{1,4})[0-9a-fA-F]{16,}")
_secrets: tuple[str, ...] = ()

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
    """Values never to print (replaced by ``[redacted]``); those under 8 characters are not."""
    global _secrets
    _secrets = tuple(
        sorted({v for v in values if v and len(v) >= _MIN_SECRET}, key=len, reverse=True)
    )


def scrub(line: str) -> str:
    """The line with every configured secret and appsecret_proof value replaced."""
    for secret in _secrets:
        if secret in line:
            line = line.replace(secret, REDACTED)
    if "appsecret_proof" in line:
        line = _PROOF.sub(rf"\g<1>{REDACTED}", line)
    return line


# --- formatters --------------------------------------------------------------------------------


def _iso_time(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(_PythonJsonFormatter):
    """One JSON object per line: time, level, logger, message, then the record's fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = _iso_time(record.created)
        super().add_fields(log_data, record, message_dict)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


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


# --- gunicorn ----------------------------------------------------------------------------------

# gunicorn's access_log_format (gunicorn.conf.py): the path without its query string (%(U)s),
# method, status, bytes sent, time in ms, the peer's address, a proxy's X-Forwarded-For, and
# the request id the app sets in X-Request-ID (for a webhook POST, the delivery id).
ACCESS_LOG_JSON = (
    '{"time": "%(t)s", "level": "INFO", "logger": "gunicorn.access",'
    ' "message": "%(m)s %(U)s %(s)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s,'
    ' "bytes": %(B)s, "duration_ms": %(M)s, "remote_addr": "%(h)s",'
    ' "forwarded_for": "%({x-forwarded-for}i)s", "request_id": "%({x-request-id}o)s",'
    ' "user_agent": "%(a)s"}'
)
ACCESS_LOG_TEXT = (
    '%(t)s INFO gunicorn.access: %(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
    " request_id=%({x-request-id}o)s"
)

# Access-log atoms that could carry a credential or a person's id: never printed.
_HIDDEN_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-hub-")
# Path segments that name a person: the local Lex endpoint's session (the PSID), and any long
# run of digits (PSIDs, Page ids, ids in Graph-style paths).
_SESSION_SEGMENT = re.compile(r"(/sessions/)[^/]+")
# Local mode's stand-ins for Graph and Lex and the emulator's polling (several requests a
# second): not logged when they succeed, so `make demo` stays readable. Failures are.
_QUIET_PREFIX = "/local/"
_DIGITS_SEGMENT = re.compile(r"(?<=/)\d{6,}(?=/|$)")


def redact_path(path: str) -> str:
    """A request path fit for the access log: ids of people and Pages replaced by ``{id}``."""
    return _DIGITS_SEGMENT.sub("{id}", _SESSION_SEGMENT.sub(r"\1{id}", path))


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


class _Atoms(dict[str, object]):
    """gunicorn's SafeAtoms, without its quote escaping (values are already escaped for the
    format in use); a missing atom reads as ``-``."""

    def __getitem__(self, key: str) -> object:
        if key.startswith("{"):
            key = key.lower()
        return super().__getitem__(key) if key in self else "-"


class GunicornLogger(_GunicornBaseLogger):  # type: ignore[misc]
    """gunicorn's logger, made safe and consistent with the bridge's logs.

    Error log: the bridge's JSON (or text) formatter, with secrets scrubbed. Access log
    (successful requests to local mode's ``/local/`` endpoints left out): the
    ``access_log_format`` of gunicorn.conf.py, whose atoms are made safe first: the path has
    no query string and ids replaced (``redact_path``), ``%(r)s`` loses its query string,
    ``%(q)s``, credential headers and environ atoms read as ``-``, and with a JSON template
    (one starting with ``{``) every value is JSON-escaped, so each line parses.
    """

    atoms_wrapper_class = _Atoms
    log_format = "json"  # gunicorn.conf.py sets this from LOG_FORMAT

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = make_formatter(self.log_format)
        for handler in self.error_log.handlers:
            if getattr(handler, "_gunicorn", False):
                handler.setFormatter(formatter)
        for handler in self.access_log.handlers:
            if getattr(handler, "_gunicorn", False):
                handler.setFormatter(_ScrubbedMessage())

    def now(self) -> str:
        created = time.time()
        if self.log_format == "json":
            return _iso_time(created)
        # like the text formatter's asctime
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))
        return f"{stamp},{int(created % 1 * 1000):03d}"

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if str(environ.get("PATH_INFO") or "").startswith(_QUIET_PREFIX):
            status = str(getattr(resp, "status", "") or "").split(" ", 1)[0]
            if status.isdigit() and int(status) < 400:
                return
        super().access(resp, req, environ, request_time)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, object]:
        atoms: dict[str, object] = super().atoms(resp, req, environ, request_time)
        path = redact_path(str(environ.get("PATH_INFO") or "/"))
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = "-"
        atoms["B"] = atoms.get("B") or 0
        for key in list(atoms):
            if key.endswith("}e") or (key.startswith("{") and key[1:].startswith(_HIDDEN_HEADERS)):
                del atoms[key]
        if str(self.cfg.access_log_format).lstrip().startswith("{"):
            for key, value in atoms.items():
                if isinstance(value, str):
                    atoms[key] = _json_escape(value)
        return atoms


class _ScrubbedMessage(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(record.getMessage())


def gunicorn_logger(fmt: str) -> type[GunicornLogger]:
    """A ``GunicornLogger`` class for ``LOG_FORMAT`` (gunicorn instantiates it)."""
    return type("BridgeGunicornLogger", (GunicornLogger,), {"log_format": fmt})
