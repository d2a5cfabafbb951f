"""requirements.lock, what the image installs: every requirement of requirements.txt pinned
within its range, every pin exact and hashed, and nothing left over from an older
requirements.txt (``make lock`` rewrites it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*\\?$")
HASH = re.compile(r"^\s+--hash=sha256:([0-9a-f]{64})\s*\\?$")


@dataclass
class Pin:
    version: Version
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)  # pip-compile's "# via" lines


def read_lock() -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in LOCK.read_text().splitlines():
        if pin := PIN.match(line):
            current = pins[canonicalize_name(pin.group(1))] = Pin(Version(pin.group(2)))
        elif (digest := HASH.match(line)) and current is not None:
            current.hashes.append(digest.group(1))
        elif line.startswith("    #") and current is not None:
            current.via.append(line.strip("# ").removeprefix("via").strip())
        else:
            assert not line.strip() or line.startswith("#"), f"unexpected line: {line!r}"
    return pins


def requirements() -> list[Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def test_every_requirement_is_pinned_within_its_range() -> None:
    pins = read_lock()
    for requirement in requirements():
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not in requirements.lock: make lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"requirements.lock pins {requirement.name}=={pin.version}, outside"
            f" {requirement.specifier}: make lock"
        )


def test_every_pin_is_exact_and_hashed() -> None:
    pins = read_lock()
    assert len(pins) > len(requirements()), "the dependencies of the requirements are pinned too"
    for name, pin in pins.items():
        assert pin.hashes, f"{name} has no --hash: pip --require-hashes would refuse the lock"
        assert pin.via, f"{name}: no '# via' line (was the lock written by make lock?)"


def test_only_the_requirements_of_today_are_direct() -> None:
    direct = {name for name, pin in read_lock().items() if "-r requirements.txt" in pin.via}
    assert direct == {canonicalize_name(r.name) for r in requirements()}, "run make lock"


def test_the_lock_says_how_it_was_made() -> None:
    header = LOCK.read_text().split("\n\n", 1)[0]
    assert "pip-compile with Python 3.11" in header and "make lock" in header, header
