"""How the bridge logs: the level, and JSON lines or text."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.config.env import EnvReader

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")


@dataclass(frozen=True)
class LogSettings:
    """``format`` json: one JSON object a line, for log collectors; text: for people."""

    level: str = "INFO"
    format: str = "json"


def read_log(env: EnvReader) -> LogSettings:
    """LOG_LEVEL (any case) and LOG_FORMAT."""
    return LogSettings(
        level=env.choice("LOG_LEVEL", LOG_LEVELS, "INFO", upper=True),
        format=env.choice("LOG_FORMAT", LOG_FORMATS, "json"),
    )
