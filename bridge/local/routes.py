"""Local mode's endpoints under ``/local``, and the control routes that are local mode's own.

Only registered when ``BRIDGE_MODE=local`` and only answering this machine
(``bridge.local.guard``). The Lex V2
runtime endpoint (bridge/local/lex.py), the Graph API (graph.py) and its inbox (inbox.py) are
blueprints nested in this one, so the guard covers them all. They keep their state in
one SQLite file (bridge/local/store.py) so every server process sees it, and can be told to fail
through the control routes here (``/local/faults``, see bridge/local/faults.py). Also here: the
queue state of an event (``/local/status``) and the Lex calls in progress (``/local/lex/active``).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from bridge.config.localmode import LOCAL_PREFIX
from bridge.config.settings import Settings
from bridge.errors import FaultError
from bridge.local import context, graph, guard, inbox, lex
from bridge.local import faults as localfaults
from bridge.local.store import LocalStore, local_store_path

bp = Blueprint("local", __name__, url_prefix=LOCAL_PREFIX)
bp.register_blueprint(lex.bp)
bp.register_blueprint(graph.bp)
bp.register_blueprint(inbox.bp)


def init_app(app: Flask, settings: Settings) -> None:
    """Register the local endpoints on ``app``."""
    app.extensions[context.STORE_KEY] = LocalStore(local_store_path(settings))
    app.register_blueprint(bp)


@bp.before_request
def _local_clients_only() -> Response | None:
    """``bridge.local.guard``: the emulated APIs nested here are called by the bridge's own
    clients; the control routes of this blueprint take JSON."""
    return guard.refusal(json_body=request.blueprint == bp.name)


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
    body = request.get_json(silent=True)  # application/json only (bridge.local.guard)
    if body is None:
        return _control_error(400, "the body must be a JSON fault object or a list of them")
    try:
        queued = context.local_store().add_faults(
            target, body if isinstance(body, list) else [body]
        )
    except FaultError as exc:
        return _control_error(400, str(exc))
    return jsonify({"queued": queued})


@bp.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": context.local_store().list_faults()})


@bp.delete("/faults")
@bp.delete("/faults/<target>")
def clear_faults(target: str | None = None) -> Response:
    if target is not None and target not in localfaults.FAULT_TARGETS:
        return _unknown_target(target)
    return jsonify({"cleared": context.local_store().clear_faults(target)})


@bp.get("/lex/active")
def lex_active() -> Response:
    """RecognizeText calls in progress, in every server process."""
    return jsonify({"active": context.local_store().active_lex_calls()})
