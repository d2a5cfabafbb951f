"""A stand-in for ``python:3.11-slim-bookworm``, made from Debian's own packages, for machines
that cannot pull from Docker Hub (CI among them).

``debootstrap --variant=minbase`` installs Debian 12 with ``python3.11``, ``python3-pip``,
``python3-venv`` and ``ca-certificates``; then, to give the Dockerfile what the real image
gives it:

- ``python``, ``python3``, ``pip`` and ``pip3`` in ``/usr/local/bin`` (the real image's
  interpreter lives there), pointing at Debian's ``/usr/bin/python3.11`` and ``pip3``;
- Debian's ``EXTERNALLY-MANAGED`` marker removed, so ``pip install`` as root installs into
  the system, as in the real image (Debian's pip puts it under
  ``/usr/local/lib/python3.11/dist-packages``);
- the image's ``PATH`` (``/usr/local/bin`` first), ``LANG=C.UTF-8`` and ``CMD ["python3"]``;
- apt's caches and package lists, documentation, man pages and translations deleted, as
  the slim images do.

How it differs from the real base: the interpreter is Debian's build of CPython 3.11 (3.11.2
with Debian's security patches, linked against Debian's OpenSSL, SQLite and expat) rather
than the latest 3.11 release built from source into ``/usr/local``; pip is Debian's (23.0.1,
with Debian's setuptools and wheel beside it in ``/usr/lib/python3/dist-packages``) rather
than the release the image bundles; the image has none of the real one's ``PYTHON_VERSION``
/ ``GPG_KEY`` variables, labels or history; and it is built for this machine's architecture
only, from today's Debian packages, so two builds need not be identical.

``python -m tests.support.standin_base [ENGINE]`` builds it and tags it
``localhost/python:3.11-slim-bookworm`` (``ENGINE``: podman, the default, or docker); the
image test builds on it with ``--build-arg BASE=…``. The root filesystem is kept as a
tarball in ``var/image/`` (named after a hash of this file, so a change here rebuilds it):
later runs only import it. Needs root, debootstrap and a Debian mirror (``DEBIAN_MIRROR``,
default ``http://deb.debian.org/debian``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "image"
TAG = "localhost/python:3.11-slim-bookworm"
SUITE = "bookworm"
PACKAGES = ("python3.11", "python3-pip", "python3-venv", "ca-certificates")
RECIPE_LABEL = "messenger-lex-bridge.standin-recipe"
CHANGES = (
    "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)
# Deleted after debootstrap, as the slim images do (paths inside the root filesystem).
TRIMMED = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
SHIMS = {
    "python": "/usr/bin/python3.11",
    "python3": "/usr/bin/python3.11",
    "pip": "/usr/bin/pip3",
    "pip3": "/usr/bin/pip3",
}


def recipe() -> str:
    """A short hash of this file: the stand-in is rebuilt whenever its recipe changes."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def tarball() -> Path:
    return CACHE / f"python-3.11-slim-bookworm-standin-{recipe()}.tar"


def _run(*command: str, timeout: float) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")


def _bootstrap(rootfs: Path) -> None:
    """Debian 12, minbase, with the packages above; then trimmed and given the shims."""
    mirror = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
    include = ",".join(PACKAGES)
    _run(
        "debootstrap",
        "--variant=minbase",
        f"--include={include}",
        SUITE,
        str(rootfs),
        mirror,
        timeout=900,
    )
    for relative in TRIMMED:
        folder = rootfs / relative
        for child in folder.iterdir() if folder.is_dir() else ():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    for log in (rootfs / "var" / "log").glob("*.log"):
        log.unlink()
    (rootfs / "usr" / "lib" / "python3.11" / "EXTERNALLY-MANAGED").unlink(missing_ok=True)
    for name, target in SHIMS.items():
        shim = rootfs / "usr" / "local" / "bin" / name
        shim.unlink(missing_ok=True)
        shim.symlink_to(target)


def build_tarball() -> Path:
    """The stand-in's root filesystem as a tarball, from the cache or made now."""
    path = tarball()
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="standin-") as work:
        rootfs = Path(work) / "rootfs"
        _bootstrap(rootfs)
        partial = Path(work) / path.name
        _run("tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), ".", timeout=300)
        partial.replace(path)  # whole or not at all: an interrupted run leaves no tarball
    for stale in CACHE.glob("python-3.11-slim-bookworm-standin-*.tar"):
        if stale != path:
            stale.unlink()
    return path


def _labels(engine: list[str]) -> dict[str, str]:
    found = subprocess.run(
        [*engine, "image", "inspect", TAG], capture_output=True, text=True, timeout=60
    )
    if found.returncode != 0:
        return {}
    config = json.loads(found.stdout)[0].get("Config") or {}
    return dict(config.get("Labels") or {})


def ensure(engine: list[str]) -> str:
    """Tag the stand-in as ``TAG`` in ``engine``'s store (unless this recipe's is there)."""
    if _labels(engine).get(RECIPE_LABEL) == recipe():
        return TAG
    changes = [*CHANGES, f"LABEL {RECIPE_LABEL}={recipe()}"]
    options = [option for change in changes for option in ("--change", change)]
    _run(*engine, "import", *options, str(build_tarball()), TAG, timeout=600)
    return TAG


if __name__ == "__main__":
    print(ensure(sys.argv[1:] or ["podman"]))
