"""``python -m bridge setup``: subscribe each Page to the app and apply a Messenger profile."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bridge.errors import ProfileError
from bridge.ops.commands.pages import PAGE_OPTION, chosen_pages, graph_client
from bridge.ops.commands.settings import settings_or_exit

if TYPE_CHECKING:
    from bridge.config.settings import Settings
    from bridge.ops.setup.apply import SetupOptions


@click.command()
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Messenger profile to apply (JSON; YAML for .yaml/.yml if PyYAML is installed). See "
    "messenger-profile.example.json.",
)
@click.option(
    "--dry-run", is_flag=True, help="Show the current state and the differences; change nothing."
)
@click.option(
    "--fields",
    "fields",
    metavar="NAME,...",
    help="Only these profile fields (get_started, greeting, persistent_menu, ice_breakers, "
    "whitelisted_domains); default: every field in the file.",
)
@click.option(
    "--delete-missing",
    is_flag=True,
    help="Delete profile fields set on the Page but absent from the file (default: keep them).",
)
@click.option(
    "--subscribe/--no-subscribe",
    default=True,
    show_default=True,
    help="Subscribe the Page to the app's webhook fields.",
)
@click.option(
    "--call-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    show_default="beside BRIDGE_DB: var/bridge-profile-calls.json",
    help="Where Messenger Profile API calls are counted (10 per 10 minutes per Page).",
)
@PAGE_OPTION
def setup(
    profile_path: Path | None,
    dry_run: bool,
    fields: str | None,
    delete_missing: bool,
    subscribe: bool,
    call_log: Path | None,
    page_id: str | None,
) -> None:
    """Subscribe the Page to this app's webhooks and apply a Messenger profile.

    \b
    1. The Page: the one FB_PAGE_ACCESS_TOKEN belongs to (GET /me), which must be FB_PAGE_ID's
       when that is set. With BRIDGE_PAGES_FILE: each Page of the file in turn, with its own
       token (or only --page).
    2. POST /{page-id}/subscribed_apps with the fields the bridge uses (fields the app already
       has are kept; nothing is posted when none is missing):
    \b
         messages                      what people type, send, quick-reply taps → Lex
         messaging_postbacks           Get Started, menu, ice-breaker, button taps → Lex
         messaging_optins              opt-ins (plugins, notification requests) → Lex
         messaging_referrals           m.me links, ads, QR codes with a ref → Lex
         message_echoes                what the Page sent: a person writing from the
                                       Page Inbox silences the bot in that conversation
         messaging_handovers           thread control passed to or taken by a person
                                       or another app: the bot is silent until it returns
         standby                       what people do in conversations the bridge does
                                       not control: never answered
         message_deliveries            delivery receipts
         message_reads                 read receipts
         messaging_policy_enforcement  Meta's policy warnings and blocks for the Page
    \b
       The bridge answers the first four; it never answers the others (the bot never talks
       over a human).
    3. With --profile: validates the file against Messenger's limits (every problem, with its
       JSON path, before any call), reads the current profile, prints the difference field by
       field, and POSTs only the changed fields, all in one call (DELETE one call more, only
       with --delete-missing). The Messenger Profile API allows 10 calls per 10 minutes per
       Page: calls are counted, and a run that would go over is refused before it starts.

    Exit status: 0 done (or nothing to do), 1 a problem (explained, with its fix), 2 usage or
    configuration errors.
    """
    options = _options(
        profile_path, fields, dry_run=dry_run, delete_missing=delete_missing, subscribe=subscribe
    )
    sys.exit(_run_for_pages(settings_or_exit(), options, page_id=page_id, call_log=call_log))


def _options(
    profile_path: Path | None,
    fields: str | None,
    *,
    dry_run: bool,
    delete_missing: bool,
    subscribe: bool,
) -> SetupOptions:
    """What to do, from the options and the profile file; usage errors exit 2."""
    from bridge.ops.setup.apply import SetupOptions

    only = _profile_fields(fields)
    if profile_path is None and (only or delete_missing):
        raise click.UsageError("--fields and --delete-missing need --profile")
    if profile_path is None and not subscribe:
        raise click.UsageError("nothing to do: give --profile, or leave out --no-subscribe")
    return SetupOptions(
        profile=None if profile_path is None else _profile(profile_path, only, delete_missing),
        profile_name=str(profile_path),
        dry_run=dry_run,
        only=only,
        delete_missing=delete_missing,
        subscribe=subscribe,
    )


def _profile_fields(value: str | None) -> tuple[str, ...] | None:
    """``--fields``: the profile fields named, each one of those setup manages."""
    from bridge.messenger.profile import PROFILE_FIELDS

    if value is None:
        return None
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in PROFILE_FIELDS]
    if unknown or not names:
        raise click.BadParameter(
            f"{', '.join(unknown) or 'nothing named'}: "
            f"name fields from {', '.join(PROFILE_FIELDS)}",
            param_hint="--fields",
        )
    return names


def _profile(path: Path, only: tuple[str, ...] | None, delete_missing: bool) -> dict[str, Any]:
    """The profile file, valid, or exit 1 listing every problem before any Graph call."""
    from bridge.ops.setup.profile_file import load_profile

    try:
        profile = load_profile(path)
    except ProfileError as error:
        click.echo(f"✗ {error}", err=True)
        click.echo("Nothing was changed.", err=True)
        sys.exit(1)
    absent = [name for name in only or () if name not in profile]
    if absent and not delete_missing:
        raise click.UsageError(
            f"--fields names {', '.join(absent)}, not in {path} (add "
            "--delete-missing to delete them from the Page)"
        )
    return profile


def _run_for_pages(
    settings: Settings, options: SetupOptions, *, page_id: str | None, call_log: Path | None
) -> int:
    """Set up each Page in turn (the one Page without a pages file); the worst exit status."""
    from bridge.ops.graph_advice import LOCAL_UNREACHABLE_FIX
    from bridge.ops.setup.apply import run_setup
    from bridge.ops.setup.budget import CallLog, call_log_path

    log = CallLog(call_log or call_log_path(settings.queue.db_path))
    pages = chosen_pages(settings, page_id)
    views = [settings.for_page(page) for page in pages] if pages else [settings]
    worst = 0
    for index, view in enumerate(views):
        if pages:
            click.echo(("\n" if index else "") + f"Page {pages[index].label}:")
        status = run_setup(
            graph_client(view),
            options,
            page_id=view.graph.page_id,
            call_log=log,
            echo=click.echo,
            secrets=settings.secret_values,
            unreachable_fix=LOCAL_UNREACHABLE_FIX if settings.is_local else None,
        )
        worst = max(worst, status)
    return worst
