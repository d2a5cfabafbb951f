"""What a Lex turn sends, the same for V1 and V2: the text, the session (user) id, the
channel's request attributes.

Drop-in with Lex's own Facebook channel, so Lambda code hooks keep working after the switch:
the session id is the PSID (or ``<pageId>.<psid>`` for a bot shared by several Pages) and the
attributes name the platform, and, for Lambdas written for V1, the channel, user and Page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bridge.errors import BotError, BotErrorKind
from bridge.messenger.events import Event, bot_input
from bridge.messenger.render import graphemes
from bridge.messenger.text import prefix, utf16_len

MAX_TEXT_UNITS = 1024  # RecognizeText `text`, counted in UTF-16 code units
PLATFORM_ATTRIBUTE = "x-amz-lex:channels:platform"
PLATFORM = "Facebook"  # what Lex's own Facebook channel sends; Lambdas branch on it
# What Lex V1's Facebook channel sent, for Lambdas written for it (docs.aws.amazon.com/lex/
# latest/dg/example1.html): the channel type, the sender's PSID and the Page.
V1_CHANNEL_TYPE_ATTRIBUTE = "x-amz-lex:channel-type"
V1_USER_ID_ATTRIBUTE = "x-amz-lex:user-id"
V1_PAGE_ID_ATTRIBUTE = "x-amz-lex:facebook-page-id"

_SESSION_ID = re.compile(r"[0-9a-zA-Z._:-]{2,100}")


def lex_session_id(event: Event, scope: str) -> str:
    """The Lex session (V2) or user (V1) id of the event's conversation: the PSID, or for
    ``page_psid`` the Page id and the PSID, ``<pageId>.<psid>``."""
    if scope == "page_psid":
        return f"{event.page_id}.{event.sender_id}"
    return event.sender_id


def lex_text(event: Event, inputs: Mapping[str, str]) -> str:
    """The text Lex gets for ``event``, cut to Lex's limit; never blank."""
    text = truncate_utf16(bot_input(event, inputs), MAX_TEXT_UNITS)
    if not text.strip():
        # The webhook never enqueues such events; Lex would answer 400 anyway.
        raise BotError(BotErrorKind.FALLBACK, "empty input: nothing to send to Lex")
    return text


def check_session_id(value: str, name: str) -> None:
    """Refuse a session id Lex would refuse as a session (V2) or user (V1) id.

    The id comes from the event (Messenger's PSIDs, and Page ids, are digits, so it always
    fits): an odd sender id in a delivery is odd input, not the operator's configuration, so
    the person gets the fallback text and the log a warning, not an error to act on."""
    if not _SESSION_ID.fullmatch(value):
        raise BotError(
            BotErrorKind.FALLBACK,
            f"the conversation's id is not a valid Lex {name} (2-100 characters of"
            " [0-9a-zA-Z._:-])",
        )


def v1_channel_attributes(event: Event) -> dict[str, str]:
    """The request attributes Lex V1's Facebook channel set on every PostText."""
    return {
        V1_CHANNEL_TYPE_ATTRIBUTE: PLATFORM,
        V1_USER_ID_ATTRIBUTE: event.sender_id,
        V1_PAGE_ID_ATTRIBUTE: event.page_id,
    }


def truncate_utf16(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 code units of ``text``, cut only between graphemes; when the
    first grapheme alone is over the limit (a letter under hundreds of combining marks), cut
    between code points rather than send nothing."""
    if utf16_len(text) <= limit:
        return text
    return prefix(graphemes(text), limit) or prefix(text, limit)
