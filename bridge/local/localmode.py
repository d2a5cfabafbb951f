"""Local mode: a Lex V2 runtime endpoint and a Graph API inbox, served by the bridge itself.

Only registered when ``BRIDGE_MODE=local`` and only answering loopback clients. The Lex
endpoint speaks the real RecognizeText wire format (boto3 is pointed at it), the inbox
checks each Send API call the way Graph does (token, appsecret_proof, Messenger's limits)
and records it. Both keep their state in one SQLite file so every server process sees it.
Both can be told to fail (``/local/faults``, see bridge/local/faults.py). With
``BRIDGE_PAGES_FILE`` the Graph side serves every Page of the file: a call's token says which
Page it is for, and a fault may name the Page it applies to.

For ``python -m bridge setup`` and ``check``, the Graph side also answers the Page's webhook
subscription (``/{page}/subscribed_apps``: a local bridge starts subscribed to the bridge's
fields, as a set-up Page is; DELETE unsubscribes it, as Meta does after failed deliveries), the
Messenger Profile API (``/me/messenger_profile``, validated like ``setup`` validates a file) and
``/debug_token`` (for the app token ``LOCAL_APP_ID|<app secret>``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from bridge.config.hosts import is_loopback_host
from bridge.config.settings import LOCAL_LEX_BOT_ID, LOCAL_PAGE_ID, LOCAL_PREFIX, Settings
from bridge.errors import FaultError
from bridge.local import faults as localfaults
from bridge.local.sample_bot import front as sample_bot
from bridge.messenger.graph import SENDER_ACTIONS
from bridge.messenger.limits import message_problems, units
from bridge.messenger.profile import PROFILE_FIELDS, SUBSCRIBED_FIELDS, validate_profile
from bridge.messenger.signature import appsecret_proof, tokens_match
from bridge.queue.sqlite.connections import PerThread, while_locked

bp = Blueprint("local", __name__, url_prefix=LOCAL_PREFIX)

_LEX_TEXT = (
    "/lex/bots/<bot_id>/botAliases/<alias_id>/botLocales/<locale_id>/sessions/<session_id>/text"
)
PROOF_WINDOW = 300
LOCAL_PAGE_NAME = "Local Test Page"
LOCAL_APP_ID = "100000000000002"
LOCAL_APP_NAME = "messenger-lex-bridge (local)"
# Messenger webhook fields a Page subscription may name (POST /{page}/subscribed_apps).
WEBHOOK_FIELDS = (
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "messaging_referrals",
    "message_deliveries",
    "message_reads",
    "messaging_handovers",
    "standby",
    "messaging_policy_enforcement",
    "message_echoes",
    "message_reactions",
    "message_edits",
    "messaging_account_linking",
    "messaging_game_plays",
    "messaging_feedback",
    "messaging_customer_information",
    "messaging_seen",
    "inbox_labels",
    "response_feedback",
    "send_cart",
)
_sleep = time.sleep  # a fault's delay; tests replace it
CARD_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="382" height="200"
viewBox="0 0 382 200">
<rect width="382" height="200" fill="#0866ff"/><circle cx="96" cy="100" r="56" fill="#fff"/>
<path d="M66 118l22-34 16 18 20-22 -6 38z" fill="#0866ff"/>
<text x="170" y="92" font-family="sans-serif" font-size="26" fill="#fff">Messenger</text>
<text x="170" y="126" font-family="sans-serif" font-size="26" fill="#fff">Lex Bridge</text></svg>"""
CONDITIONS_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="382" height="200"
viewBox="0 0 382 200">
<rect width="382" height="200" fill="#e8f6f3"/>
<rect x="48" y="34" width="112" height="140" rx="14" fill="#fff" stroke="#0f8b7d" stroke-width="4"/>
<rect x="80" y="24" width="48" height="20" rx="6" fill="#0f8b7d"/>
<path d="M94 70h20v20h20v20h-20v20h-20v-20h-20v-20h20z" fill="#e5484d"/>
<g fill="#0f8b7d"><circle cx="200" cy="66" r="7"/><circle cx="200" cy="100" r="7"/>
<circle cx="200" cy="134" r="7"/></g>
<g fill="#9fd6cd"><rect x="218" y="60" width="118" height="12" rx="6"/>
<rect x="218" y="94" width="96" height="12" rx="6"/><rect x="218" y="128" width="108" height="12"
rx="6"/></g></svg>"""


_LOCAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY, recipient TEXT NOT NULL,
                                  body TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS inbox_recipient ON inbox (recipient, seq);
CREATE TABLE IF NOT EXISTS lex_sessions (session_id TEXT PRIMARY KEY, attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS page_subscription (page TEXT PRIMARY KEY, fields TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messenger_profile (field TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_INBOX_ADDED = {"page": "TEXT NOT NULL DEFAULT ''"}  # the Page whose token made the call


class LocalStore:
    """The inbox of sends, the sample bot's sessions, the faults to inject and the Lex calls in
    progress, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connections = PerThread(self._open)
        path.parent.mkdir(parents=True, exist_ok=True)
        schema = _LOCAL_SCHEMA + localfaults.SCHEMA
        while_locked(lambda: self._db().executescript(schema), path, 10)
        present = {row[1] for row in self._db().execute("PRAGMA table_info(inbox)")}
        for column, definition in _INBOX_ADDED.items():
            if column not in present:
                self._db().execute(f"ALTER TABLE inbox ADD COLUMN {column} {definition}")

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        while_locked(lambda: db.execute("PRAGMA journal_mode=WAL"), self.path, 10)
        return db

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def record(self, recipient: str, body: dict[str, Any], page: str = "") -> int:
        cursor = self._db().execute(
            "INSERT INTO inbox (recipient, body, at, page) VALUES (?, ?, ?, ?)",
            (recipient, json.dumps(body, ensure_ascii=False), time.time(), page),
        )
        return int(cursor.lastrowid or 0)

    def entries(
        self, *, recipient: str | None, after: int, page: str | None = None
    ) -> list[dict[str, Any]]:
        sql = "SELECT seq, recipient, body, at, page FROM inbox WHERE seq > ?"
        params: list[object] = [after]
        if recipient:
            sql += " AND recipient = ?"
            params.append(recipient)
        if page:
            sql += " AND page = ?"
            params.append(page)
        rows = self._db().execute(sql + " ORDER BY seq", params).fetchall()
        return [
            {"seq": seq, "recipient": to, "body": json.loads(body), "at": at, "page": sender}
            for seq, to, body, at, sender in rows
        ]

    def session(self, session_id: str) -> dict[str, str]:
        row = (
            self._db()
            .execute("SELECT attributes FROM lex_sessions WHERE session_id = ?", (session_id,))
            .fetchone()
        )
        return {} if row is None else dict(json.loads(row[0]))

    def save_session(self, session_id: str, attributes: dict[str, str]) -> None:
        self._db().execute(
            "INSERT INTO lex_sessions (session_id, attributes) VALUES (?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET attributes = excluded.attributes",
            (session_id, json.dumps(attributes, ensure_ascii=False)),
        )

    def subscribed_fields(self, page: str) -> list[str]:
        """The app's webhook fields on ``page``; a Page never changed has the bridge's own."""
        row = (
            self._db()
            .execute("SELECT fields FROM page_subscription WHERE page = ?", (page,))
            .fetchone()
        )
        return list(SUBSCRIBED_FIELDS) if row is None else list(json.loads(row[0]))

    def set_subscribed_fields(self, page: str, fields: list[str]) -> None:
        self._db().execute(
            "INSERT INTO page_subscription (page, fields) VALUES (?, ?)"
            " ON CONFLICT (page) DO UPDATE SET fields = excluded.fields",
            (page, json.dumps(fields)),
        )

    def profile(self) -> dict[str, Any]:
        rows = self._db().execute("SELECT field, value FROM messenger_profile").fetchall()
        return {name: json.loads(value) for name, value in rows}

    def set_profile(self, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            self._db().execute(
                "INSERT INTO messenger_profile (field, value) VALUES (?, ?)"
                " ON CONFLICT (field) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value, ensure_ascii=False)),
            )

    def delete_profile(self, fields: list[str]) -> None:
        for name in fields:
            self._db().execute("DELETE FROM messenger_profile WHERE field = ?", (name,))

    def add_faults(self, target: str, faults: Sequence[object]) -> int:
        """Validate and queue ``faults`` (each ``count`` times); raises ``FaultError``."""
        return localfaults.add(self._db(), target, faults)

    def take_fault(self, target: str, page: str | None = None) -> dict[str, Any] | None:
        """The oldest fault for ``target`` (and for ``page``, or for any Page), consumed unless
        sticky; atomic across processes."""
        return localfaults.take(self._db(), target, page)

    def clear_faults(self, target: str | None = None) -> int:
        return localfaults.clear(self._db(), target)

    def list_faults(self) -> list[dict[str, Any]]:
        return localfaults.pending(self._db())

    @contextmanager
    def lex_call(self) -> Iterator[None]:
        """Count a RecognizeText call as in progress (in every process) while inside."""
        call = localfaults.lex_call_started(self._db())
        try:
            yield
        finally:
            localfaults.lex_call_ended(self._db(), call)

    def active_lex_calls(self) -> int:
        return localfaults.lex_calls_active(self._db())


def local_store_path(settings: Settings) -> Path:
    """The local-mode state file, beside the queue database."""
    return settings.db_path.with_name(settings.db_path.stem + "-local.db")


def init_app(app: Flask, settings: Settings) -> None:
    """Register the local endpoints on ``app``."""
    app.extensions["bridge_local"] = LocalStore(local_store_path(settings))
    app.register_blueprint(bp)


def _store() -> LocalStore:
    store: LocalStore = current_app.extensions["bridge_local"]
    return store


def _settings() -> Settings:
    settings: Settings = current_app.extensions["bridge"].settings
    return settings


def _take_fault(target: str, page: str | None = None) -> dict[str, Any] | None:
    """The next fault for ``target`` (a Graph call: for the caller's Page), after waiting out
    its delay."""
    fault = _store().take_fault(target, page)
    if fault is not None:
        _sleep(fault.get("delay", 0))
    return fault


@bp.before_request
def _loopback_only() -> Response | None:
    if is_loopback_host(request.remote_addr):
        return None
    return Response("Not Found", status=404, mimetype="text/plain")


# --- Lex V2 runtime -----------------------------------------------------------------------


def _lex_error(status: int, error_type: str, message: str) -> Response:
    response = jsonify({"message": message})
    response.status_code = status
    response.headers["x-amzn-ErrorType"] = error_type
    return response


def _is_unicode(text: str) -> bool:
    """False for text with lone surrogates (valid JSON escapes, but not valid Unicode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@bp.post(_LEX_TEXT)
def recognize_text(bot_id: str, alias_id: str, locale_id: str, session_id: str) -> Response:
    """RecognizeText for the sample bot, in Lex V2's rest-json wire format (or a fault)."""
    with _store().lex_call():
        fault = _take_fault("lex")
        if fault is not None and "status" in fault:
            return _lex_error(fault["status"], fault["type"], fault["message"])
        return _recognize_text(bot_id, session_id)


def _recognize_text(bot_id: str, session_id: str) -> Response:
    if bot_id != LOCAL_LEX_BOT_ID:
        return _lex_error(404, "ResourceNotFoundException", f"bot {bot_id} not found")
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not 1 <= units(text) <= 1024 or not _is_unicode(text):
        return _lex_error(400, "ValidationException", "text must be 1-1024 characters")
    store = _store()
    session_state = body.get("sessionState") if isinstance(body, dict) else None
    stored = store.session(session_id)
    sent = session_state.get("sessionAttributes") if isinstance(session_state, dict) else None
    if sent is not None:
        if not isinstance(sent, dict) or not all(isinstance(v, str) for v in sent.values()):
            return _lex_error(400, "ValidationException", "sessionAttributes must map to strings")
        stored = dict(sent)  # a sent map replaces the stored one, as in Lex
    turn = sample_bot.respond(text, stored, asset_base=f"{_settings().local_base_url}/assets")
    store.save_session(session_id, turn.session_attributes)
    attributes = body.get("requestAttributes") if isinstance(body, dict) else None
    return jsonify(
        sample_bot.recognize_text_response(
            session_id=session_id,
            turn=turn,
            request_attributes=attributes if isinstance(attributes, dict) else {},
        )
    )


@bp.get("/assets/card.svg")
def card_image() -> Response:
    return Response(CARD_SVG, mimetype="image/svg+xml")


@bp.get("/assets/conditions.svg")
def conditions_image() -> Response:
    """The picture on the sample bot's list of conditions."""
    return Response(CONDITIONS_SVG, mimetype="image/svg+xml")


# --- Graph API inbox -----------------------------------------------------------------------


def _graph_error(status: int, code: int, message: str, subcode: int | None = None) -> Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "LOCAL",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    response = jsonify({"error": error})
    response.status_code = status
    return response


def _graph_fault_error(fault: dict[str, Any]) -> Response:
    return _graph_error(fault["status"], fault["code"], fault["message"], fault.get("subcode"))


def _with_headers(response: Response, fault: dict[str, Any] | None) -> Response:
    response.headers.update((fault or {}).get("headers", {}))
    return response


@bp.post("/graph/<version>/me/messages")
def send_api(version: str) -> Response:
    """Check a Send API call as Graph would, record it, and answer like Graph (or a fault)."""
    page, problem = _caller(_settings())
    if problem:
        return _graph_error(401, 190, problem)
    fault = _take_fault("graph", page)
    if fault is None or "status" not in fault:
        return _with_headers(_send(request.get_json(silent=True), page), fault)
    if fault.get("record"):
        _send(request.get_json(silent=True), page)  # recorded if valid; answered below
    return _with_headers(_graph_fault_error(fault), fault)


@bp.post("/graph/<version>/me/pass_thread_control")
def pass_thread_control(version: str) -> Response:
    """Pass a conversation to another app (the Page Inbox), checked as Graph would; recorded in
    the inbox with the other calls, so what the bridge did can be seen."""
    _, page, refused = _page_call()
    if refused is not None:
        return refused
    body = request.get_json(silent=True)
    problem = _invalid_pass(body)
    if problem is not None or not isinstance(body, dict):
        return _graph_error(400, 100, f"(#100) {problem}")
    _store().record(body["recipient"]["id"], body, page)
    return jsonify({"success": True})


def _invalid_pass(body: object) -> str | None:
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    recipient = body.get("recipient")
    psid = recipient.get("id") if isinstance(recipient, dict) else None
    if not isinstance(psid, str) or not psid:
        return "The parameter recipient is required"
    target = body.get("target_app_id")
    if isinstance(target, bool) or not (
        isinstance(target, int) or (isinstance(target, str) and target.isdigit())
    ):
        return "The parameter target_app_id is required"
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) >= 1000):
        return "metadata must be a string of fewer than 1000 characters"
    return None


