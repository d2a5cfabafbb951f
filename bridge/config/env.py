"""Reading environment variables: typed values, and every problem collected, not only the first.

Each group of settings reads its variables through one ``EnvReader``; ``Settings.from_env``
raises one ``ConfigError`` listing whatever problems the groups found together.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

MAX_INPUT_TEXT = 1024  # Lex's limit on the text of a turn


class EnvReader:
    """Reads variables and collects every problem instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def is_set(self, name: str) -> bool:
        return self._raw(name) is not None

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def optional_path(self, name: str) -> Path | None:
        value = self._raw(name)
        return None if value is None else Path(value)

    def address_list(self, name: str, default: str) -> str:
        """Comma-separated IP addresses or networks (``10.0.0.0/8``), or ``*`` for any."""
        value = self._raw(name)
        if value is None:
            return default
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                self.problem(
                    f"{name} has {entry!r}: expected IP addresses or networks separated by"
                    " commas (e.g. 127.0.0.1,10.0.0.0/8), or *"
                )
        return ",".join(entries) or default

    def address(self, name: str, default: str, hint: str) -> str:
        """One IP address (v4 or v6), e.g. an address to listen on."""
        value = self._raw(name)
        if value is None:
            return default
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            self.problem(f"{name}={value!r} is malformed: expected {hint}")
            return default

    def secret(self, name: str, default: str | None, hint: str) -> str:
        value = self._raw(name) or default
        if value is None:
            self.problem(f"{name} is missing: set it to {hint}")
            return ""
        return value

    def matching(
        self, name: str, pattern: re.Pattern[str], hint: str, default: T, *, required: bool = False
    ) -> str | T:
        value = self._raw(name)
        if value is None:
            if required:
                self.problem(f"{name} is missing: set it to {hint}")
            return default
        if not pattern.match(value):
            self.problem(f"{name} is malformed: expected {hint}")
        return value

    def choice(
        self, name: str, options: tuple[str, ...], default: str, *, upper: bool = False
    ) -> str:
        value = self._raw(name)
        if value is None:
            return default
        value = value.upper() if upper else value.lower()
        if value not in options:
            self.problem(f"{name}={value!r} is not allowed: expected one of {', '.join(options)}")
            return default
        return value

    def _parsed(self, name: str, default: T, parse: Callable[[str], T], hint: str) -> T:
        value = self._raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError:
            self.problem(f"{name}={value!r} is malformed: expected {hint}")
            return default

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        hint = f"a whole number from {low} to {high}"
        number = self._parsed(name, default, int, hint)
        if not low <= number <= high:
            self.problem(f"{name}={number} is out of range: expected {hint}")
        return number

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        hint = f"a number from {low:g} to {high:g}"
        number = self._parsed(name, default, float, hint)
        if not low <= number <= high:
            self.problem(f"{name}={number:g} is out of range: expected {hint}")
        return number

    def kinds(self, name: str, known: tuple[str, ...]) -> frozenset[str]:
        """Comma-separated names from ``known``, or ``all`` for every one of them."""
        value = self._raw(name)
        if value is None:
            return frozenset()
        names = [part.strip().lower() for part in value.split(",") if part.strip()]
        if names == ["all"]:
            return frozenset(known)
        for unknown in [entry for entry in names if entry not in known]:
            self.problem(
                f"{name} has {unknown!r}: expected all, or some of {', '.join(known)}"
                " separated by commas"
            )
        return frozenset(entry for entry in names if entry in known)

    def kind_texts(self, name: str, known: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """``kind=text`` pairs separated by commas, each kind from ``known``."""
        value = self._raw(name)
        if value is None:
            return ()
        pairs: dict[str, str] = {}
        for part in (part for part in value.split(",") if part.strip()):
            kind, equals, text = (piece.strip() for piece in part.partition("="))
            kind = kind.lower()
            if not equals or kind not in known or not text or len(text) > MAX_INPUT_TEXT:
                self.problem(
                    f"{name} has {part.strip()!r}: expected kind=text pairs separated by commas,"
                    f" each kind one of {', '.join(known)} and each text 1-{MAX_INPUT_TEXT}"
                    " characters without commas, e.g. image=photo,like=yes"
                )
                continue
            pairs[kind] = text
        return tuple(pairs.items())

    def boolean(self, name: str, default: bool) -> bool:
        def parse(value: str) -> bool:
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)

        return self._parsed(name, default, parse, "true or false")
