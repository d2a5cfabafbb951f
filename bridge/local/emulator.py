"""Local mode: a Messenger emulator page, served by the bridge at ``/`` (and ``/local/emulator``).

Registered only when ``BRIDGE_MODE=local`` and only answering loopback clients that name a
loopback host, never another site (``bridge.local.guard``). The page is plain
HTML, CSS and JavaScript from ``bridge/local/static/emulator``; its traffic takes the production
path: it builds a messaging item as Messenger would, asks ``POST /local/emulator/sign`` to
wrap and sign it exactly as Meta does (``bridge.messenger.deliveries.build_delivery``; the app
secret never leaves the server), posts those bytes to ``/webhook`` itself, and reads the
replies from the local Graph inbox (``/local/graph/inbox``). Its "send as the Page" panel
queues outbound messages through ``bridge.local.pagesend``.

What the page signed is kept beside the inbox, in the local-mode state file, so a
conversation (both sides) can be shown again after a reload or a switch of user.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.config.settings import Settings
from bridge.local import guard, pagesend
from bridge.local.graph import LOCAL_PAGE_NAME
from bridge.local.store import local_store_path
from bridge.messenger.deliveries import build_delivery
from bridge.messenger.signature import sign
from bridge.queue.sqlite.connections import PerThread, while_locked

STATIC = Path(__file__).resolve().parent / "static" / "emulator"
PREFIX = "/local/emulator"
POLL_MS = 300
TYPING_TIMEOUT_S = 20  # Messenger drops a typing indicator after 20 s without a refresh
PSID = re.compile(r"^\d{1,30}$")
# The simulated people the page offers; "new user" adds more (kept once they send something).
USERS = (
    {"psid": "8000000000000001", "name": "Alex Morgan"},
    {"psid": "8000000000000002", "name": "Min-jun Kim"},
    {"psid": "8000000000000003", "name": "Sam Rivera"},
)
# Set by the server for every item it signs, whatever the page sent for them.
_ENVELOPE_KEYS = ("sender", "recipient", "timestamp")
# The page loads nothing from elsewhere; a bot's card images may live anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data: http: https:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

bp = Blueprint(
    "emulator",
    __name__,
    static_folder=str(STATIC),
    static_url_path=f"{PREFIX}/static",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS emulator_events (id INTEGER PRIMARY KEY, psid TEXT NOT NULL,
    after_seq INTEGER NOT NULL, body TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS emulator_events_psid ON emulator_events (psid, id);
"""


class SentLog:
    """The webhook bodies the page had signed, per simulated user, in the local-mode state
    file (beside the Graph inbox, whose ``seq`` orders them among the replies)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connections = PerThread(
            lambda: sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        while_locked(lambda: self._db().executescript(_SCHEMA), path, 10)

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def _last_reply(self, psid: str) -> int:
        """The inbox's last ``seq`` for ``psid``: what had been sent to them so far."""
        try:
            row = (
                self._db()
                .execute("SELECT MAX(seq) FROM inbox WHERE recipient = ?", (psid,))
                .fetchone()
            )
        except sqlite3.OperationalError:  # no inbox table (local mode not set up)
            return 0
        return int(row[0] or 0)

    def record(self, psid: str, body: bytes) -> tuple[int, int]:
        """Keep a signed body; returns its id and the inbox ``seq`` it follows."""
        after = self._last_reply(psid)
        cursor = self._db().execute(
            "INSERT INTO emulator_events (psid, after_seq, body, at) VALUES (?, ?, ?, ?)",
            (psid, after, body.decode("ascii"), time.time()),
        )
        return int(cursor.lastrowid or 0), after

    def events(self, psid: str) -> list[dict[str, Any]]:
        rows = (
            self._db()
            .execute(
                "SELECT id, after_seq, body, at FROM emulator_events WHERE psid = ? ORDER BY id",
                (psid,),
            )
            .fetchall()
        )
        return [{"id": i, "after": after, "body": body, "at": at} for i, after, body, at in rows]

    def people(self) -> list[str]:
        """Every PSID the page has sent as, first sender first."""
        rows = (
            self._db()
            .execute("SELECT psid FROM emulator_events GROUP BY psid ORDER BY MIN(id)")
            .fetchall()
        )
        return [psid for (psid,) in rows]


