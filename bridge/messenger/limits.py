"""Messenger's Send API limits, and a check of a message object against them; pure.

Rendering keeps these limits; a bot's custom payload is passed through only if it keeps them
too; the local Graph inbox refuses what breaks them, as Graph would (error 100, which cannot
be retried), so a bug shows in local mode and in tests rather than in production.
Lengths are counted in UTF-16 code units, never fewer than the characters Meta counts.
https://developers.facebook.com/docs/messenger-platform/reference/send-api/
"""

from __future__ import annotations

from typing import Any

from bridge.messenger.text import utf16_len

TEXT_MAX = 2000  # a text must be strictly shorter than this
METADATA_MAX = 1000  # strictly shorter than this
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
PAYLOAD_MAX = 1000  # postback and quick-reply payloads
BUTTONS_MAX = 3  # per generic-template element, and per button template
BUTTON_TITLE_MAX = 20
ELEMENT_TITLE_MAX = 80
ELEMENT_SUBTITLE_MAX = 80
ELEMENTS_MAX = 10
BUTTON_TEMPLATE_TEXT_MAX = 640
ATTACHMENTS_MAX = 30

_MESSAGE_KEYS = frozenset({"text", "attachment", "attachments", "quick_replies", "metadata"})
_BODY_KEYS = ("text", "attachment", "attachments")


def is_valid_message(obj: object) -> bool:
    """True if ``obj`` is a Send API message object that keeps every limit."""
    return not message_problems(obj)


def message_problems(message: object) -> list[str]:
    """Every way ``message`` breaks Messenger's rules; empty when Graph would accept it."""
    if not isinstance(message, dict):
        return ["message must be an object"]
    unknown = sorted(set(message) - _MESSAGE_KEYS)
    if unknown:
        return [f"unknown message field(s): {', '.join(unknown)}"]
    bodies = [key for key in _BODY_KEYS if key in message]
    if len(bodies) != 1:
        return ["a message needs exactly one of text, attachment, attachments"]
    problems = _body_problems(bodies[0], message[bodies[0]])
    if "quick_replies" in message:
        problems += _quick_replies_problems(message["quick_replies"])
    metadata = message.get("metadata", "")
    if not isinstance(metadata, str) or utf16_len(metadata) >= METADATA_MAX:
        problems.append(f"metadata must be a string shorter than {METADATA_MAX} characters")
    return problems


def _body_problems(key: str, value: object) -> list[str]:
    if key == "text":
        if not isinstance(value, str) or not value.strip():
            return ["text must be a non-empty string"]
        return (
            []
            if utf16_len(value) < TEXT_MAX
            else [f"text must be shorter than {TEXT_MAX} characters"]
        )
    if key == "attachments":
        if (
            not isinstance(value, list)
            or not 0 < len(value) <= ATTACHMENTS_MAX
            or not all(isinstance(item, dict) for item in value)
        ):
            return [f"attachments must be a list of 1-{ATTACHMENTS_MAX} objects"]
        return []
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return ["attachment must be an object with a type"]
    if value["type"] != "template":
        return []
    payload = value.get("payload")
    if not isinstance(payload, dict):
        return ["a template attachment needs a payload object"]
    return _template_problems(payload)


def _quick_replies_problems(replies: object) -> list[str]:
    if not isinstance(replies, list) or not all(isinstance(reply, dict) for reply in replies):
        return ["quick_replies must be a list of objects"]
    problems = (
        [] if len(replies) <= QUICK_REPLIES_MAX else [f"at most {QUICK_REPLIES_MAX} quick replies"]
    )
    for reply in replies:
        problems += _quick_reply_problems(reply)
    return problems


def _quick_reply_problems(reply: dict[str, Any]) -> list[str]:
    kind = reply.get("content_type")
    if not isinstance(kind, str):
        return ["a quick reply needs a content_type"]
    if kind != "text":
        return []
    title, payload = reply.get("title"), reply.get("payload")
    problems = []
    if not isinstance(title, str) or not title or utf16_len(title) > QUICK_REPLY_TITLE_MAX:
        problems.append(f"quick reply title must be 1-{QUICK_REPLY_TITLE_MAX} characters")
    if not isinstance(payload, str | int) or utf16_len(str(payload)) > PAYLOAD_MAX:
        problems.append(f"quick reply payload must be at most {PAYLOAD_MAX} characters")
    return problems


def _template_problems(payload: dict[str, Any]) -> list[str]:
    kind = payload.get("template_type")
    if kind == "generic":
        elements = payload.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= ELEMENTS_MAX:
            return [f"a generic template needs 1-{ELEMENTS_MAX} elements"]
        return [problem for element in elements for problem in _element_problems(element)]
    if kind == "button":
        text = payload.get("text")
        problems = _buttons_problems(payload.get("buttons"), required=True)
        if not isinstance(text, str) or not text or utf16_len(text) > BUTTON_TEMPLATE_TEXT_MAX:
            problems.append(f"button template text must be 1-{BUTTON_TEMPLATE_TEXT_MAX} characters")
        return problems
    return []


def _element_problems(element: object) -> list[str]:
    if not isinstance(element, dict):
        return ["a template element must be an object"]
    problems = _buttons_problems(element.get("buttons"), required=False)
    title = element.get("title")
    if not isinstance(title, str) or not title or utf16_len(title) > ELEMENT_TITLE_MAX:
        problems.append(f"element title must be 1-{ELEMENT_TITLE_MAX} characters")
    subtitle = element.get("subtitle")
    if subtitle is not None and (
        not isinstance(subtitle, str) or utf16_len(subtitle) > ELEMENT_SUBTITLE_MAX
    ):
        problems.append(f"element subtitle must be at most {ELEMENT_SUBTITLE_MAX} characters")
    if not any(element.get(key) for key in ("subtitle", "image_url", "default_action", "buttons")):
        problems.append("an element needs a subtitle, an image, a default action or buttons")
    return problems


def _buttons_problems(buttons: object, *, required: bool) -> list[str]:
    if buttons is None and not required:
        return []
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        return [f"buttons must be a list of 1-{BUTTONS_MAX}"]
    problems = []
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("title"), str):
            problems.append("a button needs a title")
            continue
        if not button["title"] or utf16_len(button["title"]) > BUTTON_TITLE_MAX:
            problems.append(f"button title must be 1-{BUTTON_TITLE_MAX} characters")
        if (
            button.get("type") == "postback"
            and utf16_len(str(button.get("payload", ""))) > PAYLOAD_MAX
        ):
            problems.append(f"postback payload must be at most {PAYLOAD_MAX} characters")
    return problems
