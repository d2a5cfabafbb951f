"""``python -m bridge queue``: stats, dead letters, requeue, purge (through click's runner)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.messenger.events import TextMessage
from bridge.queue import Worker
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.webhook import to_new_job


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A queue with one done, one dead, one dropped and one pending job."""
    path = tmp_path / "bridge.db"
    queue = SqliteQueue(path)
    now = time.time()
    evs = [
        TextMessage("42", f"70{n}", int(now * 1000) + n, f"m_{n}", f"private words {n}")
        for n in range(4)
    ]
    queue.put([to_new_job(e, now) for e in evs], now=now)
    ends = ["ack", "bury", "drop"]
    for end in ends:
        job = queue.claim(owner="w", process="p", now=now, lease=30)
        assert job is not None
        if end == "ack":
            queue.ack(job, now=now - 8 * 86400)
        elif end == "bury":
            queue.bury(job, reason="Graph unreachable (timeout or connection error)", now=now)
        else:
            queue.drop(job, reason="outside the 24-hour window (10/2018278)", now=now)
    queue.pause_page("42", reason="access token invalid or expired (190)", now=now)
    queue.heartbeat(Worker("host:1:abc", "host", 1, now))
    queue.close()
    return path


def run(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["queue", "--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_stats_show_every_state_the_paused_page_and_workers(db: Path) -> None:
    out = run(db, "stats")
    for line in (
        "pending            1",
        "done               1",
        "dropped            1",
        "dead letters       1",
    ):
        assert line in out
    assert "paused" in out and "(190)" in out and "host:1:abc" in out
    data = json.loads(run(db, "stats", "--json"))
    assert (data["queued"], data["dead"], data["pages"]) == (1, 1, {"42": 1})
    assert data["page_states"][0]["paused"] is True


def test_dead_letters_hide_text_unless_asked(db: Path) -> None:
    out = run(db, "dead")
    assert "m_1" in out and "Graph unreachable" in out and "private words" not in out
    assert "m_2" not in out  # dropped jobs only with --dropped
    assert "m_2" in run(db, "dead", "--dropped")
    records = json.loads(run(db, "dead", "--show-text", "--json"))
    assert [(r["mid"], r["text"]) for r in records] == [("m_1", "private words 1")]
    assert records[0]["user"] != "701"  # hashed


def test_requeue_by_id_reason_or_all(db: Path) -> None:
    [record] = json.loads(run(db, "dead", "--json"))
    assert run(db, "requeue", "--reason", "nothing like this") == "requeued 0 dead letters\n"
    assert run(db, "requeue", str(record["id"])) == "requeued 1 dead letter\n"
    assert run(db, "dead") == "no dead letters\n"
    assert run(db, "requeue", "--all") == "requeued 0 dead letters\n"
    result = CliRunner().invoke(main, ["queue", "--db", str(db), "requeue"])
    assert result.exit_code == 2 and "--reason or --all" in result.output


def test_purge_forgets_old_finished_jobs(db: Path) -> None:
    assert run(db, "purge", "--older-than", "7") == "purged 1 finished job\n"
    assert run(db, "purge") == "purged 0 finished jobs\n"


def test_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["queue", "--db", str(tmp_path / "nope.db"), "stats"])
    assert result.exit_code == 1
    assert "no queue database" in result.output and "Traceback" not in result.output


def test_demo_against_lex_without_a_region_stops_before_starting(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["demo"],
        env={
            "BRIDGE_MODE": "local",  # demo sets it; listing it here restores it after
            "BRIDGE_BOT": "lexv2",
            "LEX_BOT_ID": "ABCDE12345",
            "LEX_BOT_ALIAS_ID": "TSTALIASID",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "BRIDGE_DB": str(tmp_path / "b.db"),
        },
    )
    assert result.exit_code == 2
    assert "AWS_REGION is missing" in result.output
    assert "open the Messenger emulator" not in result.output


# --- demo --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ({}, "bot: the local sample bot"),
        (
            {"BRIDGE_BOT": "lexv1", "LEX_BOT_NAME": "FluBot", "LEX_BOT_ALIAS": "prod"},
            "bot: Lex V1 FluBot (alias prod; deprecated)",
        ),
        (
            {"BRIDGE_BOT": "lexv2", "LEX_BOT_ID": "ABCDE12345", "LEX_BOT_ALIAS_ID": "ALIAS1"},
            "bot: Lex V2 ABCDE12345 (alias ALIAS1)",
        ),
    ],
)
def test_demo_names_the_configured_bot(
    env: dict[str, str], shown: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import bridge.cli

    monkeypatch.setattr(bridge.cli, "_exec_gunicorn", lambda: None)
    monkeypatch.setenv("BRIDGE_MODE", "local")  # demo sets it; restored after the test
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setattr("bridge.cli.settings_or_exit", _settings_without_bot_check)
    result = CliRunner().invoke(main, ["demo"], env={"BRIDGE_DB": str(tmp_path / "b.db"), **env})
    assert result.exit_code == 0, result.output
    assert shown in result.stderr


def _settings_without_bot_check(*, check_bot: bool = False) -> object:
    import os

    from bridge.config.settings import Settings

    return Settings.from_env(os.environ)


def test_demo_names_each_pages_bot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import bridge.cli

    pages = tmp_path / "pages.json"
    pages.write_text(
        json.dumps(
            {
                "pages": {
                    "111": {"access_token": "EAAtokenOne1", "name": "Clinic"},
                    "222": {
                        "access_token": "EAAtokenTwo2",
                        "bot": {"type": "lexv1", "bot_name": "FluBot", "bot_alias": "prod"},
                    },
                }
            }
        )
    )
    monkeypatch.setattr(bridge.cli, "_exec_gunicorn", lambda: None)
    monkeypatch.setenv("BRIDGE_MODE", "local")  # demo sets it; restored after the test
    monkeypatch.setattr("bridge.cli.settings_or_exit", _settings_without_bot_check)
    env = {"BRIDGE_DB": str(tmp_path / "b.db"), "BRIDGE_PAGES_FILE": str(pages)}
    result = CliRunner().invoke(main, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    assert (
        "bot: Page 111 (Clinic): the local sample bot; Page 222: Lex V1 FluBot (alias prod;"
        " deprecated)" in result.stderr
    )
