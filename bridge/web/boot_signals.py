"""A stop signal that reaches a worker while it boots is kept until the worker can act on it.

gunicorn forks a worker and only then, in the child, replaces the master's signal handlers
with the worker's. A SIGTERM the master sends in between (``docker stop`` or a deploy right
after a start, while a worker is still booting) runs the master's handler in the child, which
queues it where nobody reads it: the worker keeps running, and the master waits its whole
``graceful_timeout`` (60 s by default) before it kills it.

So the master blocks the stop signals just before it forks a worker (gunicorn.conf.py's
``pre_fork``) and unblocks them in itself right after the fork; the child inherits the blocked
mask and unblocks it once the worker's own handlers are in place (``post_worker_init``): a
signal sent meanwhile waits in the kernel and is handled then, as a worker would handle it.
"""

from __future__ import annotations

import os
import signal

# The signals a worker acts on by stopping (TERM, QUIT, INT) or reopening its logs (USR1).
HELD = frozenset({signal.SIGTERM, signal.SIGQUIT, signal.SIGINT, signal.SIGUSR1})

_after_fork_registered = False


def hold_for_fork() -> None:
    """In the master, just before it forks a worker: block the stop signals until the fork
    is done (in the master) or the worker is ready for them (in the worker)."""
    global _after_fork_registered
    if not _after_fork_registered:  # once per process: a reload (SIGHUP) runs the hooks again
        os.register_at_fork(after_in_parent=release)
        _after_fork_registered = True
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD)


def release() -> None:
    """Unblock the stop signals; one sent while they were blocked is delivered now."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
