"""Where the bridge keeps what people wrote: owner-only files and folders, whatever the umask.

The queue database (and the ``-wal``, ``-shm`` and ``-lock`` files beside it), local mode's
state file (the inbox of replies) and recorded webhooks hold message text and PSIDs, so they
are created ``0600`` and the folders the bridge creates for them ``0700``. A database file
made before (``0644`` under a usual umask) is narrowed when the bridge opens it again, if this
user owns it; a folder that already existed is left as it is (it may be shared, such as
``/tmp``).
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """Create ``path`` (and its missing parents) owner-only; an existing folder is kept."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        folder.chmod(FOLDER_MODE)  # mkdir's mode is cut by the umask; chmod's is not
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` owner-only if it is missing, or narrow it to owner-only if this user
    owns it; its content is untouched."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        if os.fstat(descriptor).st_uid == os.getuid():
            os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)
    return path


def private_database(path: Path) -> Path:
    """An SQLite database file and its folder owner-only, before SQLite opens it: SQLite gives
    the ``-wal`` and ``-shm`` files it creates the database file's mode, and those an earlier
    version made with the umask's mode are narrowed here."""
    private_folder(path.parent)
    private_file(path)
    for sibling in (path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        if sibling.exists():
            private_file(sibling)
    return path
