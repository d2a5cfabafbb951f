"""gunicorn's own logs in the bridge's shape: its error log, and a safe access log.

- Error log: the bridge's JSON (or text) formatter (bridge/obs/logs.py), secrets scrubbed.
- Access log: one line per request from ``access_log_format`` (``ACCESS_LOG_JSON`` or
  ``ACCESS_LOG_TEXT``, chosen by gunicorn.conf.py from ``LOG_FORMAT``), with JSON-safe values and
  the query string, credentials and ids in paths left out; on stdout written with one
  ``write`` per line, past the logging module.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import re
import select
import sys
import time
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

from gunicorn.glogging import Logger as _GunicornBaseLogger

from bridge.obs.logs import iso_time, make_formatter, scrub

# The app's own fields for a request's access line: a dict it leaves in the WSGI environ under
# this key (the webhook's summary of a POST: events, added, duplicates, mids...), written as
# more members of the JSON line (``key=value`` in text), so a webhook POST logs one line.
ACCESS_FIELDS = "bridge.access_fields"
_FIELDS_ATOM = "bridge_fields"
_FIELDS_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
# gunicorn's access_log_format (gunicorn.conf.py): the path without its query string (%(U)s),
# method, status, bytes sent, time in ms, the peer's address, a proxy's X-Forwarded-For, the
# request id the app sets in X-Request-ID (for a webhook POST, the delivery id), then the
# app's fields (ACCESS_FIELDS), if any.
ACCESS_LOG_JSON = (
    '{"time": "%(t)s", "level": "INFO", "logger": "gunicorn.access",'
    ' "message": "%(m)s %(U)s %(s)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s,'
    ' "bytes": %(B)s, "duration_ms": %(M)s, "remote_addr": "%(h)s",'
    ' "forwarded_for": "%({x-forwarded-for}i)s", "request_id": "%({x-request-id}o)s",'
    f' "user_agent": "%(a)s"%({_FIELDS_ATOM})s}}'
)
ACCESS_LOG_TEXT = (
    '%(t)s INFO gunicorn.access: %(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
    f" request_id=%({{x-request-id}}o)s%({_FIELDS_ATOM})s"
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
# What a send or read fails with once it ran past the bound the server set on its socket
# (bridge/web/worker.py: a client that takes no answers): the client's doing, not a fault.
TIMED_OUT_ERRNOS = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ETIMEDOUT})


def redact_path(path: str) -> str:
    """A request path fit for the access log: ids of people and Pages replaced by ``{id}``."""
    return _DIGITS_SEGMENT.sub("{id}", _SESSION_SEGMENT.sub(r"\1{id}", path))


def _json_escape(value: str) -> str:
    """``value`` escaped for a JSON string (as ``json.dumps(value, ensure_ascii=False)``)."""
    return str(encode_basestring(value))[1:-1]


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

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """gunicorn's error with its stack trace, except for a socket that timed out: a client
        that reads no answers (or sends nothing more) is logged in one line, without one."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError) and error.errno in TIMED_OUT_ERRNOS:
            self.info("client took no answer in time; connection closed (%s)", error.strerror)
            return
        super().exception(msg, *args, **kwargs)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if str(environ.get("PATH_INFO") or "").startswith(_QUIET_PREFIX):
            status = str(getattr(resp, "status", "") or "").split(" ", 1)[0]
            if status.isdigit() and int(status) < 400:
                return
        descriptor = self._direct_descriptor()
        if descriptor is None:
            super().access(resp, req, environ, request_time)
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        line = scrub(str(self.cfg.access_log_format) % atoms) + "\n"
        data = line.encode("utf-8", "backslashreplace")
        if len(data) > select.PIPE_BUF:  # kilobytes of a client's headers: the handler writes it
            self.access_log.info("%s", line[:-1])
            return
        try:
            write_all(descriptor, data)  # a pipe takes up to PIPE_BUF bytes whole
        except OSError as exc:
            self.error("access log line not written: %s", exc)

    def _direct_descriptor(self) -> int | None:
        """The access log's file descriptor when a line may be written to it at once: its one
        handler is gunicorn's stream (``accesslog = "-"``, the container's stdout), nothing
        filters, and INFO is on. Each request's line is then one ``write``, without the
        logging module's record, handler lock and flush, which the server's threads queued
        on; a line longer than ``PIPE_BUF`` (which a pipe may split) still goes through the
        handler. A file (which USR1 reopens under the handler's lock), syslog or a logging
        config goes through logging as before."""
        log = self.access_log
        if not self.access_log_enabled or len(log.handlers) != 1 or log.propagate:
            return None
        handler = log.handlers[0]
        if (
            type(handler) is not logging.StreamHandler
            or not getattr(handler, "_gunicorn", False)
            or handler.filters
            or log.filters
            or handler.level > logging.INFO
            or not log.isEnabledFor(logging.INFO)
        ):
            return None
        try:
            return int(handler.stream.fileno())
        except (AttributeError, OSError, ValueError):  # not a real file (a test's StringIO)
            return None

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, object]:
        """Only the atoms ``access_log_format`` names (gunicorn's own ``atoms`` builds one per
        header and environ variable, about two thirds of an access line's cost), made safe."""
        fmt = str(self.cfg.access_log_format)
        as_json = fmt.lstrip().startswith("{")
        atoms: dict[str, object] = {}
        for key in format_atoms(fmt):
            value = _atom(self, key, resp, req, environ, request_time)
            if value is not None:
                atoms[key] = value
        if as_json:
            for key, value in atoms.items():
                if isinstance(value, str):
                    atoms[key] = _json_escape(value)
        atoms[_FIELDS_ATOM] = app_fields(environ.get(ACCESS_FIELDS), as_json=as_json)
        return atoms


