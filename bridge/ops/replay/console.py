"""A replay run as the command shows it: a line saying what is about to happen, each
outcome as it arrives (lines, or JSON lines with ``--json``), a progress bar on stderr for
long runs, then the summary and the exit status.

Results go to stdout and everything else (the plan, errors, the bar) to stderr, so
``--json`` output can be piped whole.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import click

from bridge.errors import ReplayError
from bridge.ops.replay.outcomes import Outcome, summarise
from bridge.ops.replay.replayer import Replayer
from bridge.ops.replay.report import (
    format_outcome,
    format_summary,
    outcome_json,
    plural,
    summary_json,
)

PROGRESS_MIN = 20  # more deliveries than this is a long run: show a progress bar
_NAME_WIDTH = 48  # file names longer than this are not padded to
_ERASE_LINE = "\r\x1b[2K"


def run(
    paths: Sequence[Path],
    replayer: Replayer,
    *,
    as_json: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Replay ``paths`` (files, already found) and print; returns the exit code (0 if every
    delivery was answered 200, else 1)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        local = replayer.probe()
    except ReplayError as error:
        click.echo(f"error: {error}", file=err)
        return 1
    click.echo(announcement(replayer, len(paths), local=local), file=err)
    names = [str(path) for path in paths]
    width = min(max(map(len, names), default=0), _NAME_WIDTH)
    screen = _Screen(out, err, as_json=as_json, width=width)
    outcomes, interrupted = _replay_all(replayer, paths, names, screen)
    summary = summarise(outcomes, interrupted=interrupted)
    for line in [summary_json(summary)] if as_json else format_summary(summary):
        click.echo(line, file=out)
    return 0 if summary.ok else 1


def announcement(replayer: Replayer, files: int, *, local: bool) -> str:
    """What is about to be sent, where, and whether each event will be followed."""
    mode = (
        f"following each event for up to {replayer.wait:g} s"
        if local
        else "statuses only: --no-wait"
        if replayer.wait is None
        else "statuses only: not a bridge in local mode"
    )
    deliveries = plural(files * replayer.repeat, "delivery")
    return f"replaying {plural(files, 'file')} ({deliveries}) to {replayer.url}; {mode}"


def wants_progress(total: int, *, as_json: bool, stderr_tty: bool) -> bool:
    """A progress bar for long runs, unless --json output goes to a non-terminal stderr."""
    return total > PROGRESS_MIN and (stderr_tty or not as_json)


@dataclass(frozen=True)
class _Screen:
    """Where and how outcomes are printed."""

    out: TextIO
    err: TextIO
    as_json: bool
    width: int

    def show(self, outcome: Outcome, repeat: int) -> None:
        if outcome.attempt is None:
            click.echo(f"error: {outcome.file}: {outcome.error}", file=self.err)
        if self.as_json:
            click.echo(outcome_json(outcome), file=self.out)
        elif outcome.attempt is not None:
            for line in format_outcome(outcome, width=self.width, repeat=repeat):
                click.echo(line, file=self.out)


def _replay_all(
    replayer: Replayer, paths: Sequence[Path], names: Sequence[str], screen: _Screen
) -> tuple[list[Outcome], bool]:
    """Every outcome, shown as it arrives, and whether the run was interrupted (Ctrl-C)."""
    total = len(paths) * replayer.repeat
    tty = screen.err.isatty()
    hidden = not wants_progress(total, as_json=screen.as_json, stderr_tty=tty)
    outcomes: list[Outcome] = []
    with click.progressbar(length=total, label="replaying", file=screen.err, hidden=hidden) as bar:
        try:
            for path, name in zip(paths, names, strict=True):
                for outcome in replayer.replay(path, name):
                    outcomes.append(outcome)
                    if tty and not bar.hidden:
                        screen.err.write(_ERASE_LINE)  # the bar's line, before printing
                    screen.show(outcome, replayer.repeat)
                    bar.update(replayer.repeat if outcome.attempt is None else 1)
        except KeyboardInterrupt:
            return outcomes, True
    return outcomes, False
