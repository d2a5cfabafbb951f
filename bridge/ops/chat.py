"""A terminal chat against a local-mode bridge: type like a Messenger user, read the replies.

Bodies are built and signed as Meta sends them (bridge/messenger/deliveries.py); replies come
from the local Graph inbox. ``describe`` (a Send API body in terminal lines) is pure.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import requests

from bridge.messenger.deliveries import (
    Choice,
    build_delivery,
    choice_item,
    delivery_headers,
    new_mid,
    text_item,
)

POLL_INTERVAL = 0.1
FINISHED = ("done", "dead")


def describe(body: dict[str, Any], first: int = 1) -> tuple[list[str], list[Choice]]:
    """Terminal lines for one Send API body, and the choices it offers, numbered from ``first``."""
    action = body.get("sender_action")
    if action == "typing_on":
        return ["  (typing…)"], []
    if action:
        return [], []
    message = body.get("message") or {}
    lines = _text_lines(message)
    choices: list[Choice] = []
    payload = (message.get("attachment") or {}).get("payload") or {}
    for element in payload.get("elements", []):
        lines += _element_lines(element, first, choices)
    if payload.get("template_type") == "button":
        lines.append(f"bot> {payload.get('text', '')}")
        lines += _offer(
            payload.get("buttons", []), "postback", "     [{n}] {title}", first, choices
        )
    replies = message.get("quick_replies", [])
    lines += _offer(replies, "quick_reply", "     ({n}) {title}", first, choices)
    return lines, choices


def _text_lines(message: dict[str, Any]) -> list[str]:
    if "text" not in message:
        return []
    return [
        f"bot> {line}" if n == 0 else f"     {line}"
        for n, line in enumerate(str(message["text"]).splitlines() or [""])
    ]


def _element_lines(element: dict[str, Any], first: int, choices: list[Choice]) -> list[str]:
    """A generic template's element as a box, its buttons numbered on from ``choices``."""
    lines = [f"bot> ┌ {element.get('title', '')}"]
    if element.get("subtitle"):
        lines.append(f"     │ {element['subtitle']}")
    if element.get("image_url"):
        lines.append(f"     │ [image] {element['image_url']}")
    lines += _offer(element.get("buttons", []), "postback", "     │ [{n}] {title}", first, choices)
    lines.append("     └")
    return lines


def _offer(
    options: list[dict[str, Any]], kind: str, shape: str, first: int, choices: list[Choice]
) -> list[str]:
    """Append each option to ``choices`` (numbering is shared across the body) and give its
    numbered line."""
    lines = []
    for option in options:
        choices.append(Choice(option.get("title", ""), option.get("payload", ""), kind))
        lines.append(shape.format(n=first + len(choices) - 1, title=option.get("title", "")))
    return lines


@dataclass
class ChatSession:
    """One person's conversation: what they type is posted as Meta would post it, and each
    turn is followed (``/local/status``) until it is finished, printing what arrived."""

    url: str
    psid: str
    page_id: str
    secret: str
    timeout: float
    out: TextIO = field(default=sys.stdout)
    http: requests.Session = field(default_factory=requests.Session)
    _cursor: int = 0
    _choices: list[Choice] = field(default_factory=list)

    def run(self) -> None:
        """Read lines from stdin until EOF or /quit."""
        self._print(f"Chatting with {self.url} as user {self.psid}. /start, /quit, or a number.")
        try:
            self._cursor = self._inbox_after(0)[1]
        except requests.RequestException as error:
            self._print(f"cannot reach the bridge at {self.url}: {type(error).__name__}")
            raise SystemExit(1) from error
        for line in iter(lambda: self._prompt(), None):
            if not line.strip():
                continue
            if line.strip() == "/quit":
                break
            self.say(line.strip())

    def _prompt(self) -> str | None:
        try:
            return input("you> ")
        except EOFError:
            return None

    def say(self, line: str) -> None:
        """Send what the user typed (or picked) and print the replies."""
        mid = new_mid()
        if line == "/start":
            item = choice_item(Choice("Get Started", "GET_STARTED", "postback"), mid)
        elif line.isdigit() and 1 <= int(line) <= len(self._choices):
            item = choice_item(self._choices[int(line) - 1], mid)
        else:
            item = text_item(line, mid)
        body = build_delivery(self.page_id, self.psid, item, int(time.time() * 1000))
        response = self.http.post(
            f"{self.url}/webhook",
            data=body,
            timeout=10,
            headers=delivery_headers(body, self.secret),
        )
        if response.status_code != 200:
            self._print(f"(the bridge answered {response.status_code})")
            return
        self._choices = []
        self._follow(mid)

    def _follow(self, mid: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            state = (
                self.http.get(f"{self.url}/local/status", params={"key": mid}, timeout=10)
                .json()
                .get("state")
            )
            self._show_new()
            if state in FINISHED:
                if state == "dead":
                    self._print("(the bridge gave up on this message; see its log)")
                return
            time.sleep(POLL_INTERVAL)
        self._print(f"(no answer within {self.timeout:g} s)")

    def _inbox_after(self, cursor: int) -> tuple[list[dict[str, Any]], int]:
        response = self.http.get(
            f"{self.url}/local/graph/inbox",
            params={"recipient": self.psid, "after": str(cursor)},
            timeout=10,
        )
        if response.status_code == 404:
            raise SystemExit(f"{self.url} is not a bridge in local mode (no local Graph inbox)")
        data = response.json()
        return data["entries"], int(data["last"])

    def _show_new(self) -> None:
        entries, self._cursor = self._inbox_after(self._cursor)
        for entry in entries:
            lines, choices = describe(entry["body"], first=len(self._choices) + 1)
            self._choices.extend(choices)
            for line in lines:
                self._print(line)

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)
