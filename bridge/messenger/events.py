"""Webhook JSON → typed inbound events; pure, no I/O.

Every ``entry`` and every ``messaging`` item is read. What a person did in the conversation
becomes an event for the bot: text, quick-reply taps, postbacks, attachments (images, audio,
video, files, shared links, stickers, a location), referrals (m.me links, ads) and opt-ins.
Echoes of what the Page sent are classified by the app that sent them (the bridge, another
app, the Page Inbox) and are never events for the bot; nor are changes of thread control
(``messaging_handovers``), which are read into ``Handover`` records. Deliveries, reads,
reactions and everything under ``standby`` (a thread the bridge does not own) are skipped
with a named reason; what a person did under ``standby`` is kept as a ``StandbyItem`` (someone
else answers them). Unknown keys and event types are tolerated.
https://developers.facebook.com/docs/messenger-platform/webhooks
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Literal

from bridge.config.patterns import ATTACHMENT_KINDS
from bridge.messenger.replies import PAGE_INBOX_APP_ID as PAGE_INBOX_APP_ID  # echoes, handovers

_SECONDS_BEFORE = 10**11  # an epoch below this is in seconds (ms would be before 1973)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_TYPE = 40  # an attachment type longer than this is not one Meta sends

# Keys of a messaging item that name an event type we know and deliberately skip.
_SKIPPED_KINDS = (
    "delivery",
    "read",
    "reaction",
    "app_roles",
    "account_linking",
    "policy_enforcement",
    "message_edit",
)

# Messenger's Like (thumbs-up) sticker, in its three sizes.
LIKE_STICKER_IDS = frozenset({"369239263222822", "369239343222814", "369239383222810"})
# Attachment types with a kind of their own; any other type (reels, posts, products,
# bookings, types Meta adds later) is of kind "other".


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


@dataclass(frozen=True, slots=True)
class StandbyItem:
    """A person did something in a thread another app (or a person at the Page) owns: the
    bridge never answers it, but it shows Meta routes that thread elsewhere."""

    page_id: str
    user_id: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """A messaging item that is not sent to the bot, and why (for logs and metrics)."""

    reason: str


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The events to hand to the bot, the items skipped, whether the body had our shape, and
    what tells who is talking in a thread: echoes and handovers (also counted as skipped) and
    standby items. ``other_pages``: Page id → items of entries for Pages not served."""

    events: list[Event]
    skipped: list[Skipped]
    well_formed: bool = True
    echoes: list[Echo] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    standby: list[StandbyItem] = field(default_factory=list)
    other_pages: dict[str, int] = field(default_factory=dict)


def parse_webhook(
    body: object,
    *,
    page_id: str | None = None,
    app_id: str | None = None,
    pages: Collection[str] | None = None,
) -> ParseResult:
    """Read a decoded webhook body; entries for Pages not in ``pages`` (or other than
    ``page_id``), if given, are skipped; ``app_id`` (the bridge's own app, if known) tells its
    echoes from other apps'."""
    if not isinstance(body, dict) or body.get("object") != "page":
        return ParseResult([], [Skipped("not_page_object")], well_formed=False)
    entries = body.get("entry")
    if not isinstance(entries, list):
        return ParseResult([], [Skipped("no_entry_list")], well_formed=False)
    served = pages if pages is not None else None if page_id is None else (page_id,)
    result = ParseResult([], [])
    for entry in entries:
        for item in _entry_items(entry, served, result, app_id):
            parsed = to_event(item, entry, app_id=app_id)
            if isinstance(parsed, Skipped):
                result.skipped.append(parsed)
            elif isinstance(parsed, Echo):
                result.echoes.append(parsed)
                result.skipped.append(Skipped("echo"))
            elif isinstance(parsed, Handover):
                result.handovers.append(parsed)
                result.skipped.append(Skipped(f"{parsed.action}_thread_control"))
            else:
                result.events.append(parsed)
    return result


