"""gunicorn's logs: the access log is safe (no query, credentials or ids) and parses; the
error log uses the bridge's format."""

from __future__ import annotations

import errno
import io
import json
import os
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger as GunicornBaseLogger
from hypothesis import given
from hypothesis import strategies as st

from bridge.config.localmode import LOCAL_VERIFY_TOKEN
from bridge.obs.gunicorn_logs import (
    ACCESS_FIELDS,
    ACCESS_LOG_JSON,
    ACCESS_LOG_TEXT,
    _Atoms,
    gunicorn_logger,
    redact_path,
)
from bridge.obs.logs import set_secrets


@pytest.fixture(autouse=True)
def no_secrets_configured() -> Iterator[None]:
    set_secrets([])
    yield
    set_secrets([])


# --- gunicorn's access log -----------------------------------------------------------------------


def test_paths_lose_person_and_page_ids() -> None:
    assert redact_path("/webhook") == "/webhook"
    assert (
        redact_path(
            "/local/lex/bots/B/botAliases/A/botLocales/en_US/sessions/2000000000000001/text"
        )
        == "/local/lex/bots/B/botAliases/A/botLocales/en_US/sessions/{id}/text"
    )
    assert redact_path("/v25.0/100000000000001/subscribed_apps") == "/v25.0/{id}/subscribed_apps"
    assert redact_path("/local/graph/v25.0/me/messages") == "/local/graph/v25.0/me/messages"


class _Response:
    def __init__(self, headers: list[tuple[str, str]], status: str = "200 OK") -> None:
        self.status = status
        self.sent = 14
        self.headers = headers


class _Request:
    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers


def access_line(
    fmt: str,
    environ: Mapping[str, object],
    request_headers: list[tuple[str, str]],
    status: str = "200 OK",
) -> str:
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", fmt)
    logger = gunicorn_logger("json" if fmt.startswith("{") else "text")(cfg)
    stream = io.StringIO()
    for handler in logger.access_log.handlers:
        if getattr(handler, "_gunicorn", False):
            handler.setStream(stream)
    base = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/webhook",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
    }
    logger.access(
        _Response([("X-Request-ID", "abcdef0123456789")], status),
        _Request(request_headers),
        {**base, **environ},
        timedelta(milliseconds=12),
    )
    return stream.getvalue().strip()


def test_the_access_log_is_one_json_object_without_query_or_credentials() -> None:
    set_secrets([LOCAL_VERIFY_TOKEN])
    line = access_line(
        ACCESS_LOG_JSON,
        {
            "PATH_INFO": '/we"b\\hook/2000000000000001',
            "QUERY_STRING": f"hub.verify_token={LOCAL_VERIFY_TOKEN}&hub.challenge=1",
            "RAW_URI": f"/webhook?hub.verify_token={LOCAL_VERIFY_TOKEN}",
            "HTTP_USER_AGENT": 'agent "quoted"\n',
        },
        [
            ("Authorization", "Bearer metrics-token-value"),
            ("X-Hub-Signature-256", "sha256=" + "a" * 64),
            ("X-Forwarded-For", "203.0.113.9"),
        ],
    )
    entry = json.loads(line)
    assert entry["path"] == '/we"b\\hook/{id}'
    assert entry["method"] == "POST" and entry["status"] == 200
    assert entry["bytes"] == 14 and entry["duration_ms"] == 12
    assert entry["remote_addr"] == "10.0.0.7" and entry["forwarded_for"] == "203.0.113.9"
    assert entry["request_id"] == "abcdef0123456789"
    assert entry["user_agent"] == 'agent "quoted"\n'
    assert entry["logger"] == "gunicorn.access"
    for leak in (LOCAL_VERIFY_TOKEN, "metrics-token-value", "a" * 64, "2000000000000001"):
        assert leak not in line


