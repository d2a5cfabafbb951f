"""``python -m bridge replay``: post recorded webhook bodies to a bridge, signed, and show what
it did (bridge/ops/replay/replayer.py). The command (bridge/cli.py) uses the names below."""

from __future__ import annotations

from bridge.ops.replay.replayer import Replayer, choose_secret, find_files, run

__all__ = ["Replayer", "choose_secret", "find_files", "run"]
