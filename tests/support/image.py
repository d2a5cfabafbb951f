"""The container engine the image test drives, and the image and containers it makes.

``find_engine`` takes podman, else docker (``IMAGE_ENGINE=podman|docker`` chooses when both
are installed), if it answers. Two options are added on machines that need them, and only
there:

- podman with cgroups in hybrid mode (v1 controllers, and a v2 hierarchy that still has
  controllers): crun refuses to start containers there, runc does not, so ``--runtime runc``;
- podman without ``CAP_SYS_RESOURCE`` (a sandboxed CI machine, say): podman asks for more open
  files and processes than this process may have and the runtime cannot raise them, so each
  container and build step gets this process's own limits (``--ulimit nofile=…,nproc=…``).

``build`` runs the engine's build of the Dockerfile (podman: ``--format docker``, which keeps
the HEALTHCHECK) with build arguments and secrets; ``container`` runs one and removes it, and
its volumes, whatever the test did.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CAP_SYS_RESOURCE = 24
# What podman's defaults ask for, and the most a test container needs.
NOFILE_CAP, NPROC_CAP = 1_048_576, 32_768


@dataclass(frozen=True)
class Engine:
    name: str  # podman or docker
    command: tuple[str, ...]  # the engine and its global options
    limits: tuple[str, ...] = ()  # --ulimit options for every container and build step

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``engine args…``, output captured; the caller checks the exit status."""
        return subprocess.run(
            [*self.command, *args], capture_output=True, text=True, timeout=timeout
        )

    def check(self, *args: str, timeout: float = 120) -> str:
        """``engine args…``: its stdout, or an assertion error with its stderr."""
        done = self.run(*args, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(args[:3])}… exited {done.returncode}:\n" + (
            done.stderr[-4000:] or done.stdout[-4000:]
        )
        return done.stdout

    def inspect(self, *args: str) -> dict[str, Any]:
        """The first object ``engine … inspect`` prints (an image or a container)."""
        return json.loads(self.check(*args))[0]  # type: ignore[no-any-return]


def _answers(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _hybrid_cgroups() -> bool:
    controllers = Path("/sys/fs/cgroup/unified/cgroup.controllers")
    return controllers.is_file() and bool(controllers.read_text().split())


def _lacks_sys_resource() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return not int(line.split()[1], 16) >> CAP_SYS_RESOURCE & 1
    return False


def _own_limits() -> tuple[str, ...]:
    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], NOFILE_CAP)
    nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], NPROC_CAP)
    return ("--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}")


def _podman() -> Engine:
    command = ["podman"]
    if _hybrid_cgroups():
        if shutil.which("runc") is None:
            raise RuntimeError("cgroups in hybrid mode: crun cannot run containers; install runc")
        command += ["--runtime", "runc"]
    limits = _own_limits() if _lacks_sys_resource() else ()
    return Engine("podman", tuple(command), limits)


def find_engine() -> Engine | None:
    """podman or docker, installed and answering; None if neither is."""
    wanted = os.environ.get("IMAGE_ENGINE", "")
    for name in ("podman", "docker"):
        if wanted and name != wanted or shutil.which(name) is None:
            continue
        if _answers([name, "info"]):  # a docker client without its daemon does not answer
            return _podman() if name == "podman" else Engine("docker", ("docker",))
    return None


def build(
    engine: Engine, tag: str, build_args: Mapping[str, str], secrets: Mapping[str, Path]
) -> None:
    """Build the Dockerfile at the project's root as ``tag``."""
    options = ["--format", "docker"] if engine.name == "podman" else []
    for name, value in build_args.items():
        options += ["--build-arg", f"{name}={value}"]
    for name, path in secrets.items():
        options += ["--secret", f"id={name},src={path}"]
    engine.check("build", *options, *engine.limits, "-t", tag, str(ROOT), timeout=1200)


def image_size(engine: Engine, image: str) -> int:
    """Bytes, uncompressed: every layer of the image, its base's included."""
    return int(engine.inspect("image", "inspect", image)["Size"])


def healthcheck(engine: Engine, image: str) -> list[str]:
    """The image's HEALTHCHECK test (``["CMD", …]``), or [] if it has none."""
    found = engine.inspect("image", "inspect", image)
    check = found.get("Healthcheck") or (found.get("Config") or {}).get("Healthcheck") or {}
    return list(check.get("Test") or [])


@contextmanager
def container(engine: Engine, name: str, run_args: list[str]) -> Iterator[str]:
    """``engine run`` with this machine's limits and ``run_args`` (which start the container
    detached, as ``name``); yields the name, then removes it and its volumes."""
    try:
        engine.check("run", *engine.limits, *run_args)
        yield name
    finally:
        engine.run("rm", "-f", "-v", name, timeout=120)


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