def _entry_items(
    entry: object, served: Collection[str] | None, result: ParseResult, app_id: str | None
) -> list[Any]:
    """The messaging items of one entry that may carry events for the bot; standby items are
    counted as skipped, and what they say about the thread kept."""
    if not isinstance(entry, dict):
        result.skipped.append(Skipped("malformed_entry"))
        return []
    if served is not None and str(entry.get("id")) not in served:
        result.skipped.append(Skipped("other_page"))
        other = str(entry.get("id"))
        result.other_pages[other] = result.other_pages.get(other, 0) + _item_count(entry)
        return []
    standby = entry.get("standby")
    if isinstance(standby, list):
        for item in standby:
            result.skipped.append(Skipped("standby"))
            _read_standby(item, entry, result, app_id)
    items = entry.get("messaging")
    if items is None:
        if not isinstance(standby, list):
            result.skipped.append(Skipped("no_messaging"))
        return []
    if not isinstance(items, list):
        result.skipped.append(Skipped("malformed_entry"))
        return []
    return items


def _item_count(entry: dict[str, Any]) -> int:
    """How many messaging and standby items an entry has (at least 1: the entry itself)."""
    lists = (entry.get("messaging"), entry.get("standby"))
    return max(1, sum(len(items) for items in lists if isinstance(items, list)))


def _read_standby(
    item: object, entry: dict[str, Any], result: ParseResult, app_id: str | None
) -> None:
    """What a standby item says about its thread: an echo, a handover, or a person's action."""
    if not isinstance(item, dict):
        return
    if is_echo(item):
        result.echoes.append(to_echo(item, entry, app_id=app_id, standby=True))
        return
    parsed = to_event(item, entry, app_id=app_id)
    if isinstance(parsed, Handover):
        result.handovers.append(
            Handover(
                parsed.page_id,
                parsed.user_id,
                parsed.timestamp,
                parsed.action,
                parsed.previous_owner,
                parsed.new_owner,
                parsed.metadata,
                standby=True,
            )
        )
    elif not isinstance(parsed, Skipped | Echo):
        result.standby.append(StandbyItem(parsed.page_id, parsed.sender_id, parsed.timestamp))


def is_echo(item: object) -> bool:
    """A messaging item that echoes a message the Page sent (``message.is_echo``)."""
    message = item.get("message") if isinstance(item, dict) else None
    return isinstance(message, dict) and bool(message.get("is_echo"))


def echo_origin(app_id: str | None, own_app_id: str | None) -> EchoOrigin:
    """Who sent an echoed message, from the echo's ``app_id`` and the bridge's own app id."""
    if app_id == PAGE_INBOX_APP_ID:
        return "page_inbox"
    if not app_id or not own_app_id:
        return "unknown_app"
    return "bridge" if app_id == own_app_id else "other_app"


def is_page_inbox_echo(echo: Echo) -> bool:
    """A person at the Page wrote in the thread from the Page Inbox (Meta Business Suite)."""
    return echo.origin == "page_inbox"


def to_echo(
    item: dict[str, Any], entry: dict[str, Any], *, app_id: str | None, standby: bool = False
) -> Echo:
    """An echo item as an ``Echo``; the Page is the sender, the person the recipient."""
    message = item["message"]
    echo_app = _str(message.get("app_id")) or None
    return Echo(
        page_id=_id_of(item.get("sender")) or _str(entry.get("id")),
        recipient_id=_id_of(item.get("recipient")),
        timestamp=_millis(item.get("timestamp"), entry.get("time")),
        mid=_str(message.get("mid")),
        app_id=echo_app,
        origin=echo_origin(echo_app, app_id),
        metadata=_optional(message.get("metadata")),
        standby=standby,
    )


