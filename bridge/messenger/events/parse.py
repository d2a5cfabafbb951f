"""Webhook JSON → typed inbound events; pure, no I/O.

Every ``entry`` and every ``messaging`` item is read. What a person did in the conversation
becomes an event for the bot: text, quick-reply taps, postbacks, attachments (images, audio,
video, files, shared links, stickers, a location), referrals (m.me links, ads) and opt-ins.
Echoes of what the Page sent are classified by the app that sent them (the bridge, another
app, the Page Inbox) and are never events for the bot; nor are changes of thread control
(``messaging_handovers``), which are read into ``Handover`` records, nor Meta's policy
actions on the app (``policy_enforcement``, also spelt ``policy-enforcement``), read into
``PolicyEnforcement`` records. A notification-messages opt-in also gives a ``TokenUpdate``
(``notifications``), under ``messaging`` or ``standby``. Deliveries, reads,
reactions and everything under ``standby`` (a thread the bridge does not own) are skipped
with a named reason; what a person did under ``standby`` is kept as a ``StandbyItem`` (someone
else answers them). Unknown keys and event types are tolerated.
https://developers.facebook.com/docs/messenger-platform/webhooks
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bridge.messenger.events.fields import read_id, read_millis, read_optional, read_str
from bridge.messenger.events.inbound import BUILDERS
from bridge.messenger.events.notifications import has_token, to_token_update
from bridge.messenger.events.thread import is_echo, to_echo, to_handover
from bridge.messenger.events.types import (
    HANDOVER_KEYS,
    POLICY_ACTION_MAX,
    POLICY_KEYS,
    POLICY_REASON_MAX,
    Echo,
    Event,
    Handover,
    Optin,
    ParseResult,
    PolicyEnforcement,
    Skipped,
    StandbyItem,
)

# Keys of a messaging item that name an event type we know and deliberately skip.
_SKIPPED_KINDS = (
    "delivery",
    "read",
    "reaction",
    "app_roles",
    "account_linking",
    "message_edit",
)


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
            _add(result, parsed)
            if has_token(parsed):
                _add_token(result, item, parsed)
    return result


def _add_token(result: ParseResult, item: dict[str, Any], optin: Optin) -> None:
    """The token update of a notification-messages opt-in (``optin``, read from ``item``)."""
    update = to_token_update(item["optin"], optin)
    if update is not None:
        result.tokens.append(update)


def _add(
    result: ParseResult, parsed: Event | Echo | Handover | PolicyEnforcement | Skipped
) -> None:
    """One ``messaging`` item's reading, into its list; what is not an event counted as
    skipped too."""
    if isinstance(parsed, Skipped):
        result.skipped.append(parsed)
    elif isinstance(parsed, Echo):
        result.echoes.append(parsed)
        result.skipped.append(Skipped("echo"))
    elif isinstance(parsed, Handover):
        result.handovers.append(parsed)
        result.skipped.append(Skipped(f"{parsed.action}_thread_control"))
    elif isinstance(parsed, PolicyEnforcement):
        result.policy.append(parsed)
        result.skipped.append(Skipped("policy_enforcement"))
    else:
        result.events.append(parsed)


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
    elif isinstance(parsed, PolicyEnforcement):
        result.policy.append(parsed)  # Meta acts on the app, whoever owns the thread
    elif not isinstance(parsed, Skipped | Echo):
        result.standby.append(StandbyItem(parsed.page_id, parsed.sender_id, parsed.timestamp))
        if has_token(parsed):
            _add_token(result, item, parsed)


def to_event(
    item: object, entry: dict[str, Any], *, app_id: str | None = None
) -> Event | Echo | Handover | PolicyEnforcement | Skipped:
    """Turn one ``messaging`` item into an event, an echo, a handover or a policy action, or
    say why it is skipped."""
    if not isinstance(item, dict):
        return Skipped("malformed_item")
    if is_echo(item):
        return to_echo(item, entry, app_id=app_id)
    sender_id = read_id(item.get("sender"))
    page_id = read_id(item.get("recipient")) or read_str(entry.get("id"))
    timestamp = read_millis(item.get("timestamp"), entry.get("time"))
    policy_key = next((key for key in POLICY_KEYS if key in item), None)
    if policy_key is not None:  # no sender: Meta addresses the Page
        return to_policy(item[policy_key], page_id, timestamp)
    for key, action in HANDOVER_KEYS.items():
        value = item.get(key)
        if isinstance(value, dict):
            if not sender_id or not page_id:
                return Skipped("no_sender")
            return to_handover(value, action, page_id, sender_id, timestamp)
    for key, build in BUILDERS:
        value = item.get(key)
        if isinstance(value, dict):
            if not sender_id or not page_id:
                return Skipped("no_sender")
            return build(value, page_id, sender_id, timestamp)
    for kind in _SKIPPED_KINDS:
        if kind in item:
            return Skipped(kind)
    return Skipped("unknown")


def to_policy(value: object, page_id: str, timestamp: int) -> PolicyEnforcement:
    """A ``policy_enforcement`` object (either spelling); an object that is not one reads as
    an action Meta did not name."""
    fields = value if isinstance(value, dict) else {}
    action = read_str(fields.get("action")).strip()[:POLICY_ACTION_MAX] or "unknown"
    reason = read_optional(fields.get("reason"))
    if reason is not None and len(reason) > POLICY_REASON_MAX:
        reason = reason[: POLICY_REASON_MAX - 1] + "\u2026"
    return PolicyEnforcement(page_id, timestamp, action, reason)
