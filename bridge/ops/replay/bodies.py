"""The files a replay sends and the webhook bodies in them; pure but for reading a directory.

A body is sent as the bytes of its file, never re-serialised (the signature covers them
exactly), so checking one means reading it the way the webhook would, saying plainly why a
file is not a body. Expectation files of the replay corpus (``*.expected.json``) and an index
sit beside the bodies and are never sent.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.errors import NotAWebhookBody
from bridge.messenger.events import dedupe_key, meta_bytes, parse_webhook

_SKIPPED_NAMES = ("index.json",)
_EXPECTATION_SUFFIX = ".expected.json"


def find_files(paths: Sequence[Path]) -> list[Path]:
    """The files to send, in order: files as named, and each directory's ``*.json`` sorted by
    name, without expectation files (``*.expected.json``) and an index (``index.json``; an
    ``index.jsonl`` is not ``*.json``). Raises ValueError for a directory with none."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        bodies = sorted(filter(_is_body_file, path.glob("*.json")), key=lambda child: child.name)
        if not bodies:
            raise ValueError(f"no webhook bodies (*.json) in {path}")
        found.extend(bodies)
    return found


def _is_body_file(path: Path) -> bool:
    return (
        path.is_file()
        and not path.name.endswith(_EXPECTATION_SUFFIX)
        and path.name not in _SKIPPED_NAMES
    )


@dataclass(frozen=True, slots=True)
class EventRef:
    """One event the bridge hands to the bot: its queue key and who sent it."""

    key: str
    sender: str


@dataclass(frozen=True, slots=True)
class Body:
    """A webhook body to send: the exact bytes, its events and the items the bridge skips."""

    data: bytes
    events: tuple[EventRef, ...]
    skipped: tuple[str, ...]

    @property
    def senders(self) -> list[str]:
        return list(dict.fromkeys(event.sender for event in self.events))


def load_body(data: bytes) -> Body:
    """Check that ``data`` is a webhook body (UTF-8 JSON, an object with ``"object"`` and an
    ``"entry"`` list) and read its events; raises NotAWebhookBody saying why not."""
    decoded = _check_shape(_decode(data))
    parsed = parse_webhook(decoded)  # every Page: the server's own filter shows as not_queued
    events = dict.fromkeys(EventRef(dedupe_key(event), event.sender_id) for event in parsed.events)
    return Body(data, tuple(events), tuple(skip.reason for skip in parsed.skipped))


def _decode(data: bytes) -> object:
    """The JSON value of ``data``, read as Meta writes it (UTF-8, no byte-order mark)."""
    if not data.strip():
        raise NotAWebhookBody("empty file")
    if data.startswith(codecs.BOM_UTF8):
        raise NotAWebhookBody("starts with a byte-order mark, which Meta never sends")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotAWebhookBody(
            f"not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise NotAWebhookBody(
            f"not JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None


def _check_shape(decoded: object) -> dict[str, Any]:
    if not isinstance(decoded, dict):
        raise NotAWebhookBody(f"not a webhook body: the top level is {_json_type(decoded)}")
    if "object" not in decoded:
        raise NotAWebhookBody('not a webhook body: no "object" field')
    if "entry" not in decoded:
        raise NotAWebhookBody('not a webhook body: no "entry" list')
    if not isinstance(decoded["entry"], list):
        raise NotAWebhookBody(
            f'not a webhook body: "entry" is {_json_type(decoded["entry"])}, not a list'
        )
    return decoded


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def retime(data: bytes, now_ms: int) -> bytes:
    """Shift every ``time``/``timestamp`` so the newest is ``now_ms``, keeping the gaps, and
    serialise as Meta does. For recordings older than the bridge answers (24 h by default);
    the bytes change, so the body is signed anew like any other. Not JSON: returned as is."""
    try:
        decoded = json.loads(data)
    except ValueError:
        return data
    stamps = list(_stamps(decoded))
    if not stamps:
        return data
    shift = now_ms - max(_as_ms(value) for _, _, value in stamps)
    for holder, name, value in stamps:
        moved = _as_ms(value) + shift
        holder[name] = str(moved) if isinstance(value, str) else moved
    return meta_bytes(decoded)


def _stamps(body: object) -> Iterator[tuple[dict[str, Any], str, int | str]]:
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        holders = [entry] + [
            item
            for key in ("messaging", "standby")
            for item in (entry.get(key) or [])
            if isinstance(item, dict)
        ]
        for holder in holders:
            for name in ("time", "timestamp"):
                value = holder.get(name)
                if (isinstance(value, int) and not isinstance(value, bool)) or (
                    isinstance(value, str) and value.isascii() and value.isdigit()
                ):
                    yield holder, name, value


def _as_ms(value: int | str) -> int:
    number = int(value)
    return number * 1000 if number < 10**11 else number  # seconds, as in some Meta samples