def test_credential_atoms_read_as_dashes_even_if_a_format_asks_for_them() -> None:
    fmt = "%(r)s|%(q)s|%({authorization}i)s|%({x-hub-signature-256}i)s|%({query_string}e)s"
    line = access_line(
        fmt,
        {"PATH_INFO": "/webhook", "QUERY_STRING": "hub.verify_token=tok"},
        [("Authorization", "Bearer tok"), ("X-Hub-Signature-256", "sha256=abc")],
    )
    assert line == "POST /webhook HTTP/1.1|-|-|-|-"


def test_local_modes_stand_ins_are_logged_only_when_they_fail() -> None:
    inbox = {"PATH_INFO": "/local/graph/inbox", "REQUEST_METHOD": "GET"}
    assert access_line(ACCESS_LOG_JSON, inbox, []) == ""  # the emulator polls it
    failed = access_line(
        ACCESS_LOG_JSON, {"PATH_INFO": "/local/graph/v25.0/me/messages"}, [], "500 X"
    )
    assert json.loads(failed)["status"] == 500
    assert access_line(ACCESS_LOG_JSON, {"PATH_INFO": "/localx"}, [])


def test_the_text_access_line_is_for_people() -> None:
    line = access_line(ACCESS_LOG_TEXT, {"PATH_INFO": "/healthz"}, [])
    assert '10.0.0.7 "POST /healthz" 200 14 12ms request_id=abcdef0123456789' in line


def test_the_apps_fields_end_the_access_line() -> None:
    summary = {"events": 2, "added": 1, "duplicates": 1, "mids": ["m_1", "m_2"]}
    line = access_line(ACCESS_LOG_JSON, {"PATH_INFO": "/webhook", ACCESS_FIELDS: summary}, [])
    entry = json.loads(line)
    assert summary.items() <= entry.items()
    assert (entry["status"], entry["request_id"]) == (200, "abcdef0123456789")
    text = access_line(ACCESS_LOG_TEXT, {"PATH_INFO": "/webhook", ACCESS_FIELDS: summary}, [])
    assert text.endswith(
        "request_id=abcdef0123456789 events=2 added=1 duplicates=1 mids=['m_1', 'm_2']"
    )
    assert "events" not in access_line(ACCESS_LOG_JSON, {"PATH_INFO": "/healthz"}, [])


@given(
    st.dictionaries(
        st.sampled_from(["events", "added", "mids", "reason"]),
        st.one_of(st.integers(), st.text(), st.lists(st.text(), max_size=3), st.none()),
    )
)
def test_any_fields_keep_the_json_access_line_one_object(fields: dict[str, object]) -> None:
    line = access_line(ACCESS_LOG_JSON, {"PATH_INFO": "/webhook", ACCESS_FIELDS: fields}, [])
    assert "\n" not in line  # one line, whatever the values hold
    entry = json.loads(line)
    assert {key: entry[key] for key in fields} == fields
    assert entry["path"] == "/webhook"


def error_logger() -> tuple[Any, io.StringIO]:
    """gunicorn's logger as gunicorn.conf.py makes it (JSON), its error log into a string."""
    cfg = Config()
    cfg.set("errorlog", "-")
    logger = gunicorn_logger("json")(cfg)
    stream = io.StringIO()
    for handler in logger.error_log.handlers:
        if getattr(handler, "_gunicorn", False):
            handler.setStream(stream)
    return logger, stream


def test_gunicorns_own_lines_use_the_bridge_format() -> None:
    logger, stream = error_logger()
    logger.info("Booting worker with pid: %s", 42)
    entry = json.loads(stream.getvalue())
    assert (entry["logger"], entry["message"]) == ("gunicorn.error", "Booting worker with pid: 42")


