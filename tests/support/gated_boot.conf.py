"""gunicorn.conf.py, with workers that wait at a gate right after fork.

gunicorn's ``post_fork`` hook runs in the new worker before it installs its own signal
handlers; here it waits until the file ``BOOT_GATE`` names exists, so a test can send a signal
to a worker at exactly that point of its boot and then let it go on.
"""

import os
import time
from pathlib import Path
from typing import Any

exec(compile(Path("gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"))


def post_fork(server: Any, worker: Any) -> None:
    gate = Path(os.environ["BOOT_GATE"])
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
