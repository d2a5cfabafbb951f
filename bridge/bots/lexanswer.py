"""What Lex V1 and V2 answers have in common: optional text fields, cards, and what to show
when a message cannot be shown as it is.

Lambdas send ``""`` or ``null`` for absent optional fields, and either version's card buttons
are ``{"text", "value"}``. Each backend maps a message to a reply, or to None when nothing of
it can be shown (an ImageResponseCard without a card or text, blank content, JSON under a
content type the bridge does not know...); ``shown`` then decides for the whole answer, so an
answer with messages never ends in silence. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from bridge.messenger.render import render, ssml_to_text
from bridge.messenger.replies import Button, Card, Fallback, Reply, Ssml, Text

_MARKUP = re.compile(r"<[A-Za-z!?/]")  # an XML, HTML or SSML tag, not "<3" or "< 5"


def text_or_none(value: object) -> str | None:
    """A non-blank string, else None (Lambdas send "" or null for absent optional fields)."""
    return value if isinstance(value, str) and value.strip() else None


def to_buttons(buttons: object) -> list[Button]:
    """Card buttons (``text``, ``value``; the same keys in V1 and V2) as neutral buttons."""
    if not isinstance(buttons, list):
        return []
    # A button without text or value cannot be shown, or could not send anything back.
    result = []
    for button in buttons:
        if not isinstance(button, Mapping):
            continue
        title, value = text_or_none(button.get("text")), text_or_none(button.get("value"))
        if title is not None and value is not None:
            result.append(Button(title, value))
    return result


def to_card(card: Mapping[str, object], *, subtitle_key: str, text: object = None) -> Card | None:
    """A card (V2 ``imageResponseCard``, V1 ``genericAttachments`` item), best effort.

    V2's model requires a title, V1's makes it optional; without one, the subtitle takes its
    place, else the message's ``text``, else rendering's placeholder title when the card still
    has an image or buttons. None when the card has nothing that can be shown."""
    title, subtitle = text_or_none(card.get("title")), text_or_none(card.get(subtitle_key))
    if title is None:
        title, subtitle = subtitle or text_or_none(text), None
    image_url = web_url_or_none(card.get("imageUrl"))
    buttons = tuple(to_buttons(card.get("buttons")))
    if title is None and image_url is None and not buttons:
        return None
    return Card(title or "", subtitle, image_url, buttons)


def web_url_or_none(value: object) -> str | None:
    """An absolute http(s) URL, else None: Graph refuses a card whose ``image_url`` is not
    one (error 100), and the whole card would be lost with it."""
    text = text_or_none(value)
    if text is None or any(char.isspace() for char in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # an unbalanced [ in the host, say
        return None
    return text if parts.scheme in ("http", "https") and parts.hostname else None


def ssml_or_none(content: str) -> Ssml | None:
    """SSML, or None when it holds no text to show (only tags: ``<speak><break/></speak>``)."""
    return Ssml(content) if ssml_to_text(content) else None


def plain_text(content: object) -> Text | None:
    """``content`` as text if it reads as words for a person, else None.

    For a message type the bridge does not know (a future Lex content type, a missing one):
    a JSON object or array, or markup, is data for some other client, and showing it raw
    would be worse than the fallback text."""
    text = text_or_none(content)
    if text is None:
        return None
    stripped = text.strip()
    if _MARKUP.match(stripped):
        return None
    if stripped[0] in "{[":
        try:
            json.loads(stripped)
        except RecursionError:
            return None  # nested too deep to read: data all the same
        except ValueError:
            return Text(text)  # "[1] see below", "{not json}": words after all
        return None
    return Text(text)


def shown(mapped: Sequence[Reply | None]) -> list[Reply]:
    """An answer's replies, from its messages mapped in order (None: cannot be shown).

    Best effort: a message that cannot be shown next to one that can is left out. When none
    can be shown (nothing renders to a message; a ``Handover`` alone is not shown) but some
    message could not, the answer starts with a ``Fallback``: Lex said something, so the
    person gets the fallback text rather than silence. An answer without messages stays
    empty: Lex had nothing to say."""
    replies = [reply for reply in mapped if reply is not None]
    if len(replies) == len(mapped) or any(render(reply) for reply in replies):
        return replies
    return [Fallback(), *replies]
