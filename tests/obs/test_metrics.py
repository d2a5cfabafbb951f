"""Metrics: the counters at each call site, /metrics and its token, and a real multi-process
server scraped after an end-to-end run."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from botocore.exceptions import ClientError, ReadTimeoutError
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from bridge.app import create_app
from bridge.bots.lexv2 import LexV2Bot
from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.config.settings import Settings
from bridge.config.web import DEFAULT_METRICS_PORT
from bridge.errors import BotError, BotErrorKind, ConfigError, GraphError, QueueError
from bridge.messenger.events import TextMessage
from bridge.messenger.graph import GraphClient
from bridge.obs.metrics import graph_call, graph_error_code
from bridge.queue import NewJob
from bridge.queue.sqlite.store import SqliteQueue
from tests.conftest import ScriptedBot, delivery, signed_headers, text_item
from tests.delivery.harness import NOW_MS, PROBE_URL, Clock, enqueue, fail, handler, ok
from tests.delivery.harness import delivery as worker_for
from tests.delivery.harness import text as event
from tests.support.servers import (
    START_MS,
    Bridge,
    add_fault,
    body_of,
    run_gunicorn,
    server_environment,
    start_bridge,
    stop_bridge,
    text,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def value(name: str, **labels: str) -> float:
    """A sample of this process's default registry (0 if absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """Reads how much samples moved since it was made."""

    def __init__(self, *keys: tuple[str, dict[str, str]]) -> None:
        self._start = {self._key(n, ls): value(n, **ls) for n, ls in keys}

    @staticmethod
    def _key(name: str, labels: dict[str, str]) -> tuple[str, frozenset[tuple[str, str]]]:
        return name, frozenset(labels.items())

    def __call__(self, name: str, **labels: str) -> float:
        return value(name, **labels) - self._start.get(self._key(name, labels), 0.0)


def moved(*names: str) -> Delta:
    """Snapshot every current sample of these metrics (any labels)."""
    keys = [
        (sample.name, dict(sample.labels))
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name.startswith(names)
    ]
    return Delta(*keys)


def samples_of(collector: Any) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def parse(text_format: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text_format)
        for sample in family.samples
    }


