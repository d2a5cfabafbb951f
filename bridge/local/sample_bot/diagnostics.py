"""The sample bot's developer diagnostics: one answer for each rendering path, so a bot author
or a test can see every kind of Lex message come through Messenger.

``#card`` (an ImageResponseCard with image, subtitle and buttons), ``#long`` (one message longer
than Messenger allows, which the bridge splits), ``#turns`` (the session's turn counter) and
``#ssml`` (an SSML message). Standard library only, like the rest of the dialog.
"""

from __future__ import annotations

from bridge.local.sample_bot.answers import Answer, Ask, image
from bridge.local.sample_bot.turn import card, plain, ssml

LONG_PARAGRAPH = (
    "Messenger refuses a text of 2000 characters or more, so the bridge splits long answers "
    "at paragraph, sentence or word boundaries and sends the parts in order. "
)


def diagnostic(ask: Ask) -> Answer | None:
    """The diagnostic the input names, or None for any other input."""
    command = ask.text.casefold()
    if command == "#card":
        message = card(
            "Messenger Lex Bridge",
            subtitle="A Lex card becomes a Messenger generic template.",
            image_url=image(ask, "card.svg"),
            buttons=[("Say hello", "hello"), ("Count my turns", "#turns")],
        )
    elif command == "#long":
        message = plain("\n\n".join(f"Part {n}. " + LONG_PARAGRAPH * 5 for n in range(1, 6)))
    elif command == "#turns":
        message = plain(f"This is turn {ask.turn} of our conversation.")
    elif command == "#ssml":
        message = ssml("<speak>Spoken <break time='1s'/> text.</speak>")
    else:
        return None
    return Answer("Diagnostics", [message])
