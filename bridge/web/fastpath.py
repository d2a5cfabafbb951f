"""The webhook POST in front of Flask: the request Meta sends most, answered without Flask's
request machinery (request context, URL matching, hooks, Response objects).

``WebhookFastPath`` wraps the Flask app's ``wsgi_app`` (bridge/app.py). It answers exactly
``POST /webhook`` itself, with the webhook's own function (``webhook.receive_delivery``: the
same reading, limit, signature check, recording, parsing, enqueue, metrics and log lines as
Flask's route), and does what the request hooks (bridge/web/hooks.py) do for it: a request id
bound to its log lines and sent back in ``X-Request-ID`` (the access log reads it there), a
plain answer, and no stack trace to the caller on an error. Every other request, including
``GET``/``HEAD /webhook``, goes to Flask unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from bridge.obs.logs import log_context, new_request_id
from bridge.web.hooks import REQUEST_ID_HEADER
from bridge.web.services import Services
from bridge.web.webhook import receive_delivery

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

PATH = "/webhook"
_REQUEST_ID_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
# Flask's plain answers, as werkzeug writes them.
_CONTENT_TYPE = ("Content-Type", "text/plain; charset=utf-8")


def status_line(code: int) -> str:
    """The status as werkzeug writes it (``403 FORBIDDEN``), so answers read as before."""
    return f"{code} {HTTP_STATUS_CODES.get(code, 'UNKNOWN').upper()}"


def plain_answer(
    code: int, text: str, request_id: str | None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """A plain answer as Flask writes it: the status line, the headers (the request id too,
    if known) and the body."""
    body = text.encode()
    headers = [_CONTENT_TYPE, ("Content-Length", str(len(body)))]
    if request_id is not None:
        headers.append((REQUEST_ID_HEADER, request_id))
    return status_line(code), headers, body


class WebhookFastPath:
    """WSGI middleware: ``POST /webhook`` answered here, everything else by ``app``."""

    def __init__(self, app: WSGIApplication, services: Services) -> None:
        self.app = app
        self.services = services

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        request_id = new_request_id(environ.get(_REQUEST_ID_KEY))
        with log_context(request_id=request_id):
            status, text = self._answer(environ, request_id)
        status_text, headers, body = plain_answer(status, text, request_id)
        start_response(status_text, headers)
        return [body]

    def _answer(self, environ: WSGIEnvironment, request_id: str) -> tuple[int, str]:
        """The status and text, as Flask's route and error handlers would answer."""
        try:
            return receive_delivery(self.services, environ, delivery_id=request_id)
        except RequestEntityTooLarge as error:
            return error.code or 413, error.name
        except Exception as error:  # never a stack trace to a caller; the log has it
            log.exception("unhandled error", exc_info=error)
            return 500, "Internal Server Error"
