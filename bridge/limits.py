"""Check a Send API message object against Messenger's documented limits; pure.

Used by the local Graph inbox to refuse, as Graph would (error 100), what real Messenger
refuses, so a rendering bug shows in local mode and in tests rather than in production.
"""

from __future__ import annotations

from typing import Any

from bridge.render import (
    BUTTON_TEMPLATE_TEXT_MAX,
    BUTTON_TITLE_MAX,
    BUTTONS_MAX,
    ELEMENT_SUBTITLE_MAX,
    ELEMENT_TITLE_MAX,
    ELEMENTS_MAX,
    PAYLOAD_MAX,
    QUICK_REPLIES_MAX,
    QUICK_REPLY_TITLE_MAX,
    TEXT_MAX,
    is_valid_message,
)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def message_problems(message: object) -> list[str]:
    """Every limit ``message`` breaks; empty when Messenger would accept it."""
    if not is_valid_message(message):
        return ["message is not a Messenger message object"]
    assert isinstance(message, dict)
    problems: list[str] = []
    if len(message.get("quick_replies") or []) > QUICK_REPLIES_MAX:
        problems.append(f"at most {QUICK_REPLIES_MAX} quick replies")
    text = message.get("text")
    if isinstance(text, str) and _units(text) >= TEXT_MAX:
        problems.append(f"text must be shorter than {TEXT_MAX} characters")
    for reply in message.get("quick_replies") or []:
        problems += _quick_reply_problems(reply)
    attachment = message.get("attachment") or {}
    if attachment.get("type") == "template":
        problems += _template_problems(attachment.get("payload") or {})
    return problems


def _quick_reply_problems(reply: dict[str, Any]) -> list[str]:
    if reply.get("content_type") != "text":
        return []
    title, payload = reply.get("title"), reply.get("payload")
    problems = []
    if not isinstance(title, str) or not title or _units(title) > QUICK_REPLY_TITLE_MAX:
        problems.append(f"quick reply title must be 1-{QUICK_REPLY_TITLE_MAX} characters")
    if not isinstance(payload, str | int) or _units(str(payload)) > PAYLOAD_MAX:
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
        if not isinstance(text, str) or not text or _units(text) > BUTTON_TEMPLATE_TEXT_MAX:
            problems.append(f"button template text must be 1-{BUTTON_TEMPLATE_TEXT_MAX} characters")
        return problems
    return []


def _element_problems(element: object) -> list[str]:
    if not isinstance(element, dict):
        return ["a template element must be an object"]
    problems = _buttons_problems(element.get("buttons"), required=False)
    title = element.get("title")
    if not isinstance(title, str) or not title or _units(title) > ELEMENT_TITLE_MAX:
        problems.append(f"element title must be 1-{ELEMENT_TITLE_MAX} characters")
    subtitle = element.get("subtitle")
    if subtitle is not None and (
        not isinstance(subtitle, str) or _units(subtitle) > ELEMENT_SUBTITLE_MAX
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
        if not button["title"] or _units(button["title"]) > BUTTON_TITLE_MAX:
            problems.append(f"button title must be 1-{BUTTON_TITLE_MAX} characters")
        if (
            button.get("type") == "postback"
            and _units(str(button.get("payload", ""))) > PAYLOAD_MAX
        ):
            problems.append(f"postback payload must be at most {PAYLOAD_MAX} characters")
    return problems
