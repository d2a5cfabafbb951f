"""``BRIDGE_PAGES_FILE``: several Pages, each with its access token and its bot.

The file is JSON::

    {"pages": {
        "104859375629481": {
            "name": "Clinic",
            "access_token": "EAAG…",
            "bot": {"type": "lexv2", "bot_id": "ABCDE12345", "alias_id": "TSTALIASID",
                    "locale_id": "en_US"},
            "fallback_text": "Sorry, …",
            "handover_intent": "TalkToPerson",
            "no_text_inputs": {"image": "I sent a photo"},
            "no_text_reply_kinds": ["sticker"],
            "no_text_reply": "…"},
        "204859375629482": {
            "access_token": "EAAG…",
            "bot": {"type": "lexv1", "bot_name": "FluBot", "bot_alias": "$LATEST"}}}}

Only ``access_token`` is required. A Page without ``bot`` uses the environment's bot
(``BRIDGE_BOT``, ``LEX_*``); the other fields default to the environment's settings of the same
name (``BRIDGE_FALLBACK_TEXT``, ``BRIDGE_HANDOVER_INTENT``, ``BRIDGE_NO_TEXT_*``).

``parse_pages`` is pure and lists every problem at once, each naming the Page and the field;
a token never appears in a problem or a repr.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.config import patterns
from bridge.config.patterns import NO_TEXT_KINDS
from bridge.errors import PagesFileKeyError

MAX_INPUT_TEXT = 1024  # Lex's limit on the text of a turn
MAX_NAME = 100
BOT_TYPES = ("lexv2", "lexv1", "local")
PAGE_FIELDS = (
    "name",
    "access_token",
    "bot",
    "fallback_text",
    "handover_intent",
    "no_text_inputs",
    "no_text_reply_kinds",
    "no_text_reply",
)
_BOT_FIELDS = {
    "lexv2": ("type", "bot_id", "alias_id", "locale_id"),
    "lexv1": ("type", "bot_name", "bot_alias"),
    "local": ("type", "locale_id"),
}
SHAPE = '{"pages": {"<page id>": {"access_token": "EAA…", "bot": {…}}, …}}'


@dataclass(frozen=True)
class PageBot:
    """A Page's own bot: a Lex V2 bot (ids, locale), a Lex V1 bot (name, alias), or the local
    sample bot (local mode only). ``locale_id`` None: ``LEX_LOCALE_ID``."""

    type: str
    bot_id: str = ""
    alias_id: str = ""
    locale_id: str | None = None
    bot_name: str = ""
    bot_alias: str = ""


@dataclass(frozen=True)
class PageConfig:
    """One Page of the pages file. None: the environment's setting of the same name."""

    page_id: str
    access_token: str = field(repr=False)
    name: str | None = None
    bot: PageBot | None = None
    fallback_text: str | None = None
    handover_intent: str | None = None
    no_text_inputs: tuple[tuple[str, str], ...] | None = None
    no_text_reply_kinds: frozenset[str] | None = None
    no_text_reply: str | None = None

    @property
    def label(self) -> str:
        """How problems and the CLI name the Page: its id, and its name if it has one."""
        return f"{self.page_id} ({self.name})" if self.name else self.page_id


