"""What Lex V1 and V2 answers have in common: optional text fields and card buttons.

Lambdas send ``""`` or ``null`` for absent optional fields, and either version's card buttons
are ``{"text", "value"}``; a field that cannot be shown is skipped rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge.messenger.replies import Button


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