def error_lines(raised: BaseException) -> list[dict[str, object]]:
    """The error log's lines when gunicorn logs ``raised`` as it does a socket error."""
    logger, stream = error_logger()
    try:
        raise raised
    except BaseException:
        logger.exception("Socket error processing request.")
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("code", [errno.EAGAIN, errno.ETIMEDOUT])
def test_a_socket_that_timed_out_is_one_line_without_a_stack_trace(code: int) -> None:
    (entry,) = error_lines(BlockingIOError(code, os.strerror(code)))
    assert entry["level"] == "INFO"
    assert entry["message"] == (
        f"client took no answer in time; connection closed ({os.strerror(code)})"
    )
    assert "exc_info" not in entry and "Traceback" not in json.dumps(entry)


def test_other_errors_keep_their_stack_trace() -> None:
    (entry,) = error_lines(OSError(errno.EBADF, "Bad file descriptor"))
    assert (entry["level"], entry["message"]) == ("ERROR", "Socket error processing request.")
    assert "Traceback" in json.dumps(entry)


# --- only the atoms the format names: the same line as gunicorn's atoms made safe -----------

_HEADER_NAMES = st.sampled_from(
    [
        "X-Request-ID",
        "x-forwarded-for",
        "User-Agent",
        "Authorization",
        "X-Hub-Signature-256",
        "Cookie",
        "Content-Type",
        "X-Custom",
    ]
)
_ATOM_KEYS = st.sampled_from(
    [
        "h",
        "l",
        "u",
        "r",
        "s",
        "m",
        "U",
        "q",
        "H",
        "b",
        "B",
        "f",
        "a",
        "T",
        "D",
        "M",
        "L",
        "p",
        "{x-request-id}o",
        "{x-forwarded-for}i",
        "{authorization}i",
        "{x-hub-signature-256}i",
        "{cookie}i",
        "{user-agent}i",
        "{X-Custom}i",
        "{content-type}o",
        "{path_info}e",
        "zz",
    ]
)


def _reference_atoms(
    resp: object, req: object, environ: dict[str, str], elapsed: timedelta
) -> dict[str, object]:
    """What the access log gave before it built only the named atoms: every atom gunicorn's
    own ``atoms`` builds, with the path redacted and the unsafe ones deleted."""
    atoms: dict[str, object] = GunicornBaseLogger.atoms(
        gunicorn_logger("text")(Config()), resp, req, environ, elapsed
    )
    path = redact_path(str(environ.get("PATH_INFO") or "/"))
    atoms |= {"U": path, "q": "-", "B": atoms.get("B") or 0}
    atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
    hidden = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-hub-")
    return {
        key: value
        for key, value in atoms.items()
        if not key.endswith("}e") and not (key.startswith("{") and key[1:].startswith(hidden))
    }


@given(
    keys=st.lists(_ATOM_KEYS, min_size=1, max_size=8),
    request_headers=st.lists(st.tuples(_HEADER_NAMES, st.text(max_size=12)), max_size=5),
    path=st.text(max_size=30).map(lambda text: "/" + text),
    agent=st.none() | st.text(max_size=12),
    milliseconds=st.integers(min_value=0, max_value=90_000),
)
def test_the_line_is_gunicorns_atoms_made_safe(
    keys: list[str],
    request_headers: list[tuple[str, str]],
    path: str,
    agent: str | None,
    milliseconds: int,
) -> None:
    fmt = " ".join(f"%({key})s" for key in keys if key not in ("t",))
    environ = {"PATH_INFO": path, "QUERY_STRING": "a=1"} | (
        {} if agent is None else {"HTTP_USER_AGENT": agent}
    )
    base = {"REQUEST_METHOD": "POST", "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1"}
    elapsed = timedelta(milliseconds=milliseconds)
    resp = _Response([("X-Request-ID", "abc"), ("Content-Type", "text/plain")])
    expected = fmt % _Atoms(
        _reference_atoms(resp, _Request(request_headers), base | environ, elapsed)
    )
    cfg = Config()
    cfg.set("access_log_format", fmt)
    logger = gunicorn_logger("text")(cfg)
    atoms = logger.atoms(resp, _Request(request_headers), base | environ, elapsed)
    assert fmt % _Atoms(atoms) == expected
