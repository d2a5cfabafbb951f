"""The parts of a messaging item that several events share: attachments, the message a person
replied to, and where they came from (a referral)."""

from __future__ import annotations

from bridge.messenger.events.fields import read_number, read_optional, read_str, read_text
from bridge.messenger.events.types import Media, ReferralData, ReplyTo

_MAX_TYPE = 40  # an attachment type longer than this is not one Meta sends


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
    kind = read_str(attachment.get("type"))
    if not kind or len(kind) > _MAX_TYPE:
        return None
    payload = attachment.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    sticker_id = read_str(payload.get("sticker_id")) or None
    latitude, longitude = _coordinates(payload.get("coordinates"))
    return Media(
        type="sticker" if sticker_id and kind == "image" else kind,
        # Fallbacks and locations have carried url and title beside the payload, too.
        url=read_optional(payload.get("url")) or read_optional(attachment.get("url")),
        title=read_optional(payload.get("title")) or read_optional(attachment.get("title")),
        sticker_id=sticker_id,
        latitude=latitude,
        longitude=longitude,
    )


def _coordinates(value: object) -> tuple[float | None, float | None]:
    if not isinstance(value, dict):
        return None, None
    latitude, longitude = read_number(value.get("lat")), read_number(value.get("long"))
    if latitude is None or longitude is None:
        return None, None
    return latitude, longitude


def to_reply_to(value: object) -> ReplyTo | None:
    if not isinstance(value, dict):
        return None
    mid = read_str(value.get("mid"))
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
        source=read_str(value.get("source")),
        type=read_str(value.get("type")),
        ref=read_optional(value.get("ref")),
        ad_id=read_str(value.get("ad_id")) or None,
        referer_uri=read_optional(value.get("referer_uri")),
        ads_context=tuple(
            (read_text(key), text)  # a JSON key may hold a lone surrogate too
            for key, item in (context.items() if isinstance(context, dict) else [])
            if (text := read_str(item))
        ),
    )
    return data if data.source or data.ref or data.ad_id else None
