"""The typed records a webhook body is read into; plain frozen values, no behaviour.

``Event`` is what a person did in the conversation (sent to the bot); ``Echo``, ``Handover``
and ``StandbyItem`` tell who is talking in a thread; ``PolicyEnforcement`` is Meta acting on
the app; ``TokenUpdate`` is a notification-messages token an opt-in gave or changed (kept
apart from its ``Optin`` event); ``Skipped`` names why an item is not an event;
``ParseResult`` holds them all for one body.
https://developers.facebook.com/docs/messenger-platform/webhooks
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Messenger's Like (thumbs-up) sticker, in its three sizes.
LIKE_STICKER_IDS = frozenset({"369239263222822", "369239343222814", "369239383222810"})


@dataclass(frozen=True, slots=True)
class Media:
    """One attachment of a message. ``type`` is Messenger's, except that a sticker sent the
    old way (an ``image`` with a ``sticker_id``) is a ``sticker``; the other fields are set
    only when Messenger gave them."""

    type: str
    url: str | None = None
    title: str | None = None
    sticker_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """The message a person replied to (swiped or long-pressed in Messenger)."""

    mid: str
    is_self_reply: bool | None = None


@dataclass(frozen=True, slots=True)
class ReferralData:
    """Where a person came from: an m.me link's ``ref``, an ad, a QR code, the chat plugin."""

    source: str = ""
    type: str = ""
    ref: str | None = None
    ad_id: str | None = None
    referer_uri: str | None = None
    ads_context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A person typed text (maybe with attachments, e.g. the preview of a link they typed)."""

    page_id: str
    sender_id: str
    timestamp: int
    mid: str
    text: str
    attachments: tuple[Media, ...] = ()
    reply_to: ReplyTo | None = None
    referral: ReferralData | None = None  # the message came from an ad
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A person tapped a quick reply; ``text`` is its title, ``payload`` what the bot gets."""

    page_id: str
    sender_id: str
    timestamp: int
    mid: str
    text: str
    payload: str
    kind: Literal["quick_reply"] = "quick_reply"


@dataclass(frozen=True, slots=True)
class Postback:
    """A person tapped a postback button, Get Started, or a persistent-menu item."""

    page_id: str
    sender_id: str
    timestamp: int
    mid: str | None
    title: str
    payload: str
    referral: ReferralData | None = None  # Get Started in a new thread from a link or an ad
    kind: Literal["postback"] = "postback"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A person sent attachments without text: images, audio, video, files, shared links,
    stickers, a location."""

    page_id: str
    sender_id: str
    timestamp: int
    mid: str
    attachments: tuple[Media, ...]
    reply_to: ReplyTo | None = None
    referral: ReferralData | None = None
    kind: Literal["attachment"] = "attachment"


@dataclass(frozen=True, slots=True)
class Referral:
    """A person who already has a thread came back through an m.me link or an ad."""

    page_id: str
    sender_id: str
    timestamp: int
    referral: ReferralData
    mid: str | None = None  # referrals carry no message id (see dedupe_key)
    kind: Literal["referral"] = "referral"


@dataclass(frozen=True, slots=True)
class Optin:
    """A person opted in (Send to Messenger), or started or stopped marketing messages.

    The ``notification_messages_token`` is deliberately not kept: it is a credential for
    sending to the person, and events end up in the queue and in the bot's request."""

    page_id: str
    sender_id: str
    timestamp: int
    optin_type: str = ""  # "notification_messages"; "" for the classic plugin opt-in
    ref: str | None = None
    payload: str | None = None
    title: str | None = None
    status: str | None = None  # notification_messages_status: STOP / RESUME NOTIFICATIONS
    frequency: str | None = None
    timezone: str | None = None
    token_expiry: int | None = None
    mid: str | None = None  # opt-ins carry no message id (see dedupe_key)
    kind: Literal["optin"] = "optin"


Event = TextMessage | QuickReply | Postback | Attachment | Referral | Optin

EchoOrigin = Literal["bridge", "page_inbox", "other_app", "unknown_app"]