def _send(body: object, page: str) -> Response:
    if not isinstance(body, dict):
        return _graph_error(400, 100, "(#100) The request body must be a JSON object")
    recipient = body.get("recipient")
    psid = recipient.get("id") if isinstance(recipient, dict) else None
    if not isinstance(psid, str) or not psid:
        return _graph_error(400, 100, "(#100) The parameter recipient is required")
    invalid = _invalid_send(body)
    if invalid:
        return _graph_error(400, 100, f"(#100) {invalid}")
    seq = _store().record(psid, body, page)
    if "sender_action" in body:
        return jsonify({"recipient_id": psid})  # Graph gives no message id for an action
    return jsonify({"recipient_id": psid, "message_id": f"m_local_{seq}"})


def local_pages(settings: Settings) -> dict[str, str]:
    """Page token → Page id, for every Page the local Graph serves."""
    if settings.pages:
        return {page.access_token: page.page_id for page in settings.pages}
    return {settings.page_access_token: settings.page_id or LOCAL_PAGE_ID}


def _page_of(settings: Settings, token: str | None) -> str | None:
    """The Page whose token ``token`` is (compared in constant time), if any."""
    found = None
    for known, page in local_pages(settings).items():
        if tokens_match(known, token):
            found = page
    return found


def _caller(settings: Settings) -> tuple[str, str | None]:
    """The Page of the call's token, and what Graph would refuse about the call (if
    anything): the token, or the appsecret_proof made with it."""
    header = request.headers.get("Authorization", "")
    token = (
        header[len("Bearer ") :]
        if header.startswith("Bearer ")
        else request.args.get("access_token")
    )
    page = _page_of(settings, token)
    if page is None or token is None:
        return "", "Invalid OAuth access token"
    proof = request.args.get("appsecret_proof", "")
    moment = request.args.get("appsecret_time", "")
    if not proof and not moment:
        # Graph's words for an app with "Require App Secret" on, as the local Page behaves.
        return page, "API calls from the server require an appsecret_proof argument"
    if not moment.isdigit() or abs(time.time() - int(moment)) > PROOF_WINDOW:
        return page, "appsecret_time is missing or expired"
    if not tokens_match(appsecret_proof(settings.app_secret, token, int(moment)), proof):
        return page, "Invalid appsecret_proof provided in the API argument"
    return page, None


