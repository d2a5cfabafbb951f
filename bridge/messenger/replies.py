"""Channel-neutral replies: what a bot said, before it is rendered for Messenger."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Text:
    """Plain text; may be longer than Messenger allows (rendering splits it)."""

    text: str


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the user; tapping it sends ``value`` back to the bot."""

    title: str
    value: str


@dataclass(frozen=True, slots=True)
class Card:
    """A card: title, optional subtitle and image, and choices (Lex ImageResponseCard)."""

    title: str
    subtitle: str | None = None
    image_url: str | None = None
    buttons: tuple[Button, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Ssml:
    """Speech markup; only its text is shown in a chat."""

    ssml: str


@dataclass(frozen=True, slots=True)
class Custom:
    """A bot's custom payload, as the raw string the bot returned."""

    content: str


PAGE_INBOX_APP_ID = "263902037430900"  # Meta Business Suite's inbox: a person at the Page


@dataclass(frozen=True, slots=True)
class Handover:
    """The bot asks for a person: the conversation's thread control goes to ``target_app_id``
    (the Page Inbox), with ``metadata`` for it. Not a message: nothing is shown."""

    target_app_id: str = PAGE_INBOX_APP_ID
    metadata: str | None = None


@dataclass(frozen=True, slots=True)
class Fallback:
    """The bot answered, but nothing it said can be shown (an ImageResponseCard without a
    card, a content type the bridge does not know...): delivery sends the Page's fallback text
    in its place (``bridge.delivery.asking``). Not a message by itself."""


Reply = Text | Ssml | Card | Custom | Handover | Fallback

JsonObject = dict[str, Any]
