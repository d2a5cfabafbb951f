"""A worker process stopped mid-turn keeps its job: no other process asks Lex again for it,
and once it goes on, every message is answered once. Through the real server: a delivery
process is stopped with SIGSTOP for 15 s while its Lex call is under way, then SIGCONT."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from bridge.config.localmode import LOCAL_APP_SECRET
from bridge.messenger.signature import sign
from tests.conftest import wait_for
from tests.support.servers import (
    START_MS,
    Bridge,
    add_fault,
    body_of,
    start_bridge,
    stop_bridge,
    text,
)

pytestmark = pytest.mark.e2e

STOPPED_S = 15.0  # longer than the 10 s after which a silent process elsewhere is taken for gone


def running_pid(db: Path, mid: str) -> int | None:
    """The pid of the delivery process running ``mid``'s job (its identity is host:pid:tag)."""
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT process FROM jobs WHERE key = ? AND state = 'running'", (mid,)
        ).fetchone()
    return None if row is None or row[0] is None else int(row[0].split(":")[-2])


def lex_turns(local_db: Path, psid: str) -> int:
    """How many turns the local sample bot ran in this person's session."""
    with sqlite3.connect(local_db) as connection:
        row = connection.execute(
            "SELECT attributes FROM lex_sessions WHERE session_id = ?", (psid,)
        ).fetchone()
    return int(json.loads(json.loads(row[0])["turns"])) if row else 0


def post_anew(bridge: Bridge, body: bytes) -> int:
    """A webhook on a new connection: a kept-alive one may lead to the stopped process."""
    headers = {"X-Hub-Signature-256": sign(LOCAL_APP_SECRET, body), "Connection": "close"}
    return requests.post(
        f"{bridge.url}/webhook", data=body, headers=headers, timeout=10
    ).status_code


def done(bridge: Bridge, *mids: str) -> bool:
    for mid in mids:
        answer = requests.get(
            f"{bridge.url}/local/status",
            params={"key": mid},
            headers={"Connection": "close"},
            timeout=10,
        )
        if answer.json()["state"] != "done":
            return False
    return True


def test_a_stopped_worker_keeps_its_job_and_every_message_is_answered_once(
    tmp_path: Path,
) -> None:
    bridge = start_bridge(tmp_path, BRIDGE_DELIVERY_THREADS="2")
    people = [f"70000000000003{n:02d}" for n in range(4)]
    try:
        add_fault(bridge, "lex", {"delay": 2})  # the first turn is in Lex when it is stopped
        assert bridge.post(body_of(text(people[0], "hello", "m_stop_0", START_MS))).ok
        pid = wait_for(lambda: running_pid(tmp_path / "bridge.db", "m_stop_0"), what="the turn")
        os.kill(pid, signal.SIGSTOP)
        try:
            for n, psid in enumerate(people[1:], start=1):  # the other worker answers these
                body = body_of(text(psid, "hello", f"m_stop_{n}", START_MS))
                assert post_anew(bridge, body) == 200
            others = [f"m_stop_{n}" for n in range(1, len(people))]
            wait_for(lambda: done(bridge, *others), timeout=30, what="the others answered")
            time.sleep(STOPPED_S)  # the stop itself: what is tested is what happens meanwhile
            assert running_pid(tmp_path / "bridge.db", "m_stop_0") == pid  # still its job
        finally:
            os.kill(pid, signal.SIGCONT)
        # Connections kept alive across the stop may have been closed by the server since.
        bridge.http.close()
        bridge.http = requests.Session()
        bridge.wait_done("m_stop_0")
        answers = {psid: bridge.messages(psid) for psid in people}
    finally:
        assert stop_bridge(bridge) == 0, bridge.log.read_text()
    # The same greeting each, once (it has several parts): none missing, none twice.
    assert all(messages == answers[people[1]] for messages in answers.values()), answers
    local_db = tmp_path / "bridge-local.db"
    assert {psid: lex_turns(local_db, psid) for psid in people} == dict.fromkeys(people, 1)