def at(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def total(found: Samples, name: str, **labels: str) -> float:
    """Sum over every sample of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= set(ls))


@pytest.fixture
def graph_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def new_job(key: str, conversation: str, page: str = "p1") -> NewJob:
    return NewJob(key=key, page=page, conversation=conversation, order_ts=1, payload="{}")


# --- Graph ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "label"),
    [
        (GraphError("x", status=401, code=190), "190"),
        (GraphError("x", status=400, code=10, subcode=2018278), "10/2018278"),
        (GraphError("x", status=400, subcode=2018300), "?/2018300"),
        (GraphError("x", status=502), "http_502"),
        (GraphError("timed out"), "unreachable"),
    ],
)
def test_graph_errors_are_labelled_by_code(error: GraphError, label: str) -> None:
    assert graph_error_code(error) == label


def test_graph_calls_are_timed_and_failures_counted_with_the_decision() -> None:
    delta = moved("bridge_graph_")
    with graph_call("message"):
        pass
    with pytest.raises(GraphError), graph_call("message"):
        raise GraphError("x", status=400, code=613)
    with pytest.raises(GraphError), graph_call("probe"):
        raise GraphError("x", status=401, code=190)
    count = "bridge_graph_request_duration_seconds_count"
    assert delta(count, call="message", outcome="ok") == 1
    assert delta(count, call="message", outcome="error") == 1
    assert delta("bridge_graph_errors_total", call="message", code="613", decision="throttle") == 1
    assert delta("bridge_graph_errors_total", call="probe", code="190", decision="pause") == 1


# --- the webhook ---------------------------------------------------------------------------------


@pytest.fixture
def app(settings: Settings, queue: SqliteQueue, graph: GraphClient) -> Flask:
    return create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post(client: FlaskClient, body: bytes, **headers: str) -> int:
    return client.post(
        "/webhook", data=body, headers={**signed_headers(body), **headers}
    ).status_code


def test_webhook_results_events_skips_and_duplicates_are_counted(client: FlaskClient) -> None:
    delta = moved("bridge_webhook_", "bridge_events_")
    body = delivery(
        text_item("7", "hi", "m_1"),
        text_item("8", "yo", "m_2"),
        {"sender": {"id": "7"}, "recipient": {"id": "1"}, "timestamp": 1, "read": {"watermark": 1}},
        {
            "sender": {"id": "7"},
            "recipient": {"id": "1"},
            "timestamp": 2,
            "postback": {"mid": "m_pb", "title": "Go", "payload": "GO"},
        },
        {
            "sender": {"id": "7"},
            "recipient": {"id": "1"},
            "timestamp": 3,
            "message": {"mid": "m_qr", "text": "A", "quick_reply": {"payload": "A"}},
        },
    )
    assert post(client, body) == 200
    assert post(client, body) == 200  # redelivered
    assert (
        post(client, delivery(text_item("7", "hi", "m_3")), **{"X-Hub-Signature-256": "x"}) == 403
    )
    assert post(client, b"{not json") == 400
    assert post(client, b'{"object": "user"}') == 200
    assert post(client, b"x" * (2 * 1024 * 1024)) == 413
    assert delta("bridge_webhook_requests_total", result="ok") == 2
    assert delta("bridge_webhook_requests_total", result="bad_signature") == 1
    assert delta("bridge_webhook_requests_total", result="bad_json") == 1
    assert delta("bridge_webhook_requests_total", result="wrong_shape") == 1
    assert delta("bridge_webhook_requests_total", result="too_large") == 1
    assert delta("bridge_webhook_duration_seconds_count") == 6
    assert delta("bridge_events_total", type="text") == 4
    assert delta("bridge_events_total", type="postback") == 2
    assert delta("bridge_events_total", type="quick_reply") == 2
    assert delta("bridge_webhook_duplicates_total") == 4
    assert delta("bridge_webhook_skipped_items_total", reason="read") == 2
    assert delta("bridge_webhook_skipped_items_total", reason="not_page_object") == 1


def test_a_failed_commit_counts_as_queue_error(
    client: FlaskClient, queue: SqliteQueue, monkeypatch: Any
) -> None:
    delta = moved("bridge_webhook_")

    def broken(jobs: list[NewJob], *, now: float, signals: Any = (), tokens: Any = ()) -> Any:
        raise QueueError("enqueue failed: disk full")

    monkeypatch.setattr(queue, "put", broken)
    assert post(client, delivery(text_item("7", "hi", "m_1"))) == 503
    assert delta("bridge_webhook_requests_total", result="queue_error") == 1


def test_the_handshake_is_counted(client: FlaskClient) -> None:
    delta = moved("bridge_webhook_verifications")
    query = {"hub.mode": "subscribe", "hub.challenge": "1"}
    client.get("/webhook", query_string={**query, "hub.verify_token": "test-verify-token"})
    client.get("/webhook", query_string={**query, "hub.verify_token": "wrong"})
    assert delta("bridge_webhook_verifications_total", result="ok") == 1
    assert delta("bridge_webhook_verifications_total", result="refused") == 1


# --- delivery ------------------------------------------------------------------------------------


def test_delivered_turns_are_counted_and_timed(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    delta = moved("bridge_turn", "bridge_answer_", "bridge_graph_request")
    ok(graph_api, 3)
    enqueue(queue, event("7", "hi", "m1", ts=NOW_MS - 2000))
    assert worker_for(queue, handler(queue, ScriptedBot(), graph)).run_once("w")
    assert delta("bridge_turns_delivered_total") == 1
    assert delta("bridge_turn_duration_seconds_count") == 1
    assert delta("bridge_answer_latency_seconds_sum") == pytest.approx(2.0)
    count = "bridge_graph_request_duration_seconds_count"
    assert delta(count, call="action", outcome="ok") == 0  # a fast turn: no sender action
    assert delta(count, call="message", outcome="ok") == 1


def test_the_failure_policy_is_counted(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    delta = moved(
        "bridge_retries", "bridge_dropped", "bridge_dead_", "bridge_page_", "bridge_graph"
    )
    clock = Clock()
    worker = worker_for(queue, handler(queue, ScriptedBot(), graph, actions=False), clock=clock)

    def next_send_fails(status: int, code: int, subcode: int | None = None) -> None:
        graph_api.reset()  # (responses keeps answering with the last one registered)
        fail(graph_api, status, code, subcode)

    def now_ms() -> int:
        return int(clock.now * 1000)

    enqueue(queue, event("1", "a", "m_retry"))
    for _ in range(3):  # three attempts of three: retried twice, then a dead letter
        next_send_fails(500, 2)
        assert worker.run_once("w")
        clock.now += 600
    assert queue.state_of("m_retry") == "dead"
    next_send_fails(400, 10, 2018278)
    enqueue(queue, event("2", "b", "m_drop", ts=now_ms()))
    assert worker.run_once("w")
    next_send_fails(400, 613)
    enqueue(queue, event("3", "c", "m_throttle", ts=now_ms()))
    assert worker.run_once("w")
    next_send_fails(401, 190)
    enqueue(queue, event("4", "d", "m_pause", ts=now_ms(), page="43"))  # not the held Page
    assert worker.run_once("w")
    assert [page.page for page in queue.pages() if page.paused] == ["43"]
    graph_api.reset()
    graph_api.get(PROBE_URL, json={"id": "43"})
    worker.keep_house()  # probes the paused Page, which works again
    assert not [page for page in queue.pages() if page.paused]
    assert delta("bridge_retries_total", cause="graph") == 2
    assert delta("bridge_dead_letters_total", cause="attempts") == 1
    assert delta("bridge_dropped_total", reason="undeliverable") == 1
    assert delta("bridge_page_throttles_total") == 1
    assert delta("bridge_page_pauses_total") == 1
    assert delta("bridge_page_resumes_total") == 1
    errors = "bridge_graph_errors_total"
    assert delta(errors, call="message", code="2", decision="retry") == 3
    assert delta(errors, call="message", code="10/2018278", decision="drop") == 1
    assert delta(errors, call="message", code="190", decision="pause") == 1
    assert delta("bridge_graph_request_duration_seconds_count", call="probe", outcome="ok") == 1


def test_old_events_and_bot_failures_are_counted(
    queue: SqliteQueue, graph: GraphClient, graph_api: responses.RequestsMock
) -> None:
    delta = moved("bridge_dropped", "bridge_fallbacks")
    enqueue(queue, event("1", "a", "m_old", ts=NOW_MS - 10 * 24 * 3600 * 1000))
    worker = worker_for(queue, handler(queue, ScriptedBot(), graph, actions=False))
    worker.run_once("w")
    assert queue.state_of("m_old") == "dropped"

    def failing(_: Any) -> Any:
        raise BotError(BotErrorKind.FALLBACK, "Lex failed")

    ok(graph_api)
    enqueue(queue, event("2", "b", "m_fail"))
    worker_for(queue, handler(queue, ScriptedBot(failing), graph, actions=False)).run_once("w")
    assert queue.state_of("m_fail") == "done"
    assert delta("bridge_dropped_total", reason="too_old") == 1
    assert delta("bridge_fallbacks_total", reason="bot_error") == 1


# --- Lex -----------------------------------------------------------------------------------------


class FakeLexClient:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def recognize_text(self, **_: Any) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return {"messages": [{"contentType": "PlainText", "content": "hi"}]}


def lex(error: Exception | None = None) -> LexV2Bot:
    return LexV2Bot(
        FakeLexClient(error), bot_id="ABCDE12345", alias_id="TSTALIASID", locale_id="en_US"
    )


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "RecognizeText",
    )


def test_lex_calls_are_timed_and_errors_counted_by_kind_and_code() -> None:
    delta = moved("bridge_lex_")
    hello = TextMessage(page_id="1", sender_id="2000000000000001", timestamp=1, mid="m", text="hi")
    assert lex().respond(hello)
    for error in (
        client_error("ThrottlingException", 429),
        client_error("DependencyFailedException", 424),
        client_error("AccessDeniedException", 403),
        client_error("Some Thing With Spaces And More", 500),
        ReadTimeoutError(endpoint_url="https://runtime-v2-lex.us-east-1.amazonaws.com"),
    ):
        with pytest.raises(BotError):
            lex(error).respond(hello)
    count = "bridge_lex_request_duration_seconds_count"
    assert delta(count, outcome="ok") == 1
    assert delta(count, outcome="error") == 5
    errors = "bridge_lex_errors_total"
    assert delta(errors, kind="retry", code="ThrottlingException") == 1
    assert delta(errors, kind="fallback", code="DependencyFailedException") == 1
    assert delta(errors, kind="config", code="AccessDeniedException") == 1
    assert delta(errors, kind="fallback", code="Unknown") == 1
    assert delta(errors, kind="fallback", code="ReadTimeoutError") == 1


# --- /metrics ------------------------------------------------------------------------------------

# The metrics listener, as the test client reaches it (bridge/web/listeners.py: SERVER_PORT).
LISTENER = f"http://127.0.0.1:{DEFAULT_METRICS_PORT}"


def test_metrics_are_served_in_prometheus_format_with_help(
    client: FlaskClient, queue: SqliteQueue
) -> None:
    queue.put([new_job("m1", "p:1")], now=time.time())
    response = client.get("/metrics", base_url=LISTENER)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    page = response.get_data(as_text=True)
    found = parse(page)
    assert at(found, "bridge_queue_jobs", state="queued") == 1
    assert ("bridge_webhook_requests_total", frozenset({("result", "ok")})) in found
    for name in (
        "bridge_webhook_requests_total",
        "bridge_events_total",
        "bridge_lex_request_duration_seconds",
        "bridge_graph_errors_total",
        "bridge_queue_jobs",
        "bridge_pages_paused",
    ):
        assert f"# HELP {name} " in page, name
    openmetrics = client.get(
        "/metrics", base_url=LISTENER, headers={"Accept": "application/openmetrics-text"}
    )
    assert openmetrics.content_type.startswith("application/openmetrics-text")


def test_no_metric_label_holds_a_psid_a_mid_or_text(client: FlaskClient) -> None:
    post(client, delivery(text_item("2900000000000001", "private words", "m_secret_mid")))
    page = client.get("/metrics", base_url=LISTENER).get_data(as_text=True)
    for leak in ("2900000000000001", "m_secret_mid", "private words"):
        assert leak not in page


def test_a_metrics_token_is_required_when_set(
    settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    token = "t0ken-for-metrics-0123456789"
    app = create_app(
        replace(settings, web=replace(settings.web, metrics_token=token)),
        queue=queue,
        bot=ScriptedBot(),
        graph=graph,
    )
    client = app.test_client()
    for where in ("http://localhost", LISTENER):  # the main port and the metrics listener
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Basic {token}"},
            {"Authorization": f"Bearer {token}x"},
            {"Authorization": token},
        ):
            response = client.get("/metrics", base_url=where, headers=headers)
            assert response.status_code == 401, (where, headers)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "bridge_" not in response.get_data(as_text=True)
        for scheme in ("Bearer", "bearer"):
            bearer = {"Authorization": f"{scheme} {token}"}
            assert client.get("/metrics", base_url=where, headers=bearer).status_code == 200
    assert client.get("/healthz").status_code == 200  # health stays open


def test_the_metrics_token_is_checked_at_startup() -> None:
    base = {"BRIDGE_MODE": "local"}
    assert Settings.from_env(base).web.metrics_token is None
    good = Settings.from_env({**base, "BRIDGE_METRICS_TOKEN": "a" * 16})
    assert good.web.metrics_token == "a" * 16 and "a" * 16 not in repr(good)
    for bad in ("short", "has a space in it, sixteen+"):
        with pytest.raises(ConfigError, match="BRIDGE_METRICS_TOKEN") as raised:
            Settings.from_env({**base, "BRIDGE_METRICS_TOKEN": bad})
        assert bad not in str(raised.value)


def test_forwarded_allow_ips_is_checked_at_startup() -> None:
    base = {"BRIDGE_MODE": "local"}
    assert Settings.from_env(base).web.forwarded_allow_ips == "127.0.0.1,::1"
    spaced = {**base, "FORWARDED_ALLOW_IPS": " 10.0.0.0/8, 192.168.1.7 ,::1"}
    assert Settings.from_env(spaced).web.forwarded_allow_ips == "10.0.0.0/8,192.168.1.7,::1"
    assert Settings.from_env({**base, "FORWARDED_ALLOW_IPS": "*"}).web.forwarded_allow_ips == "*"
    with pytest.raises(ConfigError, match="FORWARDED_ALLOW_IPS has 'proxy.local'"):
        Settings.from_env({**base, "FORWARDED_ALLOW_IPS": "10.0.0.1,proxy.local"})


# --- a real multi-process server ---------------------------------------------------------------

TOKEN = "scrape-token-0123456789abcdef"


def scrape(bridge: Bridge) -> Samples:
    # A fresh connection each time: any of the worker processes may answer.
    response = requests.get(
        f"{bridge.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return parse(response.text)


def per_process(folder: Path, name: str) -> dict[str, float]:
    """What each process's own files hold for a sample (its pid → value)."""
    values: dict[str, float] = {}
    for file in folder.glob("*.db"):
        pid = file.stem.rsplit("_", 1)[1]
        for family in MultiProcessCollector.merge([str(file)]):  # type: ignore[no-untyped-call]
            for sample in family.samples:
                if sample.name == name:
                    values[pid] = values.get(pid, 0.0) + sample.value
    return values


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bridge, Path, Samples]]:
    """A server with 2 worker processes after an end-to-end run, and its metrics folder."""
    tmp = tmp_path_factory.mktemp("metrics")
    folder = tmp / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left by an earlier server")
    bridge = start_bridge(
        tmp,
        WEB_CONCURRENCY="2",
        BRIDGE_METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(folder),
    )
    try:
        assert not (folder / "counter_999999.db").exists()  # emptied at start
        url = f"{bridge.url}/webhook"
        mids = []
        for n in range(8):  # fresh connections: the processes share the posts
            body = body_of(text(f"62000000000000{n % 4:02d}", f"hello {n}", f"m_met_{n}", ts=n))
            assert requests.post(url, data=body, headers=signed(body), timeout=10).ok
            mids.append(f"m_met_{n}")
        bridge.wait_done(*mids)
        again = body_of(text("6200000000000000", "hello 0", "m_met_0"))
        assert requests.post(url, data=again, headers=signed(again), timeout=10).ok
        read = body_of(
            {
                "sender": {"id": "6200000000000001"},
                "recipient": {"id": LOCAL_PAGE_ID},
                "timestamp": START_MS,
                "read": {"watermark": START_MS},
            }  # fmt: skip
        )
        assert requests.post(url, data=read, headers=signed(read), timeout=10).ok
        assert bridge.post(again, secret="rotated-app-secret").status_code == 403
        shape = json.dumps({"object": "user", "entry": []}).encode()
        assert requests.post(url, data=shape, headers=signed(shape), timeout=10).ok
        # A slow bot (seen and typing go out at 0.5 s) and Graph fails mark_seen, typing_on and
        # the send: the turn is retried, then delivered.
        add_fault(bridge, "lex", {"delay": 2})
        add_fault(bridge, "graph", {"status": 500, "code": 2, "count": 3})
        stormy = body_of(text("6200000000000009", "storm", "m_met_fault", ts=50))
        assert requests.post(url, data=stormy, headers=signed(stormy), timeout=10).ok
        bridge.wait_done("m_met_fault")
        yield bridge, folder, scrape(bridge)
    finally:
        assert stop_bridge(bridge) == 0, bridge.log.read_text()


