"""gunicorn's own logs in the bridge's shape: its error log, and a safe access log.

- Error log: the bridge's JSON (or text) formatter (bridge/obs/logs.py), secrets scrubbed.
- Access log: one line per request from ``access_log_format`` (``ACCESS_LOG_JSON`` or
  ``ACCESS_LOG_TEXT``, chosen by gunicorn.conf.py from ``LOG_FORMAT``), with JSON-safe values and
  the query string, credentials and ids in paths left out.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from gunicorn.glogging import Logger as _GunicornBaseLogger

from bridge.obs.logs import iso_time, make_formatter, scrub

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
            return iso_time(created)
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
