"""CPU time and proportional set size of a whole process group, and whether it still runs,
read from ``/proc``."""

from __future__ import annotations

import os
from pathlib import Path


def _group_pids(pgid: int, *, live: bool = False) -> list[int]:
    """The processes of group ``pgid``; with ``live``, not those dead but not yet reaped."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields 3 and 5 of /proc/pid/stat: the state (Z: a zombie) and the process group.
        if int(fields[2]) == pgid and not (live and fields[0] in ("Z", "X")):
            pids.append(int(entry.name))
    return pids


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs."""
    return bool(_group_pids(pgid, live=True))


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in the group."""
    total = 0
    for pid in _group_pids(pgid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def pss_mb(pgid: int) -> float | None:
    """Proportional set size of the whole process group, MB."""
    total_kb = 0
    for pid in _group_pids(pgid):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:
            return None
    return total_kb / 1024