def signed(body: bytes) -> dict[str, str]:
    from bridge.config.localmode import LOCAL_APP_SECRET
    from bridge.messenger.signature import sign

    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(LOCAL_APP_SECRET, body)}


@pytest.mark.e2e
def test_the_counters_moved_with_the_run(run: tuple[Bridge, Path, Samples]) -> None:
    _, _, found = run
    requests_total = "bridge_webhook_requests_total"
    assert at(found, requests_total, result="ok") == 11
    assert at(found, requests_total, result="bad_signature") == 1
    assert at(found, requests_total, result="wrong_shape") == 1
    assert at(found, "bridge_events_total", type="text") == 10
    assert at(found, "bridge_webhook_duplicates_total") == 1
    assert at(found, "bridge_webhook_skipped_items_total", reason="read") == 1
    assert at(found, "bridge_turns_delivered_total") == 9
    assert at(found, "bridge_lex_request_duration_seconds_count", outcome="ok") == 9
    assert total(found, "bridge_graph_errors_total", code="2", decision="retry") == 3
    assert at(found, "bridge_retries_total", cause="graph") == 1
    assert at(found, "bridge_dead_letters_total", cause="attempts") == 0
    count = "bridge_graph_request_duration_seconds_count"
    assert at(found, count, call="message", outcome="ok") == 9  # one part per reply
    assert at(found, count, call="action", outcome="ok") == 0  # fast turns: none sent
    assert at(found, count, call="action", outcome="error") == 2  # the slow turn's two


