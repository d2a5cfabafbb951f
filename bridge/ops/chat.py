"""A terminal chat against a local-mode bridge: type like a Messenger user, read the replies.

Bodies are built and signed as Meta sends them (escaped-unicode JSON, X-Hub-Signature-256);
replies come from the local Graph inbox. ``build_*`` and ``describe`` are pure.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, TextIO

import requests

from bridge.messenger.events import meta_bytes
from bridge.messenger.signature import SIGNATURE_HEADER, sign

POLL_INTERVAL = 0.1
FINISHED = ("done", "dead")


@dataclass(frozen=True, slots=True)
class Choice:
    """Something the user can tap: a quick reply or a postback button."""

    title: str
    payload: str
    kind: str  # "quick_reply" or "postback"


def build_delivery(page_id: str, psid: str, item: dict[str, Any], now_ms: int) -> bytes:
    """A webhook delivery with one messaging item, serialised as Meta does (ASCII escapes)."""
    messaging = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now_ms, **item}
    body = {"object": "page", "entry": [{"id": page_id, "time": now_ms, "messaging": [messaging]}]}
    return meta_bytes(body)


def new_mid() -> str:
    return "m_" + uuid.uuid4().hex


def text_item(text: str, mid: str) -> dict[str, Any]:
    return {"message": {"mid": mid, "text": text}}


def choice_item(choice: Choice, mid: str) -> dict[str, Any]:
    """The event Messenger sends when a quick reply or a postback button is tapped."""
    if choice.kind == "quick_reply":
        return {
            "message": {
                "mid": mid,
                "text": choice.title,
                "quick_reply": {"payload": choice.payload},
            }
        }
    return {"postback": {"mid": mid, "title": choice.title, "payload": choice.payload}}


def describe(body: dict[str, Any], first: int = 1) -> tuple[list[str], list[Choice]]:
    """Terminal lines for one Send API body, and the choices it offers, numbered from ``first``."""
    action = body.get("sender_action")
    if action == "typing_on":
        return ["  (typing…)"], []
    if action:
        return [], []
    message = body.get("message") or {}
    lines: list[str] = []
    choices: list[Choice] = []
    if "text" in message:
        lines.extend(
            f"bot> {line}" if n == 0 else f"     {line}"
            for n, line in enumerate(str(message["text"]).splitlines() or [""])
        )
    payload = (message.get("attachment") or {}).get("payload") or {}
    for element in payload.get("elements", []):
        lines.append(f"bot> ┌ {element.get('title', '')}")
        if element.get("subtitle"):
            lines.append(f"     │ {element['subtitle']}")
        if element.get("image_url"):
            lines.append(f"     │ [image] {element['image_url']}")
        for button in element.get("buttons", []):
            choices.append(Choice(button.get("title", ""), button.get("payload", ""), "postback"))
            lines.append(f"     │ [{first + len(choices) - 1}] {button.get('title', '')}")
        lines.append("     └")
    if payload.get("template_type") == "button":
        lines.append(f"bot> {payload.get('text', '')}")
        for button in payload.get("buttons", []):
            choices.append(Choice(button.get("title", ""), button.get("payload", ""), "postback"))
            lines.append(f"     [{first + len(choices) - 1}] {button.get('title', '')}")
    for reply in message.get("quick_replies", []):
        choices.append(Choice(reply.get("title", ""), reply.get("payload", ""), "quick_reply"))
        lines.append(f"     ({first + len(choices) - 1}) {reply.get('title', '')}")
    return lines, choices


@dataclass
class ChatSession:
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
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)},
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
