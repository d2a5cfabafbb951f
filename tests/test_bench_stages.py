"""The bench's stage profile: count and mean per label set, read from Prometheus text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.stages import Stage, read_stages, stage_table, stages_from_text

SAMPLE = """\
# HELP bridge_turns_delivered_total Turns whose whole reply was sent (jobs done).
# TYPE bridge_turns_delivered_total counter
bridge_turns_delivered_total 12.0
# HELP bridge_turn_stage_seconds Time per stage of a turn.
# TYPE bridge_turn_stage_seconds histogram
bridge_turn_stage_seconds_bucket{le="0.1",stage="lex"} 3.0
bridge_turn_stage_seconds_bucket{le="+Inf",stage="lex"} 4.0
bridge_turn_stage_seconds_count{stage="lex"} 4.0
bridge_turn_stage_seconds_sum{stage="lex"} 0.6
bridge_turn_stage_seconds_bucket{le="+Inf",stage="graph"} 8.0
bridge_turn_stage_seconds_count{stage="graph"} 8.0
bridge_turn_stage_seconds_sum{stage="graph"} 0.2
bridge_turn_stage_seconds_count{stage="typing"} 0.0
bridge_turn_stage_seconds_sum{stage="typing"} 0.0
# HELP bridge_queue_write_seconds Time of a queue write, by change and phase.
# TYPE bridge_queue_write_seconds histogram
bridge_queue_write_seconds_bucket{change="put",le="+Inf",phase="commit"} 2.0
bridge_queue_write_seconds_count{change="put",phase="commit"} 2.0
bridge_queue_write_seconds_sum{change="put",phase="commit"} 0.005
# HELP bridge_graph_duration_seconds Graph API call time.
# TYPE bridge_graph_duration_seconds histogram
bridge_graph_duration_seconds_count{call="message",outcome="ok"} 8.0
bridge_graph_duration_seconds_sum{call="message",outcome="ok"} 0.2
"""


def test_stages_are_counted_and_averaged_per_label_set() -> None:
    stages = stages_from_text(SAMPLE)
    assert [(s.metric, s.labels, s.count) for s in stages] == [
        ("bridge_turn_stage_seconds", {"stage": "lex"}, 4),
        ("bridge_turn_stage_seconds", {"stage": "graph"}, 8),
        ("bridge_queue_write_seconds", {"change": "put", "phase": "commit"}, 2),
    ]  # never-observed "typing" and other histograms left out
    assert [s.mean_ms for s in stages] == pytest.approx([150.0, 25.0, 2.5])


def test_metrics_without_stage_histograms_give_nothing() -> None:
    text = SAMPLE.split("# HELP bridge_turn_stage_seconds")[0]
    assert stages_from_text(text) == []
    assert stages_from_text("") == []


def test_queue_writes_listed_before_turns_still_come_after_them() -> None:
    turn, _, queue = SAMPLE.partition("# HELP bridge_queue_write_seconds")
    reordered = "# HELP bridge_queue_write_seconds" + queue + turn
    assert [s.metric for s in stages_from_text(reordered)] == [
        "bridge_turn_stage_seconds",
        "bridge_turn_stage_seconds",
        "bridge_queue_write_seconds",
    ]


def test_stage_table_shows_count_and_mean_ms() -> None:
    table = stage_table(
        [
            Stage("bridge_turn_stage_seconds", {"stage": "lex"}, 1234, 150.0),
            Stage("bridge_queue_write_seconds", {"change": "put", "phase": "commit"}, 2, 2.46),
        ]
    )
    assert table.splitlines() == [
        "stage                                    count   mean ms",
        "turn: lex                                1,234     150.0",
        "queue write: put, commit                     2       2.5",
    ]


@pytest.fixture
def metrics_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback server answering ``/metrics`` with the text in the returned list."""
    page = [SAMPLE]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = page[0].encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", page
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_read_stages_fetches_the_metrics_page(metrics_server: tuple[str, list[str]]) -> None:
    base_url, page = metrics_server
    assert [s.name for s in read_stages(base_url)] == [
        "turn: lex",
        "turn: graph",
        "queue write: put, commit",
    ]
    page[0] = "bridge_turns_delivered_total 12.0\n"
    assert read_stages(base_url) == []