def init_app(app: Flask, settings: Settings) -> None:
    """Register the emulator page and its endpoints on ``app`` (local mode only)."""
    app.extensions["bridge_emulator"] = SentLog(local_store_path(settings))
    app.register_blueprint(bp)
    app.register_blueprint(pagesend.bp)


def _log() -> SentLog:
    log: SentLog = current_app.extensions["bridge_emulator"]
    return log


def _settings() -> Settings:
    settings: Settings = current_app.extensions["bridge"].settings
    return settings


@bp.before_request
def _local_clients_only() -> Response | None:
    """This machine only, under its own name, never another site (``bridge.local.guard``)."""
    return guard.refusal(json_body=True)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if response.mimetype == "application/json":
        response.headers["Cache-Control"] = "no-store"
    return response


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.get("/")
@bp.get(PREFIX)
def page() -> Response:
    response = bp.send_static_file("index.html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get(f"{PREFIX}/config")
def config() -> Response:
    """What the page shows: the Page, the bot behind it, the simulated people."""
    settings = _settings()
    if settings.lex.backend == "local":
        bot = "Sample bot · local Lex V2 endpoint"
    else:
        bot = f"Lex V2 bot {settings.lex.bot_id} · {settings.lex.locale_id}"
    known = {user["psid"] for user in USERS}
    guests = [
        {"psid": psid, "name": f"Guest {psid[-4:]}"}
        for psid in _log().people()
        if psid not in known
    ]
    return jsonify(
        {
            "page": {"id": settings.graph.page_id or LOCAL_PAGE_ID, "name": LOCAL_PAGE_NAME},
            "bot": bot,
            "users": [*USERS, *guests],
            "poll_ms": POLL_MS,
            "typing_timeout_s": TYPING_TIMEOUT_S,
        }
    )


@bp.post(f"{PREFIX}/sign")
def sign_item() -> Response:
    """Wrap one messaging item as Meta delivers it and sign it with the app secret.

    The body is the item as Messenger would put it in ``entry[].messaging[]`` with at least
    ``sender.id`` (the PSID) and the event (``message``, ``postback``…); ``recipient`` and
    ``timestamp`` are set here. The answer holds the exact bytes to post to ``/webhook`` (as
    text: Meta's JSON is ASCII) and their ``X-Hub-Signature-256`` header value.
    """
    item = request.get_json(silent=True)  # application/json only: a cross-site form cannot
    if not isinstance(item, dict):
        return _error(400, "the body must be a JSON object: a messaging item with sender.id")
    sender = item.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(psid, str) or not PSID.match(psid):
        return _error(400, "sender.id must be the simulated person's PSID (digits)")
    event = {key: value for key, value in item.items() if key not in _ENVELOPE_KEYS}
    if not event:
        return _error(400, "the item has no event: add a message, a postback or another field")
    settings = _settings()
    body = build_delivery(
        settings.graph.page_id or LOCAL_PAGE_ID, psid, event, now_ms=int(time.time() * 1000)
    )
    event_id, after = _log().record(psid, body)
    return jsonify(
        {
            "body": body.decode("ascii"),
            "signature": sign(settings.graph.app_secret, body),
            "id": event_id,
            "after": after,
        }
    )


@bp.get(f"{PREFIX}/events")
def sent_events() -> Response:
    """The bodies the page signed for ``?psid=``, oldest first, each with the inbox ``seq``
    it follows (``after``), so the page can interleave them with the replies."""
    psid = request.args.get("psid", "")
    if not PSID.match(psid):
        return _error(400, "psid must be digits")
    return jsonify({"events": _log().events(psid)})
