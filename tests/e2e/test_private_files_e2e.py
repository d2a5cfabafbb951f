"""What people wrote stays owner-only on disk: the real server's queue database (and its
siblings) and its recordings, under a umask that would let others read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.support.servers import START_MS, body_of, start_bridge, stop_bridge, text

pytestmark = pytest.mark.e2e


def modes(folder: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}


def test_the_queue_and_the_recordings_are_owner_only(tmp_path: Path) -> None:
    data, recorded = tmp_path / "data", tmp_path / "recorded"
    old = os.umask(0o002)
    try:
        bridge = start_bridge(
            tmp_path, BRIDGE_DB=str(data / "bridge.db"), BRIDGE_RECORD_DIR=str(recorded)
        )
    finally:
        os.umask(old)
    try:
        assert bridge.post(body_of(text("7000000000000101", "hello", "m_private", START_MS))).ok
        bridge.wait_done("m_private")
        queue_files = modes(data)
        recordings = modes(recorded)
    finally:
        assert stop_bridge(bridge) == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    # The queue, and local mode's state file beside it (the inbox of replies).
    expected = ["bridge.db", "bridge.db-wal", "bridge.db-shm", "bridge.db-lock"]
    expected += ["bridge-local.db", "bridge-local.db-wal", "bridge-local.db-shm"]
    assert queue_files == dict.fromkeys(expected, 0o600)
    assert stat.S_IMODE(recorded.stat().st_mode) == 0o700
    assert recordings and set(recordings.values()) == {0o600}, recordings
