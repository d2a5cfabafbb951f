"""Prometheus metrics: the counters and histograms, updated where things happen.

Counters and histograms are module-level ``prometheus_client`` objects, updated by the webhook,
delivery and the Lex backend. Under gunicorn each worker process writes them to its own files
in ``PROMETHEUS_MULTIPROC_DIR``; a scrape adds them up (bridge/obs/exposition.py). The queue's
state is not counted by anyone: it is read from the shared database once per scrape
(bridge/web/queue_metrics.py), so it is never multiplied by the number of processes.

Labels carry only bounded values: results, event types, skip reasons, error codes, policy
decisions. Never a PSID, a mid or text. Page ids appear only on the per-Page gauges, read
from the table of Pages that were ever throttled or paused, and on the counter of webhook
items for Pages the bridge does not serve (only Pages subscribed to the app reach it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from bridge.errors import GraphError
from bridge.messenger.graph_policy import classify

# No `_created` series: multi-process mode has none, and they double the series for nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]

WEBHOOK_RESULTS = ("ok", "bad_signature", "bad_json", "too_large", "wrong_shape", "queue_error")
EVENT_TYPES = ("text", "quick_reply", "postback", "attachment", "referral", "optin")
RETRY_CAUSES = ("bot", "graph", "internal")
DEAD_LETTER_CAUSES = ("attempts", "too_old")
DROP_REASONS = (
    "too_old",
    "undeliverable",
    "attachment_failed",
    "thread_held",
    "not_thread_owner",
    "outside_window",
    "page_not_configured",
    "unknown_recipient",
    "token_expired",
)
FALLBACK_REASONS = ("bot_error", "deadline", "unshowable")
# What became of outbound API messages: at the request, then at the end of their delivery.
OUTBOUND_STATUSES = (
    "queued",
    "duplicate",
    "invalid",
    "outside_window",
    "held",
    "unknown_recipient",
    "token_expired",
    "idempotency_conflict",
    "sent",
    "dropped",
    "dead",
)
GRAPH_CALLS = ("message", "action", "probe", "handover")
ECHO_ORIGINS = ("bridge", "page_inbox", "other_app", "unknown_app")
HANDOVER_ACTIONS = ("pass", "take", "request")
HANDOVER_OWNERS = ("bridge", "page_inbox", "other_app", "unknown")
HANDOVER_RESULTS = ("ok", "not_owner", "error")
POLICY_ACTIONS = ("warning", "block", "unblock", "other")

FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_REMOTE = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0)
_TURN = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 30.0, 60.0, 120.0, 300.0)

# --- the server ----------------------------------------------------------------------------------

WEB_PROCESSES = Gauge(
    "bridge_web_processes",
    "Server worker processes running (each serves the webhook, and delivers unless"
    " BRIDGE_DELIVERY_THREADS=0).",
    multiprocess_mode="livesum",
)

# --- the webhook -------------------------------------------------------------------------------

WEBHOOK_REQUESTS = Counter(
    "bridge_webhook_requests",
    "Webhook POSTs by result: ok (200, events committed or nothing to queue), bad_signature"
    " (403), bad_json (400), too_large (413), wrong_shape (200, not a Page delivery),"
    " queue_error (503, Meta redelivers).",
    ["result"],
)
WEBHOOK_DURATION = Histogram(
    "bridge_webhook_duration_seconds",
    "Time to answer a webhook POST (verify, parse, durable commit).",
    buckets=FAST_BUCKETS,
)
WEBHOOK_VERIFICATIONS = Counter(
    "bridge_webhook_verifications",
    "Meta's GET /webhook subscription handshakes, by result (ok, refused).",
    ["result"],
)
EVENTS = Counter(
    "bridge_events",
    "Events for the bot in accepted webhook POSTs, by type (redeliveries included; see"
    " bridge_webhook_duplicates_total).",
    ["type"],
)
SKIPPED = Counter(
    "bridge_webhook_skipped_items",
    "Webhook items not sent to the bot, by reason (echo, read, delivery, standby, attachment...).",
    ["reason"],
)
NOTIFICATION_TOKENS = Counter(
    "bridge_notification_token_updates",
    "Notification-messages tokens given or changed by opt-ins in accepted webhook POSTs, by the"
    " status they leave (redeliveries and updates older than the stored one included).",
    ["status"],
)
DUPLICATES = Counter(
    "bridge_webhook_duplicates",
    "Events already in the queue (Meta's redeliveries), absorbed by the mid dedupe.",
)
UNKNOWN_PAGES = Counter(
    "bridge_webhook_unknown_page_items",
    "Webhook items for a Page the bridge does not serve (not FB_PAGE_ID, not in"
    " BRIDGE_PAGES_FILE), ignored; by Page id. Anything here means a Page subscribed to the"
    " app is missing from the configuration.",
    ["page"],
)
ECHOES = Counter(
    "bridge_echoes",
    "Echoes of what a Page sent, by who sent it: bridge (this app, FB_APP_ID), page_inbox (a"
    " person at the Page: the bot goes silent in that conversation), other_app, unknown_app.",
    ["origin"],
)
HANDOVERS = Counter(
    "bridge_handovers",
    "Thread control changes received (messaging_handovers), by action (pass, take, request)"
    " and who has (or asks for) the conversation: bridge, page_inbox, other_app, unknown.",
    ["action", "owner"],
)
POLICY_ENFORCEMENTS = Counter(
    "bridge_policy_enforcements",
    "Meta's policy actions on the app (messaging_policy_enforcement), by action: warning,"
    " block, unblock, other.",
    ["action"],
)

# --- the bot -----------------------------------------------------------------------------------

LEX_DURATION = Histogram(
    "bridge_lex_request_duration_seconds",
    "Lex call time (V2 RecognizeText or V1 PostText), by outcome (ok, error).",
    ["outcome"],
    buckets=_REMOTE,
)
LEX_ERRORS = Counter(
    "bridge_lex_errors",
    "Failed Lex calls (V2 RecognizeText or V1 PostText), by what the bridge does (kind: retry,"
    " fallback, config) and the AWS error code or botocore exception.",
    ["kind", "code"],
)
FALLBACKS = Counter(
    "bridge_fallbacks",
    "Fallback texts sent, by reason: bot_error (the bot failed), deadline (no answer in time) or"
    " unshowable (nothing the bot said can be shown).",
    ["reason"],
)

# --- Graph -------------------------------------------------------------------------------------

GRAPH_DURATION = Histogram(
    "bridge_graph_request_duration_seconds",
    "Graph API call time, by call (message, action, probe, handover) and outcome (ok, error).",
    ["call", "outcome"],
    buckets=_REMOTE,
)
GRAPH_ERRORS = Counter(
    "bridge_graph_errors",
    "Failed Graph API calls, by call, error code (code or code/subcode, http_<status> without"
    " a Graph code, unreachable without a response) and the policy's decision.",
    ["call", "code", "decision"],
)

# --- delivery ----------------------------------------------------------------------------------

TURNS = Counter("bridge_turns_delivered", "Turns whose whole reply was sent (jobs done).")
TURN_DURATION = Histogram(
    "bridge_turn_duration_seconds",
    "Time to handle one claimed job that was delivered (bot and sends).",
    buckets=_TURN,
)
ANSWER_LATENCY = Histogram(
    "bridge_answer_latency_seconds",
    "From the event's Messenger timestamp to the whole reply sent (Meta wants under 30 s).",
    buckets=_TURN,
)
RETRIES = Counter(
    "bridge_retries",
    "Jobs given back to be tried again later, by cause (bot, graph, lease_lost, internal).",
    ["cause"],
)
DEAD_LETTERS = Counter(
    "bridge_dead_letters",
    "Jobs that became dead letters, by cause: attempts (BRIDGE_MAX_ATTEMPTS used up) or"
    " too_old (past BRIDGE_MAX_EVENT_AGE after failed attempts).",
    ["cause"],
)
DROPPED = Counter(
    "bridge_dropped",
    "Jobs ended unanswered on purpose, by reason: too_old, undeliverable (Graph: the person"
    " cannot get the message), attachment_failed (failed twice), thread_held (a person at the"
    " Page or another app holds the conversation), not_thread_owner (Graph: another app owns"
    " it), outside_window (a reply would be outside Messenger's 24-hour window),"
    " page_not_configured (its Page is no longer served).",
    ["reason"],
)
OUTBOUND_MESSAGES = Counter(
    "bridge_outbound_messages",
    "Messages of the outbound API (POST /v1/messages, bridge send), by status: at the request"
    " queued, duplicate (a repeat of an idempotency_key), invalid (400), or refused (422:"
    " outside_window, held, unknown_recipient, token_expired, idempotency_conflict); at the"
    " end of delivery sent, dropped (the window closed, a hold began, the token expired...)"
    " or dead (a dead letter).",
    ["status"],
)
HANDOVER_REQUESTS = Counter(
    "bridge_handover_requests",
    "The bot asked for a person: passes of the conversation to the Page Inbox, by result (ok;"
    " not_owner: another app already held it; error: Graph failed, the pass is retried).",
    ["result"],
)
LEASES_LOST = Counter(
    "bridge_leases_lost",
    "Turns that stopped because another process had taken their job over: nothing more sent.",
)
RELEASED = Counter(
    "bridge_jobs_released",
    "Running jobs put back in the queue, by cause: shutdown (not finished within the graceful"
    " timeout) or stale_worker (their process died or stopped reporting).",
    ["cause"],
)
PAGE_THROTTLES = Counter(
    "bridge_page_throttles", "Times a Page was held because Graph rate-limited it."
)
PAGE_PAUSES = Counter(
    "bridge_page_pauses", "Times a Page was paused (token, permission or policy errors)."
)
PAGE_RESUMES = Counter("bridge_page_resumes", "Times a paused Page resumed after a probe worked.")


def _initialise() -> None:
    """Create the known label values at 0, so rates and alerts work from the first event."""
    for result in WEBHOOK_RESULTS:
        WEBHOOK_REQUESTS.labels(result)
    for result in ("ok", "refused"):
        WEBHOOK_VERIFICATIONS.labels(result)
    for kind in EVENT_TYPES:
        EVENTS.labels(kind)
    for outcome in ("ok", "error"):
        LEX_DURATION.labels(outcome)
        for call in GRAPH_CALLS:
            GRAPH_DURATION.labels(call, outcome)
    for reason in FALLBACK_REASONS:
        FALLBACKS.labels(reason)
    for cause in RETRY_CAUSES:
        RETRIES.labels(cause)
    for cause in DEAD_LETTER_CAUSES:
        DEAD_LETTERS.labels(cause)
    for reason in DROP_REASONS:
        DROPPED.labels(reason)
    for status in OUTBOUND_STATUSES:
        OUTBOUND_MESSAGES.labels(status)
    for origin in ECHO_ORIGINS:
        ECHOES.labels(origin)
    for action in HANDOVER_ACTIONS:
        for owner in HANDOVER_OWNERS:
            HANDOVERS.labels(action, owner)
    for result in HANDOVER_RESULTS:
        HANDOVER_REQUESTS.labels(result)
    for action in POLICY_ACTIONS:
        POLICY_ENFORCEMENTS.labels(action)
    for cause in ("shutdown", "stale_worker"):
        RELEASED.labels(cause)


_initialise()


# --- helpers for the call sites ------------------------------------------------------------------


def graph_error_code(error: GraphError) -> str:
    """A bounded label for a Graph error: ``190``, ``10/2018278``, ``http_502``, ``unreachable``."""
    if error.code is not None:
        return str(error.code) if error.subcode is None else f"{error.code}/{error.subcode}"
    if error.subcode is not None:
        return f"?/{error.subcode}"
    return "unreachable" if error.status is None else f"http_{error.status}"


@contextmanager
def graph_call(call: str) -> Iterator[None]:
    """Time a Graph call and count its failure (with the policy's decision)."""
    started = time.perf_counter()
    try:
        yield
    except GraphError as error:
        GRAPH_DURATION.labels(call, "error").observe(time.perf_counter() - started)
        GRAPH_ERRORS.labels(call, graph_error_code(error), classify(error).action.value).inc()
        raise
    GRAPH_DURATION.labels(call, "ok").observe(time.perf_counter() - started)
