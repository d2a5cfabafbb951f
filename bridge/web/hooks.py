"""Request hooks: every request gets an id and its log lines carry it; errors answer plainly.

The id is a proxy's ``X-Request-ID`` if it looks like one, else a new one; it is bound to the
request's log lines and sent back in ``X-Request-ID``, where gunicorn's access log reads it
(gunicorn.conf.py). For a webhook POST it is also the delivery id on the lines of its events'
delivery. No error answer carries a stack trace: the log has it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from bridge.obs.logs import bind, new_request_id, unbind

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"


def init_app(app: Flask) -> None:
    """Register the request id, log binding and error answers on ``app``."""
    app.before_request(_start_request)
    app.after_request(_tag_response)
    app.teardown_request(_end_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)


def _start_request() -> None:
    """Give the request an id (a proxy's X-Request-ID if valid) and put it on its log lines."""
    g.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.log_token = bind(request_id=g.request_id)


def _tag_response(response: Response) -> Response:
    # The access log reads it from here (gunicorn.conf.py); for a webhook POST it is also the
    # delivery id on the lines of its events' delivery.
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def _end_request(error: BaseException | None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        unbind(token)


def _http_error(error: HTTPException) -> Response:
    return Response(error.name, status=error.code or 500, mimetype="text/plain")


def _internal_error(error: Exception) -> Any:
    # Never a stack trace to a caller; the log has it.
    log.exception("unhandled error", exc_info=error)
    return Response("Internal Server Error", status=500, mimetype="text/plain")