@pytest.mark.e2e
def test_the_queue_gauges_are_read_once_not_once_per_process(
    run: tuple[Bridge, Path, Samples], tmp_path: Path
) -> None:
    bridge, _, found = run
    assert at(found, "bridge_queue_up") == 1
    assert at(found, "bridge_queue_jobs", state="done") == 9  # not 18 with 2 processes
    assert at(found, "bridge_queue_jobs", state="queued") == 0
    assert at(found, "bridge_queue_jobs", state="running") == 0
    assert at(found, "bridge_queue_oldest_unfinished_age_seconds") == 0
    assert at(found, "bridge_pages_paused") == 0
    assert at(found, "bridge_delivery_processes") == 2  # both worker processes deliver
    assert len([key for key in found if key[0] == "bridge_queue_jobs"]) == 5


@pytest.mark.e2e
def test_every_process_answers_the_same_totals(run: tuple[Bridge, Path, Samples]) -> None:
    bridge, folder, found = run
    name = "bridge_webhook_requests_total"
    for _ in range(6):  # whichever process answers, it adds up every process's files
        again = scrape(bridge)
        assert total(again, name) == total(found, name)
        assert at(again, "bridge_turns_delivered_total") == 9
    # Each worker process writes its own files; a scrape adds them up.
    alive = {pid: v for pid, v in per_process(folder, "bridge_web_processes").items() if v}
    assert len(alive) == 2 and at(found, "bridge_web_processes") == 2, alive
    for metric in ("bridge_turns_delivered_total", "bridge_events_total"):
        assert sum(per_process(folder, metric).values()) == total(found, metric)


