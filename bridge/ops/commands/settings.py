"""The settings a command runs with, read once from the environment."""

from __future__ import annotations

import os
import sys

import click

from bridge.config.settings import Settings
from bridge.errors import ConfigError


def settings_or_exit(*, check_bot: bool = False) -> Settings:
    """The settings, or exit 2 naming every problem (with the bot's own checks if asked)."""
    try:
        settings = Settings.from_env(os.environ)
        if check_bot:
            from bridge.bots import make_bot

            make_bot(settings)
        return settings
    except ConfigError as error:
        click.echo(f"messenger-lex-bridge: {error}", err=True)
        sys.exit(2)
