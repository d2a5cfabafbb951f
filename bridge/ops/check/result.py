"""One check's verdict (``CheckResult``), and the builders every family of checks uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.errors import ConfigError

SETUP = "python -m bridge setup"  # the fix for most subscription and permission problems


@dataclass(frozen=True)
class CheckResult:
    """One check: ``ok`` it passed; ``skipped`` it was not run (``ok`` then says whether that
    is fine: an optional check, or one that needs another check to pass first)."""

    name: str
    title: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False
    page: str | None = None  # with several Pages: the Page checked

    def to_json(self) -> dict[str, Any]:
        result = {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
            "skipped": self.skipped,
        }
        return result if self.page is None else {"page": self.page, **result}


def fail(name: str, title: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, title, False, detail, fix)


def not_run(name: str, title: str, because: str, fix: str) -> CheckResult:
    """A check that needs another one to pass first."""
    return CheckResult(name, title, False, f"not checked: {because}", fix, skipped=True)


def config_failure(error: ConfigError) -> CheckResult:
    """The configuration itself is broken: the only verdict there is."""
    return fail(
        "config",
        "Configuration",
        "; ".join(error.problems),
        "set the variables named (config.example.env lists every one)",
    )
