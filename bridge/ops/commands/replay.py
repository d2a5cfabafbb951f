"""``python -m bridge replay``: post recorded webhook bodies to a bridge, signed, and show what
it did with each."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command()
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