def _invalid_send(body: dict[str, Any]) -> str | None:
    action = body.get("sender_action")
    if action is not None:
        if "message" in body:
            return "sender_action cannot be sent with a message"
        return None if action in SENDER_ACTIONS else f"unknown sender_action {action!r}"
    if body.get("messaging_type") != "RESPONSE":
        return "messaging_type must be RESPONSE for a reply"
    problems = message_problems(body.get("message"))
    return "; ".join(problems) if problems else None


@bp.get("/graph/<version>/me")
def me(version: str) -> Response:
    """The Page behind the token: what the bridge calls to probe a paused Page."""
    settings = _settings()
    page, problem = _caller(settings)
    if problem:
        return _graph_error(401, 190, problem)
    fault = _take_fault("graph", page)
    if fault is not None and "status" in fault:
        return _with_headers(_graph_fault_error(fault), fault)
    names = {config.page_id: config.name for config in settings.pages}
    return _with_headers(jsonify({"id": page, "name": names.get(page) or LOCAL_PAGE_NAME}), fault)


def _page_call() -> tuple[Settings, str, Response | None]:
    """Settings, the caller's Page, and an error response if the call's token/proof is wrong
    or a fault is due."""
    settings = _settings()
    page, problem = _caller(settings)
    if problem:
        return settings, page, _graph_error(401, 190, problem)
    fault = _take_fault("graph", page)
    if fault is not None and "status" in fault:
        return settings, page, _with_headers(_graph_fault_error(fault), fault)
    return settings, page, None


