"""``python -m bridge``: serve, demo, worker, chat, replay, queue, setup, check.

Each command parses its arguments and calls what the service itself uses.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from bridge import __version__
from bridge.config.settings import LOCAL_APP_SECRET, LOCAL_PAGE_ID, Settings
from bridge.errors import ConfigError, ProfileError

if TYPE_CHECKING:
    from bridge.config.pages import PageConfig
    from bridge.messenger.graph import GraphClient
    from bridge.queue import Admin, Housekeeping, Stats

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


def _settings_or_exit(*, check_bot: bool = False) -> Settings:
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


def _exec_gunicorn() -> None:
    os.chdir(ROOT)
    argv = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "wsgi:app"]
    os.execv(sys.executable, argv)


@click.group()
@click.version_option(__version__, prog_name="messenger-lex-bridge")
def main() -> None:
    """messenger-lex-bridge: a Facebook Page's Messenger conversations ⇄ an Amazon Lex bot.

    Configuration comes from environment variables; see config.example.env.
    """


@main.command()
def serve() -> None:
    """Run the bridge: gunicorn -c gunicorn.conf.py wsgi:app (webhook and delivery)."""
    _settings_or_exit(check_bot=True)
    _exec_gunicorn()


@main.command()
def demo() -> None:
    """Run the bridge in local mode: sample bot, local Graph inbox, loopback only.

    No Facebook app and no AWS account needed. Open the printed URL for the Messenger
    emulator. Set BRIDGE_BOT=lexv2 (with LEX_BOT_ID, LEX_BOT_ALIAS_ID, AWS_REGION and AWS
    credentials) to talk to a real Lex bot instead; Graph stays local.
    """
    os.environ["BRIDGE_MODE"] = "local"
    settings = _settings_or_exit(check_bot=True)
    base = f"http://127.0.0.1:{settings.port}"
    if settings.pages:
        bots = "; ".join(
            f"Page {page.label}: {bot_name(settings.for_page(page))}" for page in settings.pages
        )
    else:
        bots = bot_name(settings)
    click.echo(
        f"\nmessenger-lex-bridge {__version__} in local mode\n"
        f"  open the Messenger emulator:  {base}/\n"
        f"  bot: {bots}\n"
        f"  or chat in a terminal:        make chat   (python -m bridge chat --url {base})\n"
        f"  what the bridge sent:         {base}/local/graph/inbox\n"
        f"  stop with Ctrl-C\n",
        err=True,
    )
    _exec_gunicorn()


def bot_name(settings: Settings) -> str:
    """The configured bot in a few words, e.g. ``Lex V2 ABCDE12345`` or ``Lex V1 FluBot``."""
    if settings.bot == "local":
        return "the local sample bot"
    if settings.bot == "lexv1":
        return f"Lex V1 {settings.lex_bot_name} (alias {settings.lex_bot_alias}; deprecated)"
    return f"Lex V2 {settings.lex_bot_id} (alias {settings.lex_bot_alias_id})"


@main.command()
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Delivery threads (default: BRIDGE_DELIVERY_THREADS, or 4).",
)
def worker(threads: int | None) -> None:
    """Run delivery alone (no web server), e.g. beside web containers with
    BRIDGE_DELIVERY_THREADS=0. Stops cleanly on SIGTERM or Ctrl-C, finishing turns in flight.
    """
    from bridge.app import build_services
    from bridge.obs.logs import configure_logging

    settings = _settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    try:
        services = build_services(settings)
    except ConfigError as error:
        click.echo(f"messenger-lex-bridge: {error}", err=True)
        sys.exit(2)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    count = threads if threads is not None else (settings.delivery_threads or 4)
    services.start_delivery(count)
    stop.wait()
    drained = services.stop_delivery(timeout=settings.lex_read_timeout + 15)
    services.queue.close()
    sys.exit(0 if drained else 1)


@main.command()
@click.option(
    "--url",
    default=lambda: f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",
    show_default="http://127.0.0.1:$PORT",
    help="The bridge (in local mode).",
)
@click.option(
    "--psid",
    default="2000000000000001",
    show_default=True,
    help="The simulated person's page-scoped id.",
)
@click.option("--page-id", envvar="FB_PAGE_ID", default=LOCAL_PAGE_ID, show_default=True)
@click.option(
    "--secret",
    envvar="FB_APP_SECRET",
    default=LOCAL_APP_SECRET,
    show_default="FB_APP_SECRET or the local-mode secret",
    help="App secret to sign with.",
)
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
def chat(url: str, psid: str, page_id: str, secret: str, timeout: float) -> None:
    """Chat with the bot in the terminal, through the bridge's real webhook.

    Each line you type is signed like Meta signs it and posted to /webhook; the replies are
    read from the local Graph inbox. Type a number to pick a quick reply or button,
    /start for Get Started, /quit to leave.
    """
    from bridge.ops.chat import ChatSession

    ChatSession(url=url, psid=psid, page_id=page_id, secret=secret, timeout=timeout).run()


@main.command()
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
    metavar="FILE|DIR ...",
)
@click.option(
    "--url",
    default=lambda: f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",
    show_default="http://127.0.0.1:$PORT",
    help="The bridge; /webhook is appended unless the URL ends with it.",
)
@click.option(
    "--secret",
    envvar="FB_APP_SECRET",
    default=None,
    show_default="FB_APP_SECRET, or the local-mode secret for a loopback --url",
    help="App secret to sign with.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Send each delivery N times back to back, as Meta redelivers.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="R",
    help="Start at most R deliveries (repeats included) per second (default: no pacing).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Local mode: how long to wait for a delivery's events to finish.",
)
@click.option("--no-wait", is_flag=True, help="Don't follow events and replies: statuses only.")
@click.option(
    "--retime",
    is_flag=True,
    help="Move the bodies' timestamps to now (keeping their gaps) and re-sign: for recordings "
    "older than BRIDGE_MAX_EVENT_AGE, which the bridge would drop unanswered.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per delivery, then a summary."
)
def replay(
    paths: tuple[Path, ...],
    url: str,
    secret: str | None,
    repeat: int,
    rate: float | None,
    wait: float,
    no_wait: bool,
    retime: bool,
    as_json: bool,
) -> None:
    """Post webhook bodies to a bridge, signed as Meta signs them, and show what it did.

    Each FILE is one raw webhook body, sent byte for byte and signed with the app secret.
    A DIR sends its *.json files in name order (not *.expected.json, not index.json). A file that
    is not a webhook body is reported and counted; the others are still sent.

    Against a bridge in local mode each delivery's events are followed to a final job state
    (done, dropped, dead) and the replies sent to their senders are shown; with --repeat,
    after the last attempt.

    Exit status: 0 if every delivery was answered 200, 1 otherwise, 2 for usage errors.
    """
    from bridge.ops import replay as replaying

    try:
        files = replaying.find_files(paths)
        replayer = replaying.Replayer(
            url,
            replaying.choose_secret(secret, url),
            wait=None if no_wait else wait,
            repeat=repeat,
            rate=rate,
            retime=retime,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    sys.exit(replaying.run(files, replayer, as_json=as_json))


@main.group("queue")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="BRIDGE_DB",
    default=Path("var/bridge.db"),
    show_default="BRIDGE_DB or var/bridge.db",
    help="The queue database.",
)
@click.pass_context
def queue_group(ctx: click.Context, db: Path) -> None:
    """Inspect and repair the delivery queue: stats, dead letters, requeue, purge.

    With BRIDGE_QUEUE=sqs: the SQS queue, its dead-letter queue and the DynamoDB table
    (BRIDGE_SQS_QUEUE_URL, BRIDGE_DYNAMODB_TABLE); --db does not apply.
    """
    from bridge.config.settings import aws_queue_settings

    try:
        aws = aws_queue_settings(os.environ)
        if aws is not None:
            from bridge.queue.sqs.queue import SqsQueue

            ctx.obj = SqsQueue(aws)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if aws is None:
        if not db.exists():
            raise click.ClickException(f"no queue database at {db} (set BRIDGE_DB or --db)")
        from bridge.queue.sqlite.store import SqliteQueue

        ctx.obj = SqliteQueue(db)
    ctx.call_on_close(ctx.obj.close)


@queue_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def stats(queue: Stats, as_json: bool) -> None:
    """Jobs by state, the oldest unfinished job, per-Page counts, Page holds, workers."""
    from bridge.ops import queue_report as queuecli

    now = time.time()
    click.echo(
        queuecli.stats_report(
            queue.stats(now=now), queue.pages(), queue.workers(), now=now, as_json=as_json
        )
    )


@queue_group.command()
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--dropped", is_flag=True, help="Also list jobs dropped on purpose.")
@click.option(
    "--show-text",
    is_flag=True,
    help="Include what the person wrote (hidden by default: it is personal data).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def dead(queue: Admin, limit: int, dropped: bool, show_text: bool, as_json: bool) -> None:
    """Dead letters (newest first) with the reason each one failed."""
    from bridge.ops import queue_report as queuecli

    letters = queue.dead_letters(include_dropped=dropped, limit=limit)
    click.echo(queuecli.dead_report(letters, show_text=show_text, as_json=as_json))


@queue_group.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Requeue every dead letter.")
@click.option("--reason", help="Requeue dead letters whose reason contains this text.")
@click.pass_obj
def requeue(queue: Admin, ids: tuple[int, ...], everything: bool, reason: str | None) -> None:
    """Put dead letters back in the queue with fresh attempts (by id, --reason or --all).

    A running bridge picks them up within BRIDGE_POLL_INTERVAL.
    """
    if not (ids or everything or reason):
        raise click.UsageError("name dead letters by id, or use --reason or --all")
    count = queue.requeue(ids=list(ids) or None, reason=reason, everything=everything)
    click.echo(f"requeued {count} dead letter{'' if count == 1 else 's'}")


@queue_group.command()
@click.option(
    "--older-than",
    "days",
    type=float,
    default=7.0,
    show_default=True,
    help="Days since the job finished.",
)
@click.pass_obj
def purge(queue: Housekeeping, days: float) -> None:
    """Forget done and dropped jobs (delivery also does this hourly, after 7 days).

    A purged event's mid no longer deduplicates a redelivery of it.
    """
    count = queue.purge(before=time.time() - days * 86400)
    click.echo(f"purged {count} finished job{'' if count == 1 else 's'}")


@main.command("init-aws")
@click.option(
    "--queue-url",
    envvar="BRIDGE_SQS_QUEUE_URL",
    default=None,
    show_default="BRIDGE_SQS_QUEUE_URL",
    help="The queue's URL, if it exists; its name is used.",
)
@click.option(
    "--queue-name",
    default=None,
    show_default="from --queue-url, or messenger-lex-bridge.fifo",
    help="The FIFO queue's name (ends with .fifo); the dead-letter queue is <name>-dlq.fifo.",
)
@click.option(
    "--table",
    envvar="BRIDGE_DYNAMODB_TABLE",
    default="messenger-lex-bridge",
    show_default="BRIDGE_DYNAMODB_TABLE or messenger-lex-bridge",
    help="The DynamoDB table's name.",
)
@click.option(
    "--region",
    envvar="AWS_REGION",
    default=None,
    show_default="AWS_REGION",
    help="The Region of the queues and the table (the bridge's own).",
)
@click.option(
    "--visibility-timeout",
    envvar="BRIDGE_SQS_VISIBILITY_TIMEOUT",
    type=click.IntRange(2, 3600),
    default=30,
    show_default="BRIDGE_SQS_VISIBILITY_TIMEOUT or 30",
    help="Seconds a received message stays invisible to other containers (renewed while its "
    "job runs): how soon a dead container's messages reappear.",
)
@click.option(
    "--max-receives",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Receives without an answer (each one a container that stopped holding the message) "
    "before SQS moves a message to the dead-letter queue.",
)
@click.option("--dry-run", is_flag=True, help="Only read, and say what would be done.")
@click.option(
    "--policy",
    is_flag=True,
    help="Print the bridge's least-privilege IAM policy (JSON) for these resources and the "
    "Lex bot alias instead; changes nothing.",
)
@click.option("--lex-bot-id", envvar="LEX_BOT_ID", default=None, show_default="LEX_BOT_ID")
@click.option(
    "--lex-alias-id", envvar="LEX_BOT_ALIAS_ID", default=None, show_default="LEX_BOT_ALIAS_ID"
)
def init_aws(
    queue_url: str | None,
    queue_name: str | None,
    table: str,
    region: str | None,
    visibility_timeout: int,
    max_receives: int,
    dry_run: bool,
    policy: bool,
    lex_bot_id: str | None,
    lex_alias_id: str | None,
) -> None:
    """Create, or check and correct, what BRIDGE_QUEUE=sqs uses: an SQS FIFO queue, its FIFO
    dead-letter queue and a DynamoDB table (see docs/scaling-out.md).

    \b
    queue              FIFO; content-based deduplication off (the bridge deduplicates on
                       each event's mid); high-throughput FIFO; --visibility-timeout;
                       long polling (20 s); messages kept 4 days; redrive policy to the
                       dead-letter queue after --max-receives receives
    dead-letter queue  FIFO, messages kept 14 days (python -m bridge queue dead reads it)
    table              key pk + sk (strings), on-demand capacity, TTL on "expires", the
                       sparse index "dropped"

    Safe to run again: what exists as needed is left alone; what differs and can change in
    place is corrected; what cannot (a standard queue, another key schema) is reported.
    Uses boto3's usual credentials and Region (AWS_REGION); the caller needs sqs:CreateQueue,
    sqs:GetQueueUrl, sqs:GetQueueAttributes, sqs:SetQueueAttributes, dynamodb:CreateTable,
    dynamodb:DescribeTable, dynamodb:UpdateTable, dynamodb:DescribeTimeToLive and
    dynamodb:UpdateTimeToLive. Prints the variables to set in every bridge container.

    Exit status: 0 done (or nothing to do), 1 a problem remains (explained), 2 usage errors.
    """
    from bridge.ops import init_aws as awsinit
    from bridge.queue.sqs.aws import check_region, make_client, queue_account
    from bridge.queue.sqs.aws import queue_name as name_of

    name = queue_name or (name_of(queue_url) if queue_url else awsinit.DEFAULT_QUEUE)
    if not name.endswith(".fifo"):
        raise click.BadParameter("a FIFO queue's name ends with .fifo", param_hint="--queue-name")
    names = awsinit.Names(queue=name, table=table)
    try:
        found_region = check_region(region)
    except ConfigError as error:
        raise click.UsageError(str(error.problems[0])) from None
    if policy:
        account = (queue_url and queue_account(queue_url)) or _aws_account(found_region)
        document = awsinit.policy_document(
            region=found_region,
            account=account,
            names=names,
            lex_bot_id=lex_bot_id or "<LEX_BOT_ID>",
            lex_alias_id=lex_alias_id or "<LEX_BOT_ALIAS_ID>",
        )
        click.echo(json.dumps(document, indent=2))
        return
    options = awsinit.Options(
        names=names,
        visibility_timeout=visibility_timeout,
        max_receives=max_receives,
        dry_run=dry_run,
    )
    sqs = make_client("sqs", found_region)
    dynamodb = make_client("dynamodb", found_region)
    sys.exit(awsinit.init(sqs, dynamodb, options, click.echo))


def _aws_account(region: str) -> str:
    """The caller's AWS account (STS GetCallerIdentity needs no permission)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from bridge.queue.sqs.aws import describe, make_client

    try:
        return str(make_client("sts", region).get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        raise click.ClickException(f"cannot tell the AWS account: {describe(exc)}") from None


def _graph_client(settings: Settings) -> GraphClient:
    from bridge.delivery.page_routes import make_graph

    return make_graph(settings)


def _chosen_pages(settings: Settings, page_id: str | None) -> list[PageConfig]:
    """The pages file's Pages a command works on: all, or the one ``--page`` names."""
    if page_id is None:
        return list(settings.pages)
    if not settings.pages:
        raise click.UsageError("--page needs BRIDGE_PAGES_FILE (one Page: FB_PAGE_ACCESS_TOKEN)")
    chosen = [page for page in settings.pages if page.page_id == page_id]
    if not chosen:
        known = ", ".join(page.page_id for page in settings.pages)
        raise click.UsageError(f"--page {page_id} is not in BRIDGE_PAGES_FILE (it has {known})")
    return chosen


_PAGE_OPTION = click.option(
    "--page",
    "page_id",
    metavar="PAGE_ID",
    default=None,
    help="With BRIDGE_PAGES_FILE: only this Page (default: every Page of the file).",
)


def _profile_fields(value: str | None) -> tuple[str, ...] | None:
    from bridge.ops.setup import PROFILE_FIELDS

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


@main.command()
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
@_PAGE_OPTION
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
    from bridge.ops import setup as setting_up
    from bridge.ops.graph_advice import LOCAL_UNREACHABLE_FIX

    only = _profile_fields(fields)
    if profile_path is None and (only or delete_missing):
        raise click.UsageError("--fields and --delete-missing need --profile")
    if profile_path is None and not subscribe:
        raise click.UsageError("nothing to do: give --profile, or leave out --no-subscribe")
    profile = None
    if profile_path is not None:
        try:
            profile = setting_up.load_profile(profile_path)
        except ProfileError as error:
            click.echo(f"✗ {error}", err=True)
            click.echo("Nothing was changed.", err=True)
            sys.exit(1)
        absent = [name for name in only or () if name not in profile]
        if absent and not delete_missing:
            raise click.UsageError(
                f"--fields names {', '.join(absent)}, not in {profile_path} (add "
                "--delete-missing to delete them from the Page)"
            )
    settings = _settings_or_exit()
    log = setting_up.CallLog(call_log or setting_up.call_log_path(settings.db_path))
    options = setting_up.SetupOptions(
        profile=profile,
        profile_name=str(profile_path),
        dry_run=dry_run,
        only=only,
        delete_missing=delete_missing,
        subscribe=subscribe,
    )
    pages = _chosen_pages(settings, page_id)
    views = [settings.for_page(page) for page in pages] if pages else [settings]
    worst = 0
    for index, view in enumerate(views):
        if pages:
            click.echo(("\n" if index else "") + f"Page {pages[index].label}:")
        worst = max(
            worst,
            setting_up.run_setup(
                _graph_client(view),
                options,
                page_id=view.page_id,
                call_log=log,
                echo=click.echo,
                secrets=settings.secret_values,
                unreachable_fix=LOCAL_UNREACHABLE_FIX if settings.is_local else None,
            ),
        )
    sys.exit(worst)


@main.command()
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list of {name, ok, detail, fix}."
)
@click.option(
    "--app-id",
    envvar="FB_APP_ID",
    default=None,
    show_default="FB_APP_ID",
    help="The app's id: adds GET /debug_token (the token's app, type, expiry, permissions).",
)
@click.option(
    "--skip-lex",
    is_flag=True,
    help="Leave out the Lex check (for Lex V2 it runs one real turn on the bot).",
)
@_PAGE_OPTION
def check(as_json: bool, app_id: str | None, skip_lex: bool, page_id: str | None) -> None:
    """Check everything the bridge needs, and say how to fix what is wrong.

    \b
    ✓/✗ per check:
      Page token            GET /me: valid, and which Page it belongs to (FB_PAGE_ID's?)
      App secret            the same call's appsecret_proof (FB_APP_SECRET) is accepted
      Token details         with FB_APP_ID: GET /debug_token with APP_ID|APP_SECRET: the
                            token's app, Page, expiry and permissions
      Webhook subscription  GET /{page}/subscribed_apps: this app, with the bridge's fields
                            (Meta unsubscribes a Page after ~1 h of failed deliveries)
      Lex bot               Lex V2: one RecognizeText turn, "hello", session bridge-check,
                            with the configured bot, alias, locale, Region and credentials;
                            Lex V1: GetBot (lex-models) on the bot name and alias, no turn
      Queue database        BRIDGE_DB opens and takes a write lock (then rolls back);
                            BRIDGE_QUEUE=sqs: the queue, its dead-letter queue and the
                            table answer and the table takes a write

    With BRIDGE_PAGES_FILE the first five run for each Page (or only --page) with its own
    token and bot; a bot shared by several Pages is checked once.

    Exit status: 0 when every check passes, 1 otherwise.
    """
    from bridge.ops import check as checking

    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as error:
        results = [checking.config_failure(error)]
    else:
        if app_id is None and settings.is_local:
            from bridge.local.localmode import LOCAL_APP_ID

            app_id = LOCAL_APP_ID
        if settings.pages:
            results = checking.run_page_checks(
                settings,
                _chosen_pages(settings, page_id),
                _graph_client,
                app_id=app_id,
                skip_lex=skip_lex,
            )
        else:
            _chosen_pages(settings, page_id)  # --page without a pages file: a usage error
            results = checking.run_checks(
                settings, _graph_client(settings), app_id=app_id, skip_lex=skip_lex
            )
    click.echo(checking.render_json(results) if as_json else checking.render_text(results))
    sys.exit(0 if all(result.ok for result in results) else 1)