def to_event(
    item: object, entry: dict[str, Any], *, app_id: str | None = None
) -> Event | Echo | Handover | Skipped:
    """Turn one ``messaging`` item into an event, an echo or a handover, or say why it is
    skipped."""
    if not isinstance(item, dict):
        return Skipped("malformed_item")
    if is_echo(item):
        return to_echo(item, entry, app_id=app_id)
    sender_id = _id_of(item.get("sender"))
    page_id = _id_of(item.get("recipient")) or _str(entry.get("id"))
    timestamp = _millis(item.get("timestamp"), entry.get("time"))
    for key, action in HANDOVER_KEYS.items():
        value = item.get(key)
        if isinstance(value, dict):
            if not sender_id or not page_id:
                return Skipped("no_sender")
            return to_handover(value, action, page_id, sender_id, timestamp)
    for key, build in _BUILDERS:
        value = item.get(key)
        if isinstance(value, dict):
            if not sender_id or not page_id:
                return Skipped("no_sender")
            return build(value, page_id, sender_id, timestamp)
    for kind in _SKIPPED_KINDS:
        if kind in item:
            return Skipped(kind)
    return Skipped("unknown")


def to_handover(
    value: dict[str, Any], action: HandoverAction, page_id: str, user_id: str, timestamp: int
) -> Handover:
    """A ``pass_thread_control`` / ``take_thread_control`` / ``request_thread_control``
    object; for a request, the app asking is ``new_owner``."""
    new_owner = value.get("requested_owner_app_id" if action == "request" else "new_owner_app_id")
    return Handover(
        page_id=page_id,
        user_id=user_id,
        timestamp=timestamp,
        action=action,
        previous_owner=_str(value.get("previous_owner_app_id")) or None,
        new_owner=_str(new_owner) or None,
        metadata=_optional(value.get("metadata")),
    )


def _message_event(
    message: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    mid = _str(message.get("mid"))
    if not mid:
        return Skipped("no_mid")
    text = _text(message.get("text"))
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict):
        payload = _text(quick_reply.get("payload"))
        if payload.strip():
            return QuickReply(page_id, sender_id, timestamp, mid, text, payload)
    attachments = to_media(message.get("attachments"))
    reply_to = _reply_to(message.get("reply_to"))
    referral = to_referral(message.get("referral"))
    if text.strip():
        return TextMessage(
            page_id, sender_id, timestamp, mid, text, attachments, reply_to, referral
        )
    if attachments:
        return Attachment(page_id, sender_id, timestamp, mid, attachments, reply_to, referral)
    # Attachments we cannot read (no type) are as good as none.
    return Skipped("bad_attachment" if message.get("attachments") else "no_text")


