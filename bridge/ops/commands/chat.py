"""``python -m bridge chat``: talk to the bot in a terminal, through the real webhook."""

from __future__ import annotations

import os

import click

from bridge.config.localmode import LOCAL_APP_SECRET, LOCAL_PAGE_ID


@click.command()
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