@pytest.mark.e2e
def test_metrics_need_the_token_on_the_real_server(run: tuple[Bridge, Path, Samples]) -> None:
    bridge, _, _ = run
    assert requests.get(f"{bridge.url}/metrics", timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert requests.get(f"{bridge.url}/metrics", headers=wrong, timeout=5).status_code == 401


@pytest.mark.e2e
def test_the_default_metrics_folder_is_private_to_one_server_start(tmp_path: Path) -> None:
    temp = Path(tempfile.gettempdir())
    abandoned = temp / "messenger-lex-bridge-metrics-4194000-abc"  # above pid_max: dead
    abandoned.mkdir(exist_ok=True)
    bridge = start_bridge(tmp_path)
    try:
        [folder] = temp.glob(f"messenger-lex-bridge-metrics-{bridge.process.pid}-*")
        assert not abandoned.exists()
        assert bridge.post(body_of(text("6300000000000001", "hi", "m_tmp"))).ok
        bridge.wait_done("m_tmp")
        assert list(folder.glob("*.db"))
    finally:
        assert stop_bridge(bridge) == 0, bridge.log.read_text()
    assert not folder.exists()


@pytest.mark.e2e
def test_a_bad_configuration_leaves_no_metrics_folder(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"  # the server's own temporary folder: other servers stay out of it
    temp.mkdir()
    environment = server_environment(
        "AWS_",
        "PROMETHEUS_",
        BRIDGE_MODE="local",
        BRIDGE_BOT="lexv2",
        LEX_BOT_ID="ABCDE12345",
        LEX_BOT_ALIAS_ID="TSTALIASID",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        TMPDIR=str(temp),
    )
    result = run_gunicorn(environment)
    assert result.returncode == 2, result.stderr
    assert "AWS_REGION" in result.stderr  # the bot's own check, after the folder was made
    assert list(temp.iterdir()) == []