def _unknown_object(node: str) -> Response:
    return _graph_error(
        400,
        100,
        f"Unsupported request. Object with ID '{node}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation",
        33,
    )


@bp.route("/graph/<version>/<node>/subscribed_apps", methods=["GET", "POST", "DELETE"])
def subscribed_apps(version: str, node: str) -> Response:
    """The app's webhook subscription on the Page: list, set (POST ?subscribed_fields=…),
    remove (DELETE, as Meta does after an hour of failed deliveries)."""
    _, page, refused = _page_call()
    if refused is not None:
        return refused
    if node not in (page, "me"):
        return _unknown_object(node)
    store = _store()
    if request.method == "GET":
        fields = store.subscribed_fields(page)
        apps = [{"id": LOCAL_APP_ID, "name": LOCAL_APP_NAME, "subscribed_fields": fields}]
        return jsonify({"data": apps if fields else []})
    if request.method == "DELETE":
        store.set_subscribed_fields(page, [])
        return jsonify({"success": True})
    raw = request.args.get("subscribed_fields") or request.form.get("subscribed_fields") or ""
    fields = [name.strip() for name in raw.split(",") if name.strip()]
    if not fields:
        return _graph_error(400, 100, "(#100) The parameter subscribed_fields is required")
    for index, name in enumerate(fields):
        if name not in WEBHOOK_FIELDS:
            return _graph_error(
                400,
                100,
                f"(#100) Param subscribed_fields[{index}] must be one of "
                f'{{{", ".join(WEBHOOK_FIELDS)}}} - got "{name}"',
            )
    store.set_subscribed_fields(page, list(dict.fromkeys(fields)))
    return jsonify({"success": True})


