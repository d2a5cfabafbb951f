"""How a replay run is shown (bridge/ops/replay/console.py): the plan line and when a
progress bar is drawn; the whole command is run in test_replayer.py."""

from __future__ import annotations

from bridge.ops.replay.console import announcement, wants_progress
from bridge.ops.replay.replayer import Replayer


def test_a_progress_bar_only_for_long_runs() -> None:
    assert not wants_progress(20, as_json=False, stderr_tty=True)
    assert wants_progress(21, as_json=False, stderr_tty=False)
    assert wants_progress(21, as_json=True, stderr_tty=True)
    assert not wants_progress(21, as_json=True, stderr_tty=False)


def test_the_plan_says_what_is_sent_where_and_whether_it_is_followed() -> None:
    replayer = Replayer("http://127.0.0.1:8000", "s", repeat=3)
    assert announcement(replayer, 2, local=True) == (
        "replaying 2 files (6 deliveries) to http://127.0.0.1:8000/webhook; "
        "following each event for up to 30 s"
    )
    assert announcement(replayer, 1, local=False).endswith(
        "1 file (3 deliveries) to http://127.0.0.1:8000/webhook; "
        "statuses only: not a bridge in local mode"
    )
    quiet = Replayer("http://127.0.0.1:8000", "s", wait=None)
    assert announcement(quiet, 1, local=False).endswith(
        "(1 delivery) to http://127.0.0.1:8000/webhook; statuses only: --no-wait"
    )
