"""What Messenger accepts in a Page's profile; pure. (The webhook fields the bridge subscribes
to are in ``bridge.messenger.subscriptions``.)

``validate_profile`` checks a profile document against Messenger's limits and reports every
problem at once, each with its JSON path, so a file is fixed in one pass before any Graph call.
``python -m bridge setup`` validates the file with it, and local mode's Graph endpoint refuses
what it refuses, as Graph would (error 100).

Limits: messenger.md §8 and Meta's Messenger Profile API reference
https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api
"""

from __future__ import annotations

import difflib
import re
from typing import Any
from urllib.parse import urlsplit

from bridge.errors import Problem
from bridge.messenger.domains import domain_key, domain_problem

# --- Messenger profile: fields and limits (messenger.md §8) -------------------------------------

PROFILE_FIELDS = (
    "get_started",
    "greeting",
    "persistent_menu",
    "ice_breakers",
    "whitelisted_domains",
)
PAYLOAD_MAX = 1000
GREETING_MAX = 160
MENU_ITEMS_MAX = 20
MENU_TITLE_MAX = 30
ICE_BREAKERS_MAX = 4
DOMAINS_MAX = 50
WEBVIEW_RATIOS = ("compact", "tall", "full")
_WEB_URL_OPTIONAL = (
    "webview_height_ratio",
    "messenger_extensions",
    "fallback_url",
    "webview_share_button",
)

_LOCALE = re.compile(r"^(default|[a-z]{2}_[A-Z]{2})$")


