"""The soak on a short run: both restarts, every fault, every target met."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _figure(lines: list[str], pattern: str) -> re.Match[str]:
    found = [m for m in (re.fullmatch(pattern, line) for line in lines) if m]
    assert len(found) == 1, f"{pattern!r} in:\n" + "\n".join(lines)
    return found[0]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_a_short_soak_through_both_restarts_meets_every_target(tmp_path: Path) -> None:
    # 15 s from 20 senders; Graph holds 5 % (not 1 %) so that a short run has held sends.
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--duration", "15", "--senders", "20"]
        + ["--rate", "8", "--graph-hold", "0.05", "--drain-timeout", "60"]
        + ["--folder", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    _figure(lines, r"kill -9 at 4\.\d s: stopped in \d+\.\d s, serving again \d+\.\d s later")
    _figure(lines, r"SIGTERM at 9\.\d s: stopped in \d+\.\d s, serving again \d+\.\d s later")
    sent = _figure(lines, r"sent: ([\d,]+), acked: ([\d,]+), never acked: 0")
    assert _number(sent[1]) == _number(sent[2]) > 30
    graph = _figure(lines, r"Graph: ([\d,]+) message sends, ([\d,]+) answered 5xx, ([\d,]+) held.*")
    assert _number(graph[2]) > 0 and _number(graph[3]) > 0
    lex = _figure(lines, r"Lex: ([\d,]+) calls, ([\d,]+) throttled")
    assert _number(lex[2]) > 0
    _figure(lines, r"webhook: [\d,]+ posts; no answer: .*refused [1-9][\d,]*.*")
    _figure(lines, r"queue after the drain: 0 queued, 0 retrying, 0 running, .*, 0 dead")
    assert "lost: 0" in lines and "out of order: 0" in lines
    assert "webhook 5xx: 0 (other non-200: 0)" in lines
    duplicated = _figure(lines, r"duplicated: ([\d,]+) \(([\d,]+) ambiguous.*; 0 not ambiguous\)")
    assert duplicated[1] == duplicated[2] != "0"  # the held sends came back, each judged
    assert not [line for line in lines if "NOT ambiguous" in line]
    assert "stray replies: 0" in lines
    assert "targets: all met" in lines
