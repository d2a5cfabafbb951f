"""Reading a Messenger profile file: JSON, or YAML (.yaml/.yml) when PyYAML is installed.

A file is refused whole, with every problem and its JSON path, before any Graph call: a
duplicate key (JSON keeps only the last, silently), a syntax error, or what
``validate_profile`` finds against Messenger's limits.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from bridge.errors import Problem, ProfileError
from bridge.messenger.profile import validate_profile

_YAML_SUFFIXES = (".yaml", ".yml")


def load_profile(path: Path) -> dict[str, Any]:
    """Read and validate a profile file (JSON; YAML for .yaml/.yml when PyYAML is installed).

    Raises ``ProfileError`` listing every problem, each with its JSON path.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(path), [Problem("$", f"cannot read the file: {exc}")]) from None
    document = (
        _parse_yaml(text, str(path))
        if path.suffix.lower() in _YAML_SUFFIXES
        else _parse_json(text, str(path))
    )
    problems = validate_profile(document)
    if problems:
        raise ProfileError(str(path), problems)
    assert isinstance(document, dict)
    return document


def _parse_json(text: str, source: str) -> object:
    duplicates: list[str] = []

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        document = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ProfileError(
            source,
            [Problem("$", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")],
        ) from None
    if duplicates:
        raise ProfileError(
            source,
            [
                Problem(
                    "$", f"the key {key!r} appears twice in one object (only the last would count)"
                )
                for key in duplicates
            ],
        )
    return document


def _parse_yaml(text: str, source: str) -> object:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise ProfileError(
            source,
            [
                Problem(
                    "$",
                    "reading YAML needs PyYAML, which is not installed: pip install pyyaml, or "
                    "write the profile as JSON",
                )
            ],
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(source, [Problem("$", f"not valid YAML: {exc}")]) from None