@bp.route("/graph/<version>/me/messenger_profile", methods=["GET", "POST", "DELETE"])
def messenger_profile(version: str) -> Response:
    """The Messenger Profile API: GET ?fields=…, POST the fields to set, DELETE {"fields"}."""
    _, _, refused = _page_call()
    if refused is not None:
        return refused
    store = _store()
    if request.method == "GET":
        wanted = [f for f in request.args.get("fields", "").split(",") if f]
        if not wanted:
            return _graph_error(400, 100, "(#100) The parameter fields is required")
        profile = {k: v for k, v in store.profile().items() if k in wanted}
        return jsonify({"data": [profile] if profile else []})
    body = request.get_json(silent=True)
    if request.method == "DELETE":
        names = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(names, list) or not names or not all(n in PROFILE_FIELDS for n in names):
            return _graph_error(
                400, 100, f"(#100) fields must list some of {', '.join(PROFILE_FIELDS)}"
            )
        store.delete_profile(names)
        return jsonify({"result": "success"})
    if not isinstance(body, dict) or not body:
        return _graph_error(400, 100, "(#100) The request body must name the fields to set")
    problems = validate_profile(body)
    if problems:
        return _graph_error(400, 100, f"(#100) {problems[0]}")
    current = store.profile()
    if "persistent_menu" in body and "get_started" not in {**current, **body}:
        return _graph_error(
            400,
            100,
            "(#100) You must set a Get Started button if you also wish to use persistent menu.",
        )
    store.set_profile(body)
    return jsonify({"result": "success"})


