"""A lean Lex V2 runtime client: RecognizeText only, without botocore's service model.

A botocore client loads the ``lexv2-runtime`` service model and runs its generic machinery on
every call (event hooks, serializer, endpoint rules, parser): built and called once, about
7.5 MB of a process's own memory, and 1.1-1.15 ms of CPU a call against an instant local fake,
where this client takes 0.1 MB and 0.75-0.8 ms. It does what that machinery does for the one
call the bridge makes, with botocore's own pieces for the parts that matter:

- the request: ``POST /bots/{botId}/botAliases/{botAliasId}/botLocales/{localeId}/sessions/
  {sessionId}/text`` (segments percent-encoded as botocore does), a JSON body of ``text``,
  ``sessionState`` and ``requestAttributes``, signed with ``botocore.auth.SigV4Auth``
  (signing name ``lex``) with credentials frozen per call from boto3's credential chain
  (refreshable credentials refresh as in botocore);
- HTTP: botocore's ``URLLib3Session`` (one keep-alive pool of 10 connections, the same
  proxies, CA bundle and TCP keepalive settings), no retries, and its exceptions
  (``EndpointConnectionError``, ``ConnectTimeoutError``, ``ReadTimeoutError``,
  ``ConnectionClosedError``...) re-raised with the endpoint only, not the URL with the PSID;
- the answer: the JSON body as a dict plus ``ResponseMetadata`` (``RequestId``,
  ``HTTPStatusCode``, ``HTTPHeaders``, ``RetryAttempts``); an HTTP error becomes a
  ``ClientError`` for operation ``RecognizeText`` whose ``Error`` (``Code``, ``Message``) is
  read as botocore's rest-json parser reads it, so ``lexclient.to_bot_error`` classifies
  both clients' failures alike. Unlike botocore, keys outside the service model and ``null``
  values are kept, and numbers are not coerced to the model's types; the bridge reads neither.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import socket
from collections.abc import Mapping
from typing import Any

import boto3
import botocore
import botocore.credentials
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.httpsession import URLLib3Session
from botocore.utils import get_environ_proxies, percent_encode, validate_region_name

from bridge import __version__
from bridge.bots.lexclient import CONNECT_TIMEOUT, LOCAL_REGION, REGION_MISSING
from bridge.bots.lexendpoint import checked_url, lexv2_endpoint
from bridge.config.settings import Settings
from bridge.errors import ConfigError

OPERATION = "RecognizeText"
SIGNING_NAME = "lex"  # the service model's signingName
_PATH = "/bots/{}/botAliases/{}/botLocales/{}/sessions/{}/text"
MAX_POOL_CONNECTIONS = 10  # botocore's default
# The service model's error shapes (each has one member, ``message``).
MODELED_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "BadGatewayException",
        "ConflictException",
        "DependencyFailedException",
        "InternalServerException",
        "ResourceNotFoundException",
        "ThrottlingException",
        "ValidationException",
    }
)


def make_lean_lexv2_client(settings: Settings) -> LexV2RuntimeClient:
    """The lean client, configured as ``lexclient.make_runtime_client`` configures botocore's:
    with ``settings.lex.endpoint_url`` (local mode) that endpoint and dummy credentials;
    otherwise boto3's Region and credential chain and the endpoint botocore would use
    (``bridge.bots.lexendpoint``)."""
    core = botocore.session.get_session()
    session = boto3.session.Session(botocore_session=core, region_name=settings.lex.region)
    if settings.lex.endpoint_url:
        region = session.region_name or LOCAL_REGION
        endpoint = checked_url(settings.lex.endpoint_url)
        credentials: Any = botocore.credentials.Credentials("local", "local")
    else:
        if session.region_name is None:
            raise ConfigError([REGION_MISSING])
        region = session.region_name
        validate_region_name(region)
        endpoint = lexv2_endpoint(core, region, os.environ)
        credentials = session.get_credentials()
    return LexV2RuntimeClient(
        endpoint_url=endpoint,
        region=region,
        credentials=credentials,
        user_agent=f"messenger-lex-bridge/{__version__} md/Botocore#{botocore.__version__} "
        f"lang/python#{platform.python_version()}",
        http_options=_http_options(core, endpoint, settings.lex.read_timeout),
    )


def _http_options(core: Any, endpoint: str, read_timeout: float) -> dict[str, Any]:
    """``URLLib3Session``'s arguments as botocore's endpoint builds them for a client."""
    ca_bundle = core.get_config_variable("ca_bundle")  # AWS_CA_BUNDLE or the profile's
    verify = ca_bundle if ca_bundle is not None else os.environ.get("REQUESTS_CA_BUNDLE", True)
    socket_options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    if core.get_config_variable("tcp_keepalive"):
        socket_options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
    return {
        "timeout": (CONNECT_TIMEOUT, read_timeout),
        "proxies": get_environ_proxies(endpoint),
        "verify": verify,
        "max_pool_connections": MAX_POOL_CONNECTIONS,
        "socket_options": socket_options,
    }


class LexV2RuntimeClient:
    """``recognize_text`` as a botocore ``lexv2-runtime`` client has it; thread-safe.

    ``credentials`` is botocore's credentials object (None: every call raises
    ``NoCredentialsError``, as botocore's does); ``http`` makes the connection pool, again in
    a child process after a fork (a pooled connection is never shared by two processes).
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        credentials: Any,
        user_agent: str,
        http_options: Mapping[str, Any],
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region_name = region
        self.user_agent = user_agent
        self.http_options = dict(http_options)
        self._credentials = credentials
        self._pid = os.getpid()
        self._http = URLLib3Session(**self.http_options)

    def recognize_text(
        self,
        *,
        botId: str,
        botAliasId: str,
        localeId: str,
        sessionId: str,
        text: str,
        sessionState: Mapping[str, Any] | None = None,
        requestAttributes: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One RecognizeText call (the API's parameter names, as botocore's client takes them):
        the decoded answer, or a botocore exception."""
        path = _PATH.format(*(percent_encode(v) for v in (botId, botAliasId, localeId, sessionId)))
        body: dict[str, Any] = {"text": text}
        if sessionState is not None:
            body["sessionState"] = sessionState
        if requestAttributes is not None:
            body["requestAttributes"] = requestAttributes
        request = AWSRequest(
            method="POST",
            url=self.endpoint_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "User-Agent": self.user_agent},
        )
        self._sign(request)
        return to_answer(self._send(request))

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def _sign(self, request: AWSRequest) -> None:
        if self._credentials is None:
            raise NoCredentialsError()
        frozen = self._credentials.get_frozen_credentials()
        SigV4Auth(frozen, SIGNING_NAME, self.region_name).add_auth(request)

    def _send(self, request: AWSRequest) -> Any:
        if self._pid != os.getpid():  # forked: this process makes its own connections
            self._pid, self._http = os.getpid(), URLLib3Session(**self.http_options)
        try:
            return self._http.send(request.prepare())
        except (BotocoreConnectionError, HTTPClientError) as exc:
            raise _without_path(exc, self.endpoint_url) from None


def _without_path(exc: Exception, endpoint_url: str) -> Exception:
    """The same botocore exception naming the endpoint only: the URL's path holds the PSID."""
    kwargs = {name: value for name, value in getattr(exc, "kwargs", {}).items()}
    kwargs.pop("request", None)
    if "endpoint_url" in kwargs:
        kwargs["endpoint_url"] = endpoint_url
    return type(exc)(**kwargs)


def to_answer(response: Any) -> dict[str, Any]:
    """A botocore ``AWSResponse`` as RecognizeText's answer; an HTTP error as ``ClientError``."""
    status: int = response.status_code
    headers = {name.lower(): value for name, value in response.headers.items()}
    metadata: dict[str, Any] = {"HTTPStatusCode": status, "HTTPHeaders": headers}
    metadata |= {"RetryAttempts": 0, "MaxAttemptsReached": True}  # one attempt, as configured
    if status >= 300:
        raise ClientError(error_response(status, headers, response.content, metadata), OPERATION)
    if "x-amzn-requestid" in headers:
        metadata["RequestId"] = headers["x-amzn-requestid"]
    body = _json_object(response.content)
    return (body if body is not None else {}) | {"ResponseMetadata": metadata}


def error_response(
    status: int, headers: Mapping[str, str], content: bytes, metadata: dict[str, Any]
) -> dict[str, Any]:
    """An error answer as botocore's rest-json parser reads it: ``Code`` from
    ``x-amzn-ErrorType``, else the body's ``code`` or ``__type``, else the HTTP status; a 5xx
    without a body (or an HTML page from a proxy) is named by its status alone; an error the
    service model names (``MODELED_ERRORS``) also has the body's ``message`` at the top."""
    stripped = content.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        error = {"Code": str(status), "Message": http.client.responses.get(status, "")}
        return {"Error": error, "ResponseMetadata": metadata}
    parsed = _json_object(content)
    body = parsed if parsed is not None else _text_body(content)
    code: object = body.get("__type", str(status))
    if "x-amzn-errortype" in headers:
        code = headers["x-amzn-errortype"]
    elif "code" in body or "Code" in body:
        code = body.get("code", body.get("Code", ""))
    if isinstance(code, str):
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    if "x-amzn-requestid" in headers:
        metadata["RequestId"] = headers["x-amzn-requestid"]
    message = body.get("message", body.get("Message", ""))
    answer = {"Error": {"Message": message, "Code": code}, "ResponseMetadata": metadata}
    if code in MODELED_ERRORS and body.get("message") is not None:
        answer["message"] = body["message"]
    return answer


def _json_object(content: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; {} when empty, None when it is not a JSON object."""
    if not content:
        return {}
    try:
        parsed = json.loads(content)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _text_body(content: bytes) -> dict[str, Any]:
    """A body that is not JSON, as botocore keeps it: the text is the message."""
    return {"message": content.decode("utf-8", errors="replace")}