_FORMAT_ATOM = re.compile(r"%\((?P<key>[^)]*)\)")


@functools.lru_cache(maxsize=16)
def format_atoms(fmt: str) -> tuple[str, ...]:
    """The atoms an access-log format names (``{header}i`` keys lower-cased, as gunicorn
    reads them), each once."""
    keys = (match["key"] for match in _FORMAT_ATOM.finditer(fmt))
    return tuple(dict.fromkeys(key.lower() if key.startswith("{") else key for key in keys))


def _atom(
    logger: GunicornLogger, key: str, resp: Any, req: Any, environ: Any, request_time: Any
) -> object | None:
    """One atom's value, as gunicorn's ``atoms`` gives it but safe; None reads as ``-``."""
    if key.startswith("{"):
        return _header_atom(key, resp, req)
    if key == "t":
        return logger.now()
    if key == "u":
        return logger._get_user(environ) or "-"
    if key in _REQUEST_ATOMS:
        return _REQUEST_ATOMS[key](environ)
    if key in _RESPONSE_ATOMS:
        return _RESPONSE_ATOMS[key](resp)
    if key in _TIME_ATOMS:
        return _TIME_ATOMS[key](request_time)
    return "-" if key == "l" else f"<{os.getpid()}>" if key == "p" else None


def app_fields(fields: object, *, as_json: bool) -> str:
    """The app's fields (``ACCESS_FIELDS``) as the end of an access line: JSON members after
    a comma, or `` key=value`` pairs; empty if there are none."""
    if not isinstance(fields, dict) or not fields:
        return ""
    if as_json:  # the members of one encoded object, without its braces
        members = _FIELDS_ENCODER.encode({str(key): value for key, value in fields.items()})
        return f", {members[1:-1]}"
    return "".join(f" {key}={value}" for key, value in fields.items())


def _header_atom(key: str, resp: Any, req: Any) -> object | None:
    """``{name}i`` (request header) or ``{name}o`` (response header); environ atoms
    (``{name}e``) and credential headers are never given."""
    name, kind = key[1:-2], key[-1]
    if kind not in "io" or not key.endswith("}" + kind) or name.startswith(_HIDDEN_HEADERS):
        return None
    headers = getattr(req, "headers", req) if kind == "i" else resp.headers
    pairs = headers.items() if hasattr(headers, "items") else headers
    found = None
    for header, value in pairs:
        if header.lower() == name:
            found = value  # the last one wins, as in gunicorn's dict
    return found


def _path(environ: Any) -> str:
    return redact_path(str(environ.get("PATH_INFO") or "/"))


def _status(resp: Any) -> object:
    status = resp.status
    return status.split(None, 1)[0] if isinstance(status, str) else status


def _sent(resp: Any) -> object:
    return getattr(resp, "sent", None)


_REQUEST_ATOMS: dict[str, Callable[[Any], object]] = {
    "h": lambda environ: environ.get("REMOTE_ADDR", "-"),
    "r": lambda environ: (
        f"{environ.get('REQUEST_METHOD')} {_path(environ)} {environ.get('SERVER_PROTOCOL')}"
    ),
    "m": lambda environ: environ.get("REQUEST_METHOD"),
    "U": _path,
    "q": lambda environ: "-",
    "H": lambda environ: environ.get("SERVER_PROTOCOL"),
    "f": lambda environ: environ.get("HTTP_REFERER", "-"),
    "a": lambda environ: environ.get("HTTP_USER_AGENT", "-"),
}
_RESPONSE_ATOMS: dict[str, Callable[[Any], object]] = {
    "s": _status,
    "b": lambda resp: str(_sent(resp)) if _sent(resp) is not None else "-",
    "B": lambda resp: _sent(resp) or 0,
}
_TIME_ATOMS: dict[str, Callable[[Any], object]] = {
    "T": lambda elapsed: elapsed.seconds,
    "D": lambda elapsed: elapsed.seconds * 1_000_000 + elapsed.microseconds,
    "M": lambda elapsed: elapsed.seconds * 1000 + elapsed.microseconds // 1000,
    "L": lambda elapsed: f"{elapsed.seconds}.{elapsed.microseconds:06d}",
}


def write_all(descriptor: int, data: bytes) -> None:
    """Write ``data`` whole (``os.write`` may take part of it); OSError if it cannot."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


class _ScrubbedMessage(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(record.getMessage())


def gunicorn_logger(fmt: str) -> type[GunicornLogger]:
    """A ``GunicornLogger`` class for ``LOG_FORMAT`` (gunicorn instantiates it)."""
    return type("BridgeGunicornLogger", (GunicornLogger,), {"log_format": fmt})
