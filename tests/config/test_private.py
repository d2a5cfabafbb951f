"""Owner-only files and folders for what people wrote, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config.private import private_file, private_folder
from bridge.queue.sqlite.store import SqliteQueue
from tests.queue.sqlite.test_store import job


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o002)  # group and others may read and write by default
    yield
    os.umask(old)


def test_a_new_folder_and_file_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    folder = private_folder(tmp_path / "a" / "b")
    assert (mode(tmp_path / "a"), mode(folder)) == (0o700, 0o700)
    path = private_file(folder / "f")
    assert mode(path) == 0o600 and path.read_bytes() == b""


def test_an_existing_file_is_narrowed_and_keeps_its_content(tmp_path: Path) -> None:
    path = tmp_path / "old"
    path.write_text("kept")
    path.chmod(0o644)
    private_file(path)
    assert (mode(path), path.read_text()) == (0o600, "kept")


def test_an_existing_folder_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    private_file(private_folder(shared) / "f")
    assert mode(shared) == 0o1777


def test_the_queue_database_and_its_siblings_are_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "data" / "bridge.db"
    queue = SqliteQueue(path)
    queue.put([job("m1")], now=0)
    assert queue.claim(owner="w", process="p", now=1, lease=30) is not None
    files = {p.name: mode(p) for p in path.parent.iterdir()}
    assert files == {
        "bridge.db": 0o600,
        "bridge.db-wal": 0o600,
        "bridge.db-shm": 0o600,
        "bridge.db-lock": 0o600,
    }
    assert mode(path.parent) == 0o700
    queue.close()


def test_a_database_made_with_the_umask_s_mode_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    first = SqliteQueue(path)  # an earlier process, still running: -wal and -shm exist
    first.put([job("m1")], now=0)
    for sibling in tmp_path.iterdir():
        sibling.chmod(0o644)
    second = SqliteQueue(path)
    second.put([job("m2")], now=0)
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == {
        "bridge.db": 0o600,
        "bridge.db-wal": 0o600,
        "bridge.db-shm": 0o600,
        "bridge.db-lock": 0o600,
    }
    first.close()
    second.close()