@dataclass(frozen=True, slots=True)
class Echo:
    """A message the Page sent, echoed back by Messenger; never an event for the bot.

    ``origin`` says who sent it: this bridge's app, the Page Inbox (a person at the Page),
    another app, or ``unknown_app`` when the echo names no app or the bridge's own app id is
    not configured. ``standby``: it arrived for a thread the bridge does not own."""

    page_id: str
    recipient_id: str
    timestamp: int
    mid: str
    app_id: str | None
    origin: EchoOrigin
    metadata: str | None = None
    standby: bool = False


HandoverAction = Literal["pass", "take", "request"]
# The messaging item's key for each change of thread control (messaging_handovers).
HANDOVER_KEYS: dict[str, HandoverAction] = {
    "pass_thread_control": "pass",
    "take_thread_control": "take",
    "request_thread_control": "request",
}


@dataclass(frozen=True, slots=True)
class Handover:
    """Thread control changed hands, or was asked for (``messaging_handovers``): ``pass`` and
    ``take`` name the new owner, ``request`` the app that asks for control (``new_owner``).
    App ids are strings; None when Meta gave none (``previous_owner`` of an idle thread).
    ``metadata`` is the passing app's free text: never logged."""

    page_id: str
    user_id: str
    timestamp: int
    action: HandoverAction
    previous_owner: str | None
    new_owner: str | None
    metadata: str | None = None
    standby: bool = False


# The messaging item's key for Meta's policy actions on the app: Meta's reference writes it
# with an underscore, its older example (and libraries that copied it) with a hyphen.
POLICY_KEYS = ("policy_enforcement", "policy-enforcement")
POLICY_ACTION_MAX = 40
POLICY_REASON_MAX = 300


@dataclass(frozen=True, slots=True)
class PolicyEnforcement:
    """Meta warned the app, blocked it or lifted a block on a Page
    (``messaging_policy_enforcement``): ``action`` is Meta's (``warning``, ``block``,
    ``unblock``), ``reason`` Meta's words about its policy (none for an unblock), both cut
    short. These items have no sender: they never hold a person's words."""

    page_id: str
    timestamp: int
    action: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StandbyItem:
    """A person did something in a thread another app (or a person at the Page) owns: the
    bridge never answers it, but it shows Meta routes that thread elsewhere."""

    page_id: str
    user_id: str
    timestamp: int


TokenStatus = Literal["active", "stopped"]


@dataclass(frozen=True, slots=True)
class TokenUpdate:
    """What a ``messaging_optins`` item of type ``notification_messages`` says about one
    notification-messages token (messenger.md §4.4): the person opted in (``active``), stopped
    (``STOP_NOTIFICATIONS``: ``stopped``) or resumed. ``token`` is a credential for messaging
    the person: never in a repr, a log line or an event. ``topic`` is the opt-in's
    ``payload``; ``expires_at`` Meta's ``token_expiry_timestamp`` and ``updated_at`` the item's
    timestamp, both epoch ms (``updated_at`` 0: Meta gave none)."""

    page_id: str
    user_id: str
    token: str = field(repr=False)
    topic: str = ""
    frequency: str | None = None
    timezone: str | None = None
    expires_at: int | None = None
    status: TokenStatus = "active"
    updated_at: int = 0


@dataclass(frozen=True, slots=True)
class Skipped:
    """A messaging item that is not sent to the bot, and why (for logs and metrics)."""

    reason: str


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The events to hand to the bot, the items skipped, whether the body had our shape, and
    what tells who is talking in a thread: echoes and handovers (also counted as skipped) and
    standby items; Meta's policy actions on the app (counted as skipped too); the
    notification-messages tokens its opt-ins gave or changed (``tokens``).
    ``other_pages``: Page id → items of entries for Pages not served."""

    events: list[Event]
    skipped: list[Skipped]
    well_formed: bool = True
    echoes: list[Echo] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    standby: list[StandbyItem] = field(default_factory=list)
    policy: list[PolicyEnforcement] = field(default_factory=list)
    tokens: list[TokenUpdate] = field(default_factory=list)
    other_pages: dict[str, int] = field(default_factory=dict)
