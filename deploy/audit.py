"""``make audit``: pip-audit on requirements.lock, with a verdict a person and CI can act on.

pip-audit asks a vulnerability service about each release the lock pins (PyPI's JSON API by
default, ``--service osv`` for OSV's database), so it needs that service on the network. It
exits 1 both when it finds something and when it cannot ask; this separates the two:

- 0: no pinned release has a known vulnerability; or nothing could be audited (the service did
  not answer, or knows none of the packages), which is said plainly, naming the reason;
- 1: at least one pinned release has a known vulnerability: each is listed with its id and the
  releases that fix it (raise the pin in requirements.txt if needed, then ``make lock``);
- 2: pip-audit failed for another reason (a malformed lock, say): its error is shown.

``python -m deploy.audit [--service pypi|osv] [LOCK]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# What a request that never reached the service leaves in pip-audit's error output.
UNREACHABLE = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|SSLError|NameResolutionError"
    r"|Max retries exceeded|Temporary failure in name resolution|Name or service not known"
)


def pip_audit(lock: Path, service: str) -> subprocess.CompletedProcess[str]:
    """pip-audit on ``lock`` as it stands (hashed pins: no resolution, no virtualenv)."""
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(lock)]
    command += ["--require-hashes", "--disable-pip", "--vulnerability-service", service]
    command += ["--progress-spinner", "off", "--format", "json"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def _report(stdout: str) -> list[dict[str, Any]] | None:
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    dependencies = report.get("dependencies") if isinstance(report, dict) else None
    return dependencies if isinstance(dependencies, list) else None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _vulnerability(dependency: dict[str, Any]) -> list[str]:
    found = []
    for vulnerability in dependency["vulns"]:
        fixes = ", ".join(vulnerability.get("fix_versions") or []) or "none yet"
        found.append(
            f"  {dependency['name']} {dependency['version']}: {vulnerability['id']}"
            f" (fixed in: {fixes})"
        )
    return found


def verdict(returncode: int, stdout: str, stderr: str) -> tuple[int, str]:
    """The exit status and the message for one pip-audit run."""
    dependencies = _report(stdout)
    if dependencies is None:
        if UNREACHABLE.search(stderr):
            reason = _last_line(stderr)
            return 0, f"nothing was audited: the vulnerability service did not answer ({reason})"
        return 2, f"pip-audit failed (exit {returncode}):\n{stderr.strip()[-4000:]}"
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = len(dependencies) - len(skipped)
    lines = [line for dependency in vulnerable for line in _vulnerability(dependency)]
    if skipped:
        names = ", ".join(d["name"] for d in skipped)
        reason = str(skipped[0]["skip_reason"]).split(":")[0]
        lines.append(f"not audited ({reason}): {names}")
    if vulnerable:
        head = f"known vulnerabilities in {len(vulnerable)} of the {audited} audited packages:"
        return 1, "\n".join([head, *lines])
    if not audited:
        head = "nothing was audited: the vulnerability service knows none of the packages"
        return 0, "\n".join([head, *lines])
    return 0, "\n".join([f"no known vulnerabilities in the {audited} audited packages", *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.audit", description=__doc__)
    parser.add_argument("lock", nargs="?", type=Path, default=ROOT / "requirements.lock")
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    args = parser.parse_args(argv)
    done = pip_audit(args.lock, args.service)
    code, message = verdict(done.returncode, done.stdout, done.stderr)
    print(f"{args.lock.name} ({args.service}): {message}")
    return code


if __name__ == "__main__":
    sys.exit(main())