def _postback_event(
    postback: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    title = _text(postback.get("title"))
    payload = _text(postback.get("payload"))
    if not payload.strip() and not title.strip():
        return Skipped("empty_postback")
    mid = _str(postback.get("mid")) or None
    referral = to_referral(postback.get("referral"))
    return Postback(page_id, sender_id, timestamp, mid, title, payload, referral)


def _referral_event(
    referral: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    data = to_referral(referral)
    if data is None:
        return Skipped("empty_referral")
    return Referral(page_id, sender_id, timestamp, data)


def _optin_event(
    optin: dict[str, Any], page_id: str, sender_id: str, timestamp: int
) -> Event | Skipped:
    return Optin(
        page_id,
        sender_id,
        timestamp,
        optin_type=_str(optin.get("type")),
        ref=_optional(optin.get("ref")),
        payload=_optional(optin.get("payload")),
        title=_optional(optin.get("title")),
        status=_optional(optin.get("notification_messages_status")),
        frequency=_optional(optin.get("notification_messages_frequency")),
        timezone=_optional(optin.get("notification_messages_timezone")),
        token_expiry=_millis(optin.get("token_expiry_timestamp")) or None,
    )


# Which key of a messaging item makes which event; the first present wins.
_BUILDERS = (
    ("message", _message_event),
    ("postback", _postback_event),
    ("referral", _referral_event),
    ("optin", _optin_event),
)


def to_media(attachments: object) -> tuple[Media, ...]:
    """A message's attachments; unreadable ones are left out. While Meta moves stickers from
    ``image`` to ``sticker`` attachments, one sticker may come as both: it is kept once."""
    if not isinstance(attachments, list):
        return ()
    result: list[Media] = []
    stickers: set[str] = set()
    for attachment in attachments:
        media = _media(attachment)
        if media is None:
            continue
        if media.sticker_id is not None:
            if media.sticker_id in stickers:
                continue
            stickers.add(media.sticker_id)
        result.append(media)
    return tuple(result)


def _media(attachment: object) -> Media | None:
    if not isinstance(attachment, dict):
        return None
    kind = _str(attachment.get("type"))
    if not kind or len(kind) > _MAX_TYPE:
        return None
    payload = attachment.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    sticker_id = _str(payload.get("sticker_id")) or None
    latitude, longitude = _coordinates(payload.get("coordinates"))
    return Media(
        type="sticker" if sticker_id and kind == "image" else kind,
        # Fallbacks and locations have carried url and title beside the payload, too.
        url=_optional(payload.get("url")) or _optional(attachment.get("url")),
        title=_optional(payload.get("title")) or _optional(attachment.get("title")),
        sticker_id=sticker_id,
        latitude=latitude,
        longitude=longitude,
    )


def _coordinates(value: object) -> tuple[float | None, float | None]:
    if not isinstance(value, dict):
        return None, None
    latitude, longitude = _number(value.get("lat")), _number(value.get("long"))
    if latitude is None or longitude is None:
        return None, None
    return latitude, longitude


def _reply_to(value: object) -> ReplyTo | None:
    if not isinstance(value, dict):
        return None
    mid = _str(value.get("mid"))
    if not mid:
        return None
    self_reply = value.get("is_self_reply")
    return ReplyTo(mid, self_reply if isinstance(self_reply, bool) else None)


def to_referral(value: object) -> ReferralData | None:
    """A ``referral`` object (of a referral event, a postback or a message), if it says
    anything."""
    if not isinstance(value, dict):
        return None
    context = value.get("ads_context_data")
    data = ReferralData(
        source=_str(value.get("source")),
        type=_str(value.get("type")),
        ref=_optional(value.get("ref")),
        ad_id=_str(value.get("ad_id")) or None,
        referer_uri=_optional(value.get("referer_uri")),
        ads_context=tuple(
            (str(key), text)
            for key, item in (context.items() if isinstance(context, dict) else [])
            if (text := _str(item))
        ),
    )
    return data if data.source or data.ref or data.ad_id else None


def is_like(media: Media) -> bool:
    """Messenger's Like (thumbs-up) sticker, in any of its sizes."""
    return media.type == "sticker" and media.sticker_id in LIKE_STICKER_IDS


def attachment_kind(attachments: tuple[Media, ...]) -> str:
    """The kind of an attachment-only message: ``like`` if it is only Like stickers, else the
    type of its first attachment (``other`` for a type without a kind of its own)."""
    if attachments and all(is_like(media) for media in attachments):
        return "like"
    first = attachments[0].type if attachments else "other"
    return first if first in ATTACHMENT_KINDS else "other"


def no_text_kind(event: Event) -> str | None:
    """For an event without text of its own (attachments, a referral, an opt-in), its kind
    (one of ``NO_TEXT_KINDS``); None for events that carry text."""
    if isinstance(event, Attachment):
        return attachment_kind(event.attachments)
    if isinstance(event, Referral | Optin):
        return event.kind
    return None


def bot_input(event: Event, texts: Mapping[str, str] | None = None) -> str:
    """The text the bot receives: what was typed, or the tapped choice's payload; for an event
    without text, the text ``texts`` gives its kind (default: the kind's name, e.g. ``image``)."""
    if isinstance(event, TextMessage):
        return event.text
    if isinstance(event, QuickReply):
        return event.payload
    if isinstance(event, Postback):
        return event.payload if event.payload.strip() else event.title
    kind = no_text_kind(event) or event.kind
    return (texts or {}).get(kind) or kind


def dedupe_key(event: Event) -> str:
    """A key that is the same for every redelivery of one event: its mid, else a digest."""
    if isinstance(event, TextMessage | QuickReply | Attachment):
        return event.mid
    parts: tuple[str, ...]
    if isinstance(event, Postback):
        if event.mid:
            return event.mid
        # Postbacks from before Graph v11.0 carry no mid.
        parts = (event.payload,)
    elif isinstance(event, Referral):
        data = event.referral
        parts = (data.source, data.type, data.ref or "", data.ad_id or "")
    else:
        parts = (event.optin_type, event.payload or "", event.status or "", event.ref or "")
    seed = "|".join((event.kind, event.page_id, event.sender_id, str(event.timestamp), *parts))
    return "derived:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def conversation_key(event: Event) -> str:
    """One conversation per Page and person; turns within it run one at a time, in order."""
    return f"{event.page_id}:{event.sender_id}"


_META_ESCAPES = {"/": "\\/", "<": "\\u003C", "%": "\\u0025", "@": "\\u0040"}


def meta_bytes(body: object) -> bytes:
    """Serialise a webhook body the way Meta does: compact, ASCII with ``\\uXXXX`` escapes,
    and ``/ < % @`` escaped too (the bytes a signature is computed over). Those characters
    occur only inside JSON strings, so replacing them everywhere is safe."""
    text = json.dumps(body, ensure_ascii=True, separators=(",", ":"))
    for char, escape in _META_ESCAPES.items():
        text = text.replace(char, escape)
    return text.encode()


def to_json(event: Event) -> str:
    """Serialise an event for the queue. Fields at their default are left out, so a text event
    is stored exactly as before attachments and referrals were read."""
    stored = asdict(event)
    for item in fields(event):
        if item.name != "kind" and item.default is not MISSING:
            if getattr(event, item.name) == item.default:
                del stored[item.name]
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


_STORED_KINDS: dict[str, type[Event]] = {
    "text": TextMessage,
    "quick_reply": QuickReply,
    "postback": Postback,
    "attachment": Attachment,
    "referral": Referral,
    "optin": Optin,
}


def from_json(data: str) -> Event:
    """Rebuild an event stored by :func:`to_json`."""
    stored = json.loads(data)
    kind = stored.get("kind")
    cls = _STORED_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown stored event kind: {kind!r}")
    if "attachments" in stored:
        stored["attachments"] = tuple(Media(**media) for media in stored["attachments"])
    if stored.get("reply_to") is not None:
        stored["reply_to"] = ReplyTo(**stored["reply_to"])
    if stored.get("referral") is not None:
        referral = dict(stored["referral"])
        referral["ads_context"] = tuple(tuple(pair) for pair in referral.get("ads_context", ()))
        stored["referral"] = ReferralData(**referral)
    return cls(**stored)


def _id_of(party: object) -> str:
    return _str(party.get("id")) if isinstance(party, dict) else ""


def _str(value: object) -> str:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _optional(value: object) -> str | None:
    """A non-blank string field, else None."""
    text = _text(value)
    return text if text.strip() else None


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _text(value: object) -> str:
    """A string field, with lone surrogates (valid JSON escapes, invalid Unicode) replaced."""
    if not isinstance(value, str):
        return ""
    return _LONE_SURROGATE.sub("\ufffd", value)


def _millis(value: object, fallback: object = None) -> int:
    """Messenger timestamps are epoch milliseconds, sometimes sent as strings."""
    for candidate in (value, fallback):
        if isinstance(candidate, bool):
            continue
        number: int | None = None
        if isinstance(candidate, int):
            number = candidate
        elif isinstance(candidate, str) and candidate.isascii() and candidate.isdigit():
            number = int(candidate)
        elif isinstance(candidate, float):
            number = int(candidate)
        if number is not None:
            # Meta's postback reference shows 10-digit (seconds) strings; everything else is ms.
            return number * 1000 if 0 < number < _SECONDS_BEFORE else number
    return 0
