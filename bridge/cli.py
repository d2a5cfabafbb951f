"""``python -m bridge``: serve, demo, worker, chat, replay, queue, notifications, setup, check,
send.

Each command parses its arguments and calls what the service itself uses. The commands that
run the bridge are here; the operations commands live in ``bridge/ops/commands/``, one module
each, and are added to the group at the end.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from bridge import __version__
from bridge.config.settings import Settings
from bridge.errors import ConfigError
from bridge.ops.commands.chat import chat
from bridge.ops.commands.check import check
from bridge.ops.commands.init_aws import init_aws
from bridge.ops.commands.notifications import notifications_group
from bridge.ops.commands.queue import queue_group
from bridge.ops.commands.replay import replay
from bridge.ops.commands.send import send
from bridge.ops.commands.settings import settings_or_exit
from bridge.ops.commands.setup import setup

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


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
    settings_or_exit(check_bot=True)
    _exec_gunicorn()


@main.command()
def demo() -> None:
    """Run the bridge in local mode: sample bot, local Graph inbox, loopback only.

    No Facebook app and no AWS account needed. Open the printed URL for the Messenger
    emulator. Set BRIDGE_BOT=lexv2 (with LEX_BOT_ID, LEX_BOT_ALIAS_ID, AWS_REGION and AWS
    credentials) to talk to a real Lex bot instead; Graph stays local.
    """
    os.environ["BRIDGE_MODE"] = "local"
    settings = settings_or_exit(check_bot=True)
    base = f"http://127.0.0.1:{settings.web.port}"
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
    if settings.lex.backend == "local":
        return "the local sample bot"
    if settings.lex.backend == "lexv1":
        return f"Lex V1 {settings.lex.bot_name} (alias {settings.lex.bot_alias}; deprecated)"
    return f"Lex V2 {settings.lex.bot_id} (alias {settings.lex.alias_id})"


@main.command()
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Delivery threads (default: BRIDGE_DELIVERY_THREADS, or 8).",
)
def worker(threads: int | None) -> None:
    """Run delivery alone (no web server), e.g. beside web containers with
    BRIDGE_DELIVERY_THREADS=0. Stops cleanly on SIGTERM or Ctrl-C, finishing turns in flight.
    """
    from bridge.app import build_services
    from bridge.obs.logs import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.log.level, settings.log.format)
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
    count = threads if threads is not None else (settings.delivery.threads or 4)
    services.start_delivery(count)
    stop.wait()
    drained = services.stop_delivery(timeout=settings.lex.read_timeout + 15)
    services.queue.close()
    sys.exit(0 if drained else 1)


main.add_command(chat)
main.add_command(replay)
main.add_command(queue_group)
main.add_command(notifications_group)
main.add_command(init_aws)
main.add_command(setup)
main.add_command(check)
main.add_command(send)