def validate_profile(document: object) -> list[Problem]:
    """Every way ``document`` breaks Messenger's rules for a profile (empty list: valid)."""
    check = _Validator()
    if not isinstance(document, dict):
        check.add("$", "the profile must be a JSON object with the fields to set")
        return check.problems
    fields = {
        "get_started": check.get_started,
        "greeting": check.greeting,
        "persistent_menu": check.persistent_menu,
        "ice_breakers": check.ice_breakers,
        "whitelisted_domains": check.whitelisted_domains,
    }
    for key, value in document.items():
        path = f"$.{key}"
        if key in fields:
            fields[key](value, path)
            continue
        close = difflib.get_close_matches(str(key), PROFILE_FIELDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        check.add(
            path, f"unknown field; {hint}the fields setup manages are {', '.join(PROFILE_FIELDS)}"
        )
    return check.problems


class _Validator:
    """Collects problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    # -- building blocks

    def obj(
        self, value: object, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, f"must be an object with {', '.join(required)}")
            return None
        for key in required:
            if key not in value:
                self.add(f"{path}.{key}", "is missing")
        allowed = required + optional
        for key in value:
            if key not in allowed:
                self.add(f"{path}.{key}", f"unknown key (allowed here: {', '.join(allowed)})")
        return value

    def text(self, value: object, path: str, limit: int | None = None) -> None:
        if not isinstance(value, str):
            self.add(path, "must be a string")
        elif not value.strip():
            self.add(path, "must not be empty")
        elif limit is not None and len(value) > limit:
            self.add(path, f"has {len(value)} characters; the limit is {limit}")

    def items(self, value: object, path: str, limit: int | None = None) -> list[Any]:
        if not isinstance(value, list):
            self.add(path, "must be a list")
            return []
        if not value:
            self.add(path, "must not be empty")
        if limit is not None and len(value) > limit:
            self.add(path, f"has {len(value)} items; the limit is {limit}")
        return value

    def boolean(self, value: object, path: str) -> None:
        if not isinstance(value, bool):
            self.add(path, "must be true or false")

    def url(self, value: object, path: str) -> None:
        if not isinstance(value, str):
            self.add(path, "must be a string")
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.add(path, "must be an absolute http:// or https:// URL")

    def locales(self, entries: list[Any], path: str) -> None:
        """Each entry's locale is well formed and unique, and one of them is "default"."""
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or "locale" not in entry:
                continue
            locale = entry["locale"]
            where = f"{path}[{index}].locale"
            if not isinstance(locale, str) or not _LOCALE.match(locale):
                self.add(where, f'{locale!r} is not a locale: use "default" or one such as en_US')
            elif locale in seen:
                self.add(where, f"{locale!r} appears twice (also at {path}[{seen[locale]}])")
            else:
                seen[locale] = index
        if entries and "default" not in seen:
            self.add(
                path,
                'needs an entry with "locale": "default" (shown to everyone whose locale has no '
                "entry of its own)",
            )

    # -- the fields

    def get_started(self, value: object, path: str) -> None:
        entry = self.obj(value, path, ("payload",))
        if entry is not None and "payload" in entry:
            self.text(entry["payload"], f"{path}.payload", PAYLOAD_MAX)

    def greeting(self, value: object, path: str) -> None:
        entries = self.items(value, path)
        for index, item in enumerate(entries):
            entry = self.obj(item, f"{path}[{index}]", ("locale", "text"))
            if entry is not None and "text" in entry:
                self.text(entry["text"], f"{path}[{index}].text", GREETING_MAX)
        self.locales(entries, path)

    def persistent_menu(self, value: object, path: str) -> None:
        entries = self.items(value, path)
        for index, item in enumerate(entries):
            self.menu(item, f"{path}[{index}]")
        self.locales(entries, path)

    def menu(self, item: object, where: str) -> None:
        """One locale's menu: its switches, then its items."""
        entry = self.obj(
            item,
            where,
            ("locale",),
            ("composer_input_disabled", "call_to_actions", "disabled_surfaces"),
        )
        if entry is None:
            return
        if "composer_input_disabled" in entry:
            self.boolean(entry["composer_input_disabled"], f"{where}.composer_input_disabled")
        if "disabled_surfaces" in entry:
            surfaces = entry["disabled_surfaces"]
            if not isinstance(surfaces, list) or any(s != "CUSTOMER_CHAT_PLUGIN" for s in surfaces):
                self.add(
                    f"{where}.disabled_surfaces",
                    'must be a list whose only possible item is "CUSTOMER_CHAT_PLUGIN"',
                )
        if "call_to_actions" not in entry:
            if entry.get("composer_input_disabled") is True:
                self.add(
                    f"{where}.call_to_actions",
                    "is missing: with composer_input_disabled the menu is the only way to talk to "
                    "the bot",
                )
            return
        actions = self.items(entry["call_to_actions"], f"{where}.call_to_actions", MENU_ITEMS_MAX)
        for number, action in enumerate(actions):
            self.menu_item(action, f"{where}.call_to_actions[{number}]")

    def menu_item(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            self.add(path, "must be an object with type, title and payload or url")
            return
        kind = value.get("type")
        if kind == "nested":
            self.add(
                path,
                "nested menus were removed in Graph API v8.0: put the items in this list "
                f"directly (up to {MENU_ITEMS_MAX})",
            )
            return
        if kind == "postback":
            self.obj(value, path, ("type", "title", "payload"))
            if "payload" in value:
                self.text(value["payload"], f"{path}.payload", PAYLOAD_MAX)
        elif kind == "web_url":
            self.web_url(value, path)
        else:
            self.add(f"{path}.type", 'must be "postback" or "web_url"')
            return
        if "title" in value:
            self.text(value["title"], f"{path}.title", MENU_TITLE_MAX)

    def web_url(self, value: dict[str, Any], path: str) -> None:
        """A menu item that opens a web page (its title is checked by ``menu_item``)."""
        self.obj(value, path, ("type", "title", "url"), _WEB_URL_OPTIONAL)
        if "url" in value:
            self.url(value["url"], f"{path}.url")
        ratio = value.get("webview_height_ratio")
        if ratio is not None and ratio not in WEBVIEW_RATIOS:
            self.add(f"{path}.webview_height_ratio", f"must be one of {', '.join(WEBVIEW_RATIOS)}")
        if "messenger_extensions" in value:
            self.boolean(value["messenger_extensions"], f"{path}.messenger_extensions")
        if "fallback_url" in value:
            if value.get("messenger_extensions") is not True:
                self.add(f"{path}.fallback_url", "is allowed only with messenger_extensions: true")
            else:
                self.url(value["fallback_url"], f"{path}.fallback_url")
        share = value.get("webview_share_button")
        if share is not None and share != "hide":
            self.add(f"{path}.webview_share_button", 'can only be "hide"')

    def ice_breakers(self, value: object, path: str) -> None:
        entries = self.items(value, path)
        for index, item in enumerate(entries):
            where = f"{path}[{index}]"
            if isinstance(item, dict) and "question" in item and "locale" not in item:
                self.add(
                    where,
                    'the flat ice-breaker format is deprecated: use [{"locale": "default", '
                    '"call_to_actions": [{"question": …, "payload": …}]}]',
                )
                continue
            entry = self.obj(item, where, ("locale", "call_to_actions"))
            if entry is not None and "call_to_actions" in entry:
                self.questions(entry["call_to_actions"], f"{where}.call_to_actions")
        self.locales(entries, path)

    def questions(self, value: object, path: str) -> None:
        """One locale's ice breakers: question and payload pairs."""
        for number, question in enumerate(self.items(value, path, ICE_BREAKERS_MAX)):
            at = f"{path}[{number}]"
            pair = self.obj(question, at, ("question", "payload"))
            if pair is None:
                continue
            if "question" in pair:
                self.text(pair["question"], f"{at}.question")
            if "payload" in pair:
                self.text(pair["payload"], f"{at}.payload", PAYLOAD_MAX)

    def whitelisted_domains(self, value: object, path: str) -> None:
        domains = self.items(value, path, DOMAINS_MAX)
        seen: dict[str, int] = {}
        for index, domain in enumerate(domains):
            where = f"{path}[{index}]"
            problem = domain_problem(domain)
            if problem:
                self.add(where, problem)
                continue
            key = domain_key(domain)
            if key in seen:
                self.add(where, f"{domain!r} appears twice (also at {path}[{seen[key]}])")
            else:
                seen[key] = index
