"""The benchmark's accounting on a short run: every acked message answered once, in order; and
the fakes' latency and faults as the bridge's own clients see them."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bench.fakes import Fake, graph_records
from bench.lexfake import lex_turns
from bench.report import capacity_table, highest_rate
from bench.runner import scenario
from bench.scenarios import LEAN, NAIVE_LEX, REALISTIC, sweep
from bench.summary import summary
from bridge.bots.lexclient import to_bot_error
from bridge.errors import BotErrorKind, GraphError
from bridge.messenger.graph import GraphClient
from bridge.messenger.graph_policy import Action, classify

pytestmark = pytest.mark.e2e


def test_bench_bridge_answers_every_acked_message_once_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = scenario(
        "bridge", tmp_path, seconds=1.5, connections=4, per_connection=200, drain_timeout=15
    )
    assert "no stage profile" not in capsys.readouterr().out  # /metrics read and parsed
    assert all(stage.count > 0 for stage in figures.stages)  # empty until the bridge has them
    assert figures.acked > 0
    assert figures.non_200 == 0
    assert figures.connection_errors == 0
    assert figures.delivered_share == 1.0
    assert figures.duplicates == 0
    assert figures.unexpected == 0
    assert figures.order_violations == 0
    assert figures.replies == figures.acked


def test_bench_open_loop_with_graph_errors_still_answers_everything_once(tmp_path: Path) -> None:
    # Light open-loop load while Graph fails 20 % of sends: every acked message is answered
    # once, the latency counts from when each request was due.
    figures = scenario(
        "bridge",
        tmp_path,
        seconds=1.0,
        connections=4,
        rate=40.0,
        graph_error_rate=0.2,
        drain_timeout=30,
        name="light load with errors",
    )
    assert figures.acked == figures.requests > 30
    assert figures.graph_errors is not None and figures.graph_errors > 0
    assert figures.delivered_share == 1.0
    assert figures.duplicates == 0
    assert figures.unexpected == 0
    assert figures.ack_p50_ms > 0
    assert figures.sender_action_calls == 0  # fast turns at the defaults: replies alone


def test_bench_counts_send_api_calls_by_kind_at_default_and_lean_settings(tmp_path: Path) -> None:
    # A bot slower than BRIDGE_TYPING_DELAY (0.5 s): at the defaults seen and typing go out
    # beside each reply; the lean setting sends none. Every reply part is one message send.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    default, lean = (
        scenario(
            "bridge",
            tmp_path / folder,
            seconds=1.0,
            connections=0,
            rate=10.0,
            lex_latency=0.8,
            env=env,
            label=label,
        )
        for folder, env, label in (("a", {}, ""), ("b", {"BRIDGE_SENDER_ACTIONS": "false"}, LEAN))
    )
    for figures in (default, lean):
        assert figures.delivered_share == 1.0
        assert figures.message_sends == figures.acked
        assert figures.message_sends_per_message == 1.0
    assert default.sender_actions_per_message == 2.0  # mark_seen, typing_on
    assert lean.sender_action_calls == 0
    assert lean.sends_per_message == 1.0
    assert lean.column == LEAN


def test_the_inline_baseline_with_lex_answers_each_message_with_the_bots_reply(
    tmp_path: Path,
) -> None:
    figures = scenario(
        "naive_lex",
        tmp_path,
        seconds=1.0,
        connections=2,
        per_connection=100,
        drain_timeout=10,
        label=NAIVE_LEX,
    )
    assert figures.column == NAIVE_LEX
    assert figures.acked > 0 and figures.non_200 == 0
    # the Lex fake's "echo: <text>" is what reaches Graph, one send per message
    assert figures.delivered_share == 1.0 and figures.duplicates == 0
    assert figures.sends_per_message == 1.0


def test_bench_capacity_sweeps_rates_and_finds_the_highest_under_one_second(
    tmp_path: Path,
) -> None:
    results = sweep("naive", tmp_path, (10.0, 20.0), seconds=1.0, drain_timeout=10)
    assert [r.rate for r in results] == [10.0, 20.0]
    assert all(r.scenario == "capacity" and r.delivered_share == 1.0 for r in results)
    assert highest_rate(results, "naive") == (20.0, True)
    assert "highest rate with reply p99 < 1 s: ≥ 20 req/s" in capacity_table(results)


def test_graph_fake_latency_delays_each_call_without_holding_up_the_others() -> None:
    # Five sends at once on five connections, 0.4 s each: together in about 0.4 s, not 2 s.
    graph = Fake("graph", "--latency", "0.4")
    try:
        assert graph.cert is not None
        context = ssl.create_default_context(cafile=graph.cert)
        took: list[float] = []

        def send(index: int) -> None:
            conn = http.client.HTTPSConnection("127.0.0.1", graph.port, context=context)
            conn.connect()
            body = json.dumps({"recipient": {"id": str(index)}, "message": {"text": "x"}})
            start = time.perf_counter()
            conn.request("POST", "/v25.0/me/messages", body=body)
            assert conn.getresponse().status == 200
            took.append(time.perf_counter() - start)
            conn.close()

        started = time.time()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.time() - started
        fetched = graph_records(graph)
    finally:
        graph.stop()
    assert len(took) == 5 and min(took) >= 0.4
    assert elapsed < 1.2  # one after the other would take 2 s
    assert fetched.calls["message"] == 5
    assert all(at >= started + 0.4 for at, _, _ in fetched.records)  # the answer's time
    assert not Path(graph.cert).parent.exists()  # its certificate's folder went with it


def test_bench_realistic_reply_waits_for_lex_and_graph(tmp_path: Path) -> None:
    # The bridge at its defaults, Lex 150 ms and Graph 80 ms: no reply can reach Graph in
    # under 230 ms, nothing goes out in front of it, and the summary states the 255 ms target.
    figures = scenario(
        "bridge",
        tmp_path,
        seconds=1.0,
        connections=0,
        rate=10.0,
        senders=5,
        lex_latency=0.15,
        graph_latency=0.08,
        name=REALISTIC,
        drain_timeout=15,
    )
    assert figures.delivered_share == 1.0
    assert figures.duplicates == 0 and figures.order_violations == 0
    assert figures.senders == 5 and figures.graph_latency_ms == 80.0
    assert figures.e2e_p50_ms is not None and figures.e2e_p50_ms >= 230
    assert figures.sends_per_message == 1.0
    assert any("target ≤ 150 + 80 + 25 = 255 ms" in line for line in summary([figures]))


def test_graph_fake_fails_and_holds_its_share_of_sends_as_the_bridge_sees_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    failing = Fake("graph", "--error-rate", "1", "--cert-dir", str(tmp_path / "a"))
    holding = Fake(
        "graph", "--hold-rate", "1", "--hold-seconds", "1.5", "--cert-dir", str(tmp_path / "b")
    )
    try:
        assert failing.cert is not None and holding.cert is not None
        for fake in (failing, holding):
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.cert or "")
            client = GraphClient(
                base_url=f"https://127.0.0.1:{fake.port}",
                version="v25.0",
                page_token="bench-page-token",
                app_secret="bench-app-secret",
                timeout=0.5,
            )
            with pytest.raises(GraphError) as raised:
                client.send_message("7000000000000001", {"text": "echo: s1 m1"})
            assert classify(raised.value).action is Action.RETRY
            if fake is failing:
                assert raised.value.status in (500, 503) and raised.value.code in (1, 2)
            else:
                assert raised.value.status is None  # timed out: the client cannot know
            fake.set_faults(False)
            assert client.send_message("7000000000000001", {"text": "echo: s1 m1"})
        failed, held = graph_records(failing), graph_records(holding)
    finally:
        failing.stop()
        holding.stop()
    assert failed.errors == 1 and [text for _, _, text in failed.records] == ["echo: s1 m1"]
    assert failed.held == []
    assert held.errors == 0 and [text for _, _, text in held.records] == ["echo: s1 m1"] * 2
    assert held.held == [0]  # the first was delivered, its answer held past the timeout


def test_lex_fake_throttles_as_botocore_reads_it_and_counts_only_turns_that_ran() -> None:
    fake = Fake("lex", "--throttle-rate", "1")
    try:
        client = boto3.client(
            "lexv2-runtime",
            endpoint_url=f"http://127.0.0.1:{fake.port}",
            region_name="us-east-1",
            aws_access_key_id="AKIABENCHBENCHBENCH0",
            aws_secret_access_key="bench-secret-key",
            config=Config(retries={"total_max_attempts": 1}),
        )
        call = {
            "botId": "BENCHBOT01",
            "botAliasId": "TSTALIASID",
            "localeId": "en_US",
            "sessionId": "7000000000000001",
            "text": "s1 m1",
        }
        with pytest.raises(ClientError) as raised:
            client.recognize_text(**call)
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        assert to_bot_error(raised.value).kind is BotErrorKind.RETRY
        fake.set_faults(False)
        answer = client.recognize_text(**call)
        counted = lex_turns(fake.port)
    finally:
        fake.stop()
    assert answer["messages"][0]["content"] == "echo: s1 m1"
    assert (counted.calls, counted.throttled) == (2, 1)
    assert [(session, text) for _, session, text in counted.turns] == [
        ("7000000000000001", "s1 m1")
    ]