def read_pages_file(path: Path, *, local: bool) -> tuple[tuple[PageConfig, ...], list[str]]:
    """Read and check the pages file; the Pages, and every problem found (none: usable)."""
    source = f"BRIDGE_PAGES_FILE ({path})"
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        return (), [f"{source} cannot be read: {reason}"]
    try:
        data = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    except PagesFileKeyError as exc:
        return (), [f"{source}: the key {exc.key!r} appears twice in one object"]
    except json.JSONDecodeError as exc:
        # Only the position and the parser's reason: the text may hold tokens.
        return (), [f"{source} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
    return parse_pages(data, source=source, local=local)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PagesFileKeyError(key)
        result[key] = value
    return result


def parse_pages(
    data: object, *, source: str, local: bool
) -> tuple[tuple[PageConfig, ...], list[str]]:
    """The Pages of a decoded pages file, and every problem (each naming Page and field)."""
    if not isinstance(data, dict) or set(data) != {"pages"} or not isinstance(data["pages"], dict):
        return (), [f"{source} must be a JSON object of this shape: {SHAPE}"]
    if not data["pages"]:
        return (), [f'{source} names no Page: add at least one under "pages"']
    problems: list[str] = []
    pages = []
    for page_id, entry in data["pages"].items():
        checker = _Checker(f"{source}: Page {page_id}", problems)
        if not patterns.PAGE_ID.match(page_id):
            checker.problem(f"the Page id is malformed: expected {patterns.PAGE_ID_HINT}")
        page = checker.page(page_id, entry, local=local)
        if page is not None:
            pages.append(page)
    problems += _shared_tokens(pages, source)
    return tuple(pages), problems


def _shared_tokens(pages: list[PageConfig], source: str) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for page in pages:
        if not page.access_token:
            continue  # missing or malformed: said already
        first = seen.setdefault(page.access_token, page.page_id)
        if first != page.page_id:
            problems.append(
                f"{source}: Pages {first} and {page.page_id} have the same access_token: each"
                " Page has its own token (GET /me/accounts lists each Page with its token)"
            )
    return problems


class _Checker:
    """Reads one Page's object, adding a problem (prefixed with the Page) for each flaw."""

    def __init__(self, prefix: str, problems: list[str]) -> None:
        self._prefix = prefix
        self._problems = problems

    def problem(self, message: str) -> None:
        self._problems.append(f"{self._prefix}: {message}")

    def page(self, page_id: str, entry: object, *, local: bool) -> PageConfig | None:
        if not isinstance(entry, dict):
            self.problem('expected an object such as {"access_token": "EAA…"}')
            return None
        self._unknown(entry, PAGE_FIELDS, "")
        token = self._string(entry, "access_token", pattern=patterns.PAGE_TOKEN, required=True)
        kinds = self._kinds(entry)
        return PageConfig(
            page_id=page_id,
            access_token=token or "",
            name=self._string(entry, "name", limit=MAX_NAME),
            bot=self._bot(entry.get("bot"), local=local) if "bot" in entry else None,
            fallback_text=self._string(entry, "fallback_text", limit=2000),
            handover_intent=self._string(entry, "handover_intent", pattern=patterns.INTENT_NAME),
            no_text_inputs=self._inputs(entry),
            no_text_reply_kinds=kinds,
            no_text_reply=self._string(entry, "no_text_reply", limit=2000),
        )

    def _unknown(self, entry: dict[str, Any], known: tuple[str, ...], where: str) -> None:
        for name in entry:
            if name not in known:
                self.problem(f"unknown field {where}{name!r} (known: {', '.join(known)})")

    def _string(
        self,
        entry: dict[str, Any],
        name: str,
        *,
        pattern: re.Pattern[str] | None = None,
        limit: int | None = None,
        required: bool = False,
        where: str = "",
    ) -> str | None:
        hint = _HINTS.get(name, "text")
        value = entry.get(name)
        if value is None:
            if required:
                self.problem(f"{where}{name!r} is missing: set it to {hint}")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{where}{name!r} must be a non-empty string: {hint}")
            return None
        value = value.strip()
        if pattern is not None and not pattern.match(value):
            # Never the value itself: it may be a token.
            self.problem(f"{where}{name!r} is malformed: expected {hint}")
            return None
        if limit is not None and len(value) > limit:
            self.problem(f"{where}{name!r} is too long: at most {limit} characters")
            return None
        return value

    def _bot(self, bot: object, *, local: bool) -> PageBot | None:
        types = ", ".join(BOT_TYPES)
        if not isinstance(bot, dict) or bot.get("type") not in BOT_TYPES:
            self.problem(
                f'"bot" must be an object with "type" one of {types}, e.g. {{"type": "lexv2",'
                ' "bot_id": "ABCDE12345", "alias_id": "TSTALIASID"}'
            )
            return None
        kind = str(bot["type"])
        self._unknown(bot, _BOT_FIELDS[kind], "bot.")
        if kind == "local" and not local:
            self.problem(
                '"bot" type local needs BRIDGE_MODE=local (the sample bot runs only there)'
            )
        locale = self._string(bot, "locale_id", pattern=patterns.LOCALE, where="bot.")
        if kind == "lexv2":
            bot_id = self._string(
                bot, "bot_id", pattern=patterns.LEX_BOT_ID, required=True, where="bot."
            )
            alias = self._string(
                bot, "alias_id", pattern=patterns.LEX_ALIAS_ID, required=True, where="bot."
            )
            return PageBot(kind, bot_id=bot_id or "", alias_id=alias or "", locale_id=locale)
        if kind == "lexv1":
            name = self._string(
                bot, "bot_name", pattern=patterns.LEX_V1_BOT_NAME, required=True, where="bot."
            )
            alias = self._string(
                bot, "bot_alias", pattern=patterns.LEX_V1_ALIAS, required=True, where="bot."
            )
            return PageBot(kind, bot_name=name or "", bot_alias=alias or "")
        return PageBot(kind, locale_id=locale)

    def _inputs(self, entry: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
        value = entry.get("no_text_inputs")
        if value is None:
            return None
        kinds = ", ".join(NO_TEXT_KINDS)
        if not isinstance(value, dict):
            self.problem(
                f'"no_text_inputs" must be an object of kind → text, e.g. {{"image": "photo"}}'
                f" (kinds: {kinds})"
            )
            return None
        pairs = []
        for kind, text in value.items():
            if kind not in NO_TEXT_KINDS:
                self.problem(f'"no_text_inputs" has the unknown kind {kind!r} (kinds: {kinds})')
            elif not isinstance(text, str) or not text.strip() or len(text) > MAX_INPUT_TEXT:
                self.problem(
                    f'"no_text_inputs"."{kind}" must be a text of 1-{MAX_INPUT_TEXT} characters'
                )
            else:
                pairs.append((kind, text.strip()))
        return tuple(pairs)

    def _kinds(self, entry: dict[str, Any]) -> frozenset[str] | None:
        value = entry.get("no_text_reply_kinds")
        if value is None:
            return None
        if value == "all":
            return frozenset(NO_TEXT_KINDS)
        if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
            self.problem('"no_text_reply_kinds" must be "all" or a list of kinds, e.g. ["image"]')
            return None
        unknown = [kind for kind in value if kind not in NO_TEXT_KINDS]
        if unknown:
            self.problem(
                f'"no_text_reply_kinds" has unknown kinds {", ".join(map(repr, unknown))}'
                f" (kinds: {', '.join(NO_TEXT_KINDS)})"
            )
        return frozenset(kind for kind in value if kind in NO_TEXT_KINDS)


_HINTS = {
    "access_token": patterns.PAGE_TOKEN_HINT,
    "bot_id": patterns.LEX_BOT_ID_HINT,
    "alias_id": patterns.LEX_ALIAS_ID_HINT,
    "locale_id": patterns.LOCALE_HINT,
    "bot_name": patterns.LEX_V1_BOT_NAME_HINT,
    "bot_alias": patterns.LEX_V1_ALIAS_HINT,
    "handover_intent": patterns.INTENT_NAME_HINT,
    "name": "a name for logs and commands",
    "fallback_text": "what people read when the bot fails",
    "no_text_reply": "the bridge's own answer to events without text",
}