@bp.get("/graph/<version>/debug_token")
def debug_token(version: str) -> Response:
    """What Graph knows about ``input_token``, asked with the app token ``LOCAL_APP_ID|secret``."""
    settings = _settings()
    header = request.headers.get("Authorization", "")
    app_token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
    app_id, _, secret = app_token.partition("|")
    if app_id != LOCAL_APP_ID or not tokens_match(settings.app_secret, secret):
        return _graph_error(400, 190, "Invalid OAuth access token signature.")
    page = _page_of(settings, request.args.get("input_token"))
    if page is None:
        return jsonify(
            {
                "data": {
                    "app_id": LOCAL_APP_ID,
                    "is_valid": False,
                    "error": {"code": 190, "message": "Invalid OAuth access token."},
                    "scopes": [],
                }
            }
        )
    return jsonify(
        {
            "data": {
                "app_id": LOCAL_APP_ID,
                "type": "PAGE",
                "application": LOCAL_APP_NAME,
                "data_access_expires_at": 0,
                "expires_at": 0,
                "is_valid": True,
                "profile_id": page,
                "scopes": ["pages_messaging", "pages_manage_metadata", "pages_show_list"],
                "user_id": "100000000000003",
            }
        }
    )


@bp.get("/graph/inbox")
def inbox() -> Response:
    """What the bridge sent, oldest first: ``?recipient=<psid>&after=<seq>&page=<page id>``."""
    after = request.args.get("after", "0")
    entries = _store().entries(
        recipient=request.args.get("recipient"),
        after=int(after) if after.isdigit() else 0,
        page=request.args.get("page"),
    )
    return jsonify(
        {
            "entries": entries,
            "last": entries[-1]["seq"] if entries else int(after) if after.isdigit() else 0,
        }
    )


@bp.get("/status")
def status() -> Response:
    """The queue state of the job for an event key (mid): queued, running, done or dead."""
    key = request.args.get("key", "")
    return jsonify({"key": key, "state": current_app.extensions["bridge"].queue.state_of(key)})


# --- faults and the Lex call count -----------------------------------------------------------


def _control_error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _unknown_target(target: str) -> Response:
    known = ", ".join(localfaults.FAULT_TARGETS)
    return _control_error(404, f"unknown fault target {target!r}: use one of {known}")


@bp.post("/faults/<target>")
def add_faults(target: str) -> Response:
    """Queue a fault object, or a list of them, for the next calls to ``target``."""
    if target not in localfaults.FAULT_TARGETS:
        return _unknown_target(target)
    body = request.get_json(silent=True, force=True)  # curl -d without a Content-Type works
    if body is None:
        return _control_error(400, "the body must be a JSON fault object or a list of them")
    try:
        queued = _store().add_faults(target, body if isinstance(body, list) else [body])
    except FaultError as exc:
        return _control_error(400, str(exc))
    return jsonify({"queued": queued})


@bp.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": _store().list_faults()})


@bp.delete("/faults")
@bp.delete("/faults/<target>")
def clear_faults(target: str | None = None) -> Response:
    if target is not None and target not in localfaults.FAULT_TARGETS:
        return _unknown_target(target)
    return jsonify({"cleared": _store().clear_faults(target)})


@bp.get("/lex/active")
def lex_active() -> Response:
    """RecognizeText calls in progress, in every server process."""
    return jsonify({"active": _store().active_lex_calls()})
