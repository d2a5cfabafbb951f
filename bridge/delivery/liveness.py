"""Whether a process on this host still exists (POSIX); used to recover work of dead ones."""

from __future__ import annotations

import os
import socket


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (ours, or someone else's)."""
    if pid == os.getpid() or os.name != "posix":  # os.kill(pid, 0) terminates on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def process_namespace() -> str:
    """Where a pid means something: the host name plus the pid namespace, so containers that
    share a host name (and a queue volume) never judge each other's pids."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/pidns:{namespace}"
