"""The webhook fields ``python -m bridge setup`` subscribes the app to on a Page, what each
brings, and which the bridge cannot work without (``python -m bridge check``); pure data."""

from __future__ import annotations

# The fields `setup` subscribes the app to on the Page, and what each brings. The bridge answers
# the first four; the others tell it who is in the conversation, or are acknowledged and
# skipped with a named reason (never answered).
SUBSCRIBED_FIELDS: dict[str, str] = {
    "messages": "what people type, send or tap as a quick reply: sent to Lex (required)",
    "messaging_postbacks": "Get Started, menu, ice-breaker and card-button taps: sent to Lex "
    "(required)",
    "messaging_optins": "opt-ins (Send to Messenger, notification requests): sent to Lex",
    "messaging_referrals": "m.me links, ads and QR codes with a ref, in an open chat: sent to Lex",
    "message_echoes": "what the Page sent: a person writing from the Page Inbox silences the bot "
    "in that conversation (never answered)",
    "messaging_handovers": "thread control passed to or taken by the Page Inbox or another app: "
    "the bot is silent until control comes back",
    "standby": "what people do in a conversation a person or another app holds: never answered, "
    "so the bot does not talk over a human",
    "message_deliveries": "delivery receipts for the bridge's messages: acknowledged",
    "message_reads": "read receipts: acknowledged",
    "messaging_policy_enforcement": "Meta's warnings and blocks for the Page under Messenger "
    "policy: acknowledged, so they reach the logs",
}
REQUIRED_FIELDS = ("messages", "messaging_postbacks")
