"""The access line on stdout is written with one ``write``, past the logging module: the same
line as through logging, whole under concurrent requests; anything else goes through logging."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.obs.gunicorn_logs import (
    ACCESS_FIELDS,
    ACCESS_LOG_JSON,
    ACCESS_LOG_TEXT,
    GunicornLogger,
    gunicorn_logger,
)
from bridge.obs.logs import set_secrets


class _Response:
    status = "200 OK"
    sent = 15
    headers = [("X-Request-ID", "abcdef0123456789")]


class _Request:
    def __init__(self, user_agent: str) -> None:
        self.headers = [("User-Agent", user_agent)]


def _logger(fmt: str, accesslog: str = "-") -> GunicornLogger:
    cfg = Config()
    cfg.set("accesslog", accesslog)
    cfg.set("access_log_format", fmt)
    logger = gunicorn_logger("json" if fmt.startswith("{") else "text")(cfg)
    # Only gunicorn's own handler (pytest may have added its capture handlers).
    logger.access_log.handlers = [
        handler for handler in logger.access_log.handlers if getattr(handler, "_gunicorn", False)
    ]
    return logger


def _handler(logger: GunicornLogger) -> logging.StreamHandler[Any]:
    (handler,) = logger.access_log.handlers
    assert isinstance(handler, logging.StreamHandler)
    return handler


def _log(logger: GunicornLogger, user_agent: str = "agent", fields: object = None) -> None:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/webhook",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": user_agent,
    }
    if fields is not None:
        environ[ACCESS_FIELDS] = fields
    logger.access(_Response(), _Request(user_agent), environ, timedelta(milliseconds=3))


@pytest.fixture
def emits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The messages that went through a logging handler's ``emit``."""
    seen: list[str] = []
    original = logging.StreamHandler.emit

    def emit(self: logging.StreamHandler[Any], record: logging.LogRecord) -> None:
        seen.append(record.getMessage())
        original(self, record)

    monkeypatch.setattr(logging.StreamHandler, "emit", emit)
    return seen


@pytest.fixture
def stdout_file(tmp_path: Path) -> Iterator[io.TextIOWrapper]:
    with (tmp_path / "stdout").open("w", encoding="utf-8") as stream:
        yield stream


def _through_logging(fmt: str, user_agent: str, fields: object) -> str:
    logger = _logger(fmt)
    stream = io.StringIO()  # no descriptor: the logging path
    _handler(logger).setStream(stream)
    _log(logger, user_agent, fields)
    return stream.getvalue()


def _written(fmt: str, user_agent: str, fields: object, path: Path) -> str:
    logger = _logger(fmt)
    with path.open("w", encoding="utf-8") as stream:
        _handler(logger).setStream(stream)
        _log(logger, user_agent, fields)
    return path.read_text(encoding="utf-8")


def test_a_line_on_stdout_is_written_at_once_not_through_logging(
    emits: list[str], stdout_file: io.TextIOWrapper
) -> None:
    logger = _logger(ACCESS_LOG_JSON)
    _handler(logger).setStream(stdout_file)
    _log(logger, fields={"events": 1, "mids": ["m_1"]})
    assert emits == []
    entry = json.loads(Path(stdout_file.name).read_text(encoding="utf-8"))
    assert entry["path"] == "/webhook" and entry["status"] == 200
    assert entry["request_id"] == "abcdef0123456789" and entry["mids"] == ["m_1"]


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_FIELDS = st.dictionaries(
    st.sampled_from(["events", "added", "mids", "note"]),
    st.one_of(st.integers(), _TEXT, st.lists(_TEXT, max_size=3)),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(user_agent=_TEXT, fields=_FIELDS, fmt=st.sampled_from([ACCESS_LOG_JSON, ACCESS_LOG_TEXT]))
def test_the_written_line_is_the_line_logging_would_write(
    tmp_path_factory: pytest.TempPathFactory, user_agent: str, fields: object, fmt: str
) -> None:
    path = tmp_path_factory.mktemp("written") / "stdout"
    written = _written(fmt, user_agent, fields, path)
    logged = _through_logging(fmt, user_agent, fields)
    # The time (before the level) differs between the two calls; the rest is the same.
    assert written.endswith("\n") and written.partition("INFO")[2] == logged.partition("INFO")[2]
    if fmt is ACCESS_LOG_JSON:
        assert written.count("\n") == 1 and json.loads(written)["user_agent"] == user_agent


def test_secrets_are_scrubbed_from_the_written_line(stdout_file: io.TextIOWrapper) -> None:
    set_secrets(["s" * 32])
    try:
        logger = _logger(ACCESS_LOG_JSON)
        _handler(logger).setStream(stdout_file)
        _log(logger, user_agent="agent " + "s" * 32)
    finally:
        set_secrets([])
    assert "s" * 32 not in Path(stdout_file.name).read_text(encoding="utf-8")


def test_lines_of_concurrent_requests_stay_whole_in_a_pipe() -> None:
    logger = _logger(ACCESS_LOG_JSON)
    read_end, write_end = os.pipe()
    received = bytearray()
    reader = threading.Thread(target=lambda: received.extend(_read_all(read_end)))
    reader.start()
    with os.fdopen(write_end, "w", encoding="utf-8") as stream:
        _handler(logger).setStream(stream)
        agents = [f"agent-{n}-" + "x" * 900 for n in range(8)]
        workers = [threading.Thread(target=_repeat, args=(logger, agent)) for agent in agents]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    reader.join()
    lines = received.decode().splitlines()
    assert len(lines) == 8 * 200
    assert {json.loads(line)["user_agent"] for line in lines} == set(agents)


def _repeat(logger: GunicornLogger, user_agent: str) -> None:
    for _ in range(200):
        _log(logger, user_agent)


def _read_all(descriptor: int) -> bytes:
    chunks = []
    with os.fdopen(descriptor, "rb") as stream:
        while chunk := stream.read1(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_line_longer_than_a_pipe_takes_whole_goes_through_the_handler(
    emits: list[str], stdout_file: io.TextIOWrapper
) -> None:
    logger = _logger(ACCESS_LOG_JSON)
    _handler(logger).setStream(stdout_file)
    _log(logger, user_agent="u" * 6000)
    assert len(emits) == 1
    text = Path(stdout_file.name).read_text(encoding="utf-8")
    assert text.count("\n") == 1 and json.loads(text)["user_agent"] == "u" * 6000


def test_an_access_log_file_goes_through_logging(emits: list[str], tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    logger = _logger(ACCESS_LOG_JSON, accesslog=str(path))
    _log(logger)
    _handler(logger).close()
    assert len(emits) == 1  # a file is reopened on USR1 under the handler's lock
    assert json.loads(path.read_text())["path"] == "/webhook"


def test_a_failed_write_is_reported_on_the_error_log() -> None:
    logger = _logger(ACCESS_LOG_JSON)
    errors = io.StringIO()
    for handler in logger.error_log.handlers:
        handler.setStream(errors)
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the write fails (EPIPE)
    with os.fdopen(write_end, "w") as stream:
        _handler(logger).setStream(stream)
        _log(logger)
    assert "access log line not written" in errors.getvalue()
