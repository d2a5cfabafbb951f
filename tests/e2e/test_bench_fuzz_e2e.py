"""The fuzz command end to end on short runs: against its own server (gunicorn at its defaults,
Graph and Lex faked), against a server already running (``--url``, its log read with
``--log``), and one case sent again (``--replay``, ``--dump``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.fuzz.cases import load_corpus, make_case
from bench.fuzz.command import main
from bridge.config.localmode import LOCAL_APP_SECRET
from tests.conftest import wait_for
from tests.support.servers import Bridge, start_bridge, stop_bridge

pytestmark = pytest.mark.e2e


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Bridge]:
    server = start_bridge(tmp_path)
    # Both workers up before a run reads the log: a boot during the run is a restart.
    wait_for(lambda: server.log.read_text().count("Booting worker") == 2, what="two workers")
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


def test_a_short_run_against_its_own_server_meets_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--count", "300", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "status         count    share\n200 " in out
    assert "\nkind                  200       400       403" in out
    assert "\nnot_json                ·" in out
    assert "0 tracebacks" in out and "2 worker boots" in out and "secrets in it: none" in out
    assert "server: process alive, /healthz 200" in out
    assert "failed cases" not in out
    assert "result: target met: 300 cases, 0 5xx, 0 tracebacks, the server alive" in out


def test_a_running_server_is_fuzzed_and_its_log_read(
    bridge: Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--count", "200", "--url", bridge.url, "--app-secret", LOCAL_APP_SECRET]
    assert main([*args, "--log", str(bridge.log)]) == 0
    out = capsys.readouterr().out
    assert f"to the server at {bridge.url}" in out
    assert "0 worker boots" in out  # only what the log gained during the run is read
    assert "server: process not ours to see, /healthz 200" in out
    assert "result: target met: 200 cases" in out


def test_a_wrong_secret_makes_every_signed_case_fail_and_says_how_to_send_one_again(
    bridge: Bridge, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["--count", "20", "--url", bridge.url, "--app-secret", "not-the-secret"]
    assert main([*args, "--now", "1796000000000"]) == 1
    out = capsys.readouterr().out
    assert "answers were not what their case expects" in out
    again = next(line for line in out.splitlines() if line.startswith("    again: "))
    index = int(again.rsplit(" ", 1)[1])
    assert f"--seed 1 --now 1796000000000 --url {bridge.url} --replay {index}" in again
    replay = ["--now", "1796000000000", "--replay", str(index), "--dump", str(tmp_path / "d")]
    assert main([*args[2:], *replay]) == 1
    out = capsys.readouterr().out
    assert out.count("\n#") == 1 and f"\n#{index} " in out
    case = make_case(
        load_corpus(1796000000000), 1, index, secret="not-the-secret", limit=1024 * 1024
    )
    assert (tmp_path / "d" / f"{index}.body").read_bytes() == case.body
