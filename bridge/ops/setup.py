"""``python -m bridge setup``: subscribe the Page to the app and apply a Messenger profile.

Pure parts: the webhook fields the bridge subscribes to and why, reading and validating a
profile file against Messenger's limits (every problem at once, each with its JSON path), the
subscription plan, the field-by-field profile plan and its diff, and the Messenger Profile API's
call budget (10 calls per 10 minutes per Page). ``run_setup`` does the I/O through
``GraphClient`` and writes what it does through ``echo``.

Limits: messenger.md §8 and Meta's Messenger Profile API reference
https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api
"""

from __future__ import annotations

import difflib
import importlib
import ipaddress
import json
import os
import re
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.errors import GraphError, Problem, ProfileError, SetupFailed
from bridge.messenger.graph import GraphClient
from bridge.ops.graph_advice import explain_graph_error

# --- webhook subscription ---------------------------------------------------------------------

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
PROFILE_BUDGET = 10  # Messenger Profile API calls ...
PROFILE_WINDOW = 600.0  # ... per this many seconds, per Page

_LOCALE = re.compile(r"^(default|[a-z]{2}_[A-Z]{2})$")
_YAML_SUFFIXES = (".yaml", ".yml")


def load_profile(path: Path) -> dict[str, Any]:
    """Read and validate a profile file (JSON; YAML for .yaml/.yml when PyYAML is installed).

    Raises ``ProfileError`` listing every problem, each with its JSON path.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(path), [Problem("$", f"cannot read the file: {exc}")]) from None
    document = (
        _parse_yaml(text, str(path))
        if path.suffix.lower() in _YAML_SUFFIXES
        else _parse_json(text, str(path))
    )
    problems = validate_profile(document)
    if problems:
        raise ProfileError(str(path), problems)
    assert isinstance(document, dict)
    return document


def _parse_json(text: str, source: str) -> object:
    duplicates: list[str] = []

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        document = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ProfileError(
            source,
            [Problem("$", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")],
        ) from None
    if duplicates:
        raise ProfileError(
            source,
            [
                Problem(
                    "$", f"the key {key!r} appears twice in one object (only the last would count)"
                )
                for key in duplicates
            ],
        )
    return document


def _parse_yaml(text: str, source: str) -> object:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise ProfileError(
            source,
            [
                Problem(
                    "$",
                    "reading YAML needs PyYAML, which is not installed: pip install pyyaml, or "
                    "write the profile as JSON",
                )
            ],
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(source, [Problem("$", f"not valid YAML: {exc}")]) from None


def validate_profile(document: object) -> list[Problem]:
    """Every way ``document`` breaks Messenger's rules for a profile (empty list: valid)."""
    check = _Validator()
    if not isinstance(document, dict):
        check.add("$", "the profile must be a JSON object with the fields to set")
        return check.problems
    for key, value in document.items():
        path = f"$.{key}"
        if key == "get_started":
            check.get_started(value, path)
        elif key == "greeting":
            check.greeting(value, path)
        elif key == "persistent_menu":
            check.persistent_menu(value, path)
        elif key == "ice_breakers":
            check.ice_breakers(value, path)
        elif key == "whitelisted_domains":
            check.whitelisted_domains(value, path)
        else:
            close = difflib.get_close_matches(str(key), PROFILE_FIELDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            check.add(
                path,
                f"unknown field; {hint}the fields setup manages are {', '.join(PROFILE_FIELDS)}",
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
            where = f"{path}[{index}]"
            entry = self.obj(
                item,
                where,
                ("locale",),
                ("composer_input_disabled", "call_to_actions", "disabled_surfaces"),
            )
            if entry is None:
                continue
            if "composer_input_disabled" in entry:
                self.boolean(entry["composer_input_disabled"], f"{where}.composer_input_disabled")
            if "disabled_surfaces" in entry:
                surfaces = entry["disabled_surfaces"]
                if not isinstance(surfaces, list) or any(
                    s != "CUSTOMER_CHAT_PLUGIN" for s in surfaces
                ):
                    self.add(
                        f"{where}.disabled_surfaces",
                        'must be a list whose only possible item is "CUSTOMER_CHAT_PLUGIN"',
                    )
            if "call_to_actions" not in entry:
                if entry.get("composer_input_disabled") is True:
                    self.add(
                        f"{where}.call_to_actions",
                        "is missing: with composer_input_disabled the menu is the only way to "
                        "talk to the bot",
                    )
                continue
            actions = self.items(
                entry["call_to_actions"], f"{where}.call_to_actions", MENU_ITEMS_MAX
            )
            for number, action in enumerate(actions):
                self.menu_item(action, f"{where}.call_to_actions[{number}]")
        self.locales(entries, path)

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
            self.obj(
                value,
                path,
                ("type", "title", "url"),
                (
                    "webview_height_ratio",
                    "messenger_extensions",
                    "fallback_url",
                    "webview_share_button",
                ),
            )
            if "url" in value:
                self.url(value["url"], f"{path}.url")
            ratio = value.get("webview_height_ratio")
            if ratio is not None and ratio not in WEBVIEW_RATIOS:
                self.add(
                    f"{path}.webview_height_ratio", f"must be one of {', '.join(WEBVIEW_RATIOS)}"
                )
            if "messenger_extensions" in value:
                self.boolean(value["messenger_extensions"], f"{path}.messenger_extensions")
            if "fallback_url" in value:
                if value.get("messenger_extensions") is not True:
                    self.add(
                        f"{path}.fallback_url", "is allowed only with messenger_extensions: true"
                    )
                else:
                    self.url(value["fallback_url"], f"{path}.fallback_url")
            share = value.get("webview_share_button")
            if share is not None and share != "hide":
                self.add(f"{path}.webview_share_button", 'can only be "hide"')
        else:
            self.add(f"{path}.type", 'must be "postback" or "web_url"')
            return
        if "title" in value:
            self.text(value["title"], f"{path}.title", MENU_TITLE_MAX)

    def url(self, value: object, path: str) -> None:
        if not isinstance(value, str):
            self.add(path, "must be a string")
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.add(path, "must be an absolute http:// or https:// URL")

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
            if entry is None or "call_to_actions" not in entry:
                continue
            questions = self.items(
                entry["call_to_actions"], f"{where}.call_to_actions", ICE_BREAKERS_MAX
            )
            for number, question in enumerate(questions):
                at = f"{where}.call_to_actions[{number}]"
                pair = self.obj(question, at, ("question", "payload"))
                if pair is None:
                    continue
                if "question" in pair:
                    self.text(pair["question"], f"{at}.question")
                if "payload" in pair:
                    self.text(pair["payload"], f"{at}.payload", PAYLOAD_MAX)
        self.locales(entries, path)

    def whitelisted_domains(self, value: object, path: str) -> None:
        domains = self.items(value, path, DOMAINS_MAX)
        seen: dict[str, int] = {}
        for index, domain in enumerate(domains):
            where = f"{path}[{index}]"
            problem = domain_problem(domain)
            if problem:
                self.add(where, problem)
                continue
            key = _domain_key(domain)
            if key in seen:
                self.add(where, f"{domain!r} appears twice (also at {path}[{seen[key]}])")
            else:
                seen[key] = index


def domain_problem(domain: object) -> str | None:
    """Why ``domain`` cannot be whitelisted (https, a fully qualified name, no IP, no
    localhost), or None."""
    if not isinstance(domain, str):
        return "must be a string such as https://www.example.com"
    parts = urlsplit(domain)
    if parts.scheme != "https":
        return f"{domain!r} must start with https://"
    host = parts.hostname or ""
    if not host:
        return f"{domain!r} has no domain name"
    if parts.username or parts.password:
        return f"{domain!r} must not hold a user name or password"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"{domain!r} is an IP address: Messenger accepts domain names only"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{domain!r} is localhost: Messenger accepts public domain names only"
    if "." not in host:
        return f"{domain!r} is not fully qualified: use a name such as www.example.com"
    return None


def _domain_key(domain: str) -> str:
    parts = urlsplit(domain.strip())
    path = parts.path.rstrip("/")
    netloc = parts.netloc.lower()
    return f"{parts.scheme.lower()}://{netloc}{path}"


# --- plans ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionPlan:
    """This app's webhook fields on the Page now, and what ``setup`` would change."""

    subscribed: bool
    current: tuple[str, ...]
    missing: tuple[str, ...]
    kept: tuple[str, ...]

    @property
    def changes(self) -> bool:
        return bool(self.missing)

    @property
    def fields(self) -> tuple[str, ...]:
        """The list to POST: the bridge's fields, then any others the app already had (the
        POST replaces the app's list, and someone may have added those on purpose)."""
        return tuple(SUBSCRIBED_FIELDS) + self.kept


def plan_subscription(
    apps: Sequence[Mapping[str, Any]], app_id: str | None = None
) -> SubscriptionPlan:
    """Plan from ``GET /{page}/subscribed_apps``: Graph lists only the app the Page token was
    made for (an empty list: not subscribed); ``app_id`` picks it out if several are listed."""
    chosen = [app for app in apps if app_id is None or str(app.get("id")) == app_id]
    if not chosen:
        return SubscriptionPlan(False, (), tuple(SUBSCRIBED_FIELDS), ())
    fields = chosen[0].get("subscribed_fields")
    current = tuple(str(f) for f in fields) if isinstance(fields, list) else ()
    missing = tuple(f for f in SUBSCRIBED_FIELDS if f not in current)
    kept = tuple(f for f in current if f not in SUBSCRIBED_FIELDS)
    return SubscriptionPlan(True, current, missing, kept)


@dataclass(frozen=True)
class FieldChange:
    """One profile field: ``kind`` is add, change, same, delete or keep (on the Page, not in
    the file, left alone without --delete-missing)."""

    name: str
    kind: str
    current: Any = None
    desired: Any = None


@dataclass
class ProfilePlan:
    """The field-by-field difference between the file and the Page, and the calls it needs."""

    changes: list[FieldChange]
    to_set: dict[str, Any]
    to_delete: list[str]
    problems: list[Problem] = field(default_factory=list)

    @property
    def writes(self) -> int:
        """Profile API calls to apply it: one POST for every field set, one DELETE."""
        return int(bool(self.to_set)) + int(bool(self.to_delete))


def plan_profile(
    desired: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    only: Sequence[str] | None = None,
    delete_missing: bool = False,
) -> ProfilePlan:
    """Compare the file (``desired``) with the Page (``current``), field by field.

    ``only`` limits the fields considered; ``delete_missing`` deletes fields set on the Page
    but absent from the file (otherwise they are kept and shown as such).
    """
    considered = [name for name in PROFILE_FIELDS if only is None or name in only]
    changes: list[FieldChange] = []
    to_set: dict[str, Any] = {}
    to_delete: list[str] = []
    for name in considered:
        have = name in current and current[name] not in (None, [], {})
        want = name in desired
        if want and not have:
            changes.append(FieldChange(name, "add", None, desired[name]))
            to_set[name] = desired[name]
        elif want:
            same = normalize(name, current[name]) == normalize(name, desired[name])
            changes.append(
                FieldChange(name, "same" if same else "change", current[name], desired[name])
            )
            if not same:
                to_set[name] = desired[name]
        elif have:
            changes.append(FieldChange(name, "delete" if delete_missing else "keep", current[name]))
            if delete_missing:
                to_delete.append(name)
    plan = ProfilePlan(changes, to_set, to_delete)
    final = {k for k in current if current[k] not in (None, [], {})} | set(to_set)
    final -= set(to_delete)
    touches_menu = "persistent_menu" in to_set or "get_started" in to_delete
    if touches_menu and "persistent_menu" in final and "get_started" not in final:
        plan.problems.append(
            Problem(
                "$.persistent_menu",
                "Messenger shows a persistent menu only once a Get Started button is set: "
                + (
                    "--delete-missing would remove get_started and keep the menu"
                    if "get_started" in to_delete
                    else "add get_started to the file (and to --fields, if you use it)"
                ),
            )
        )
    return plan


def normalize(name: str, value: Any) -> Any:
    """``value`` in a canonical form, so that what Graph returns compares equal to the file
    when it means the same (locale order, default values, domain spelling)."""
    if name == "whitelisted_domains" and isinstance(value, list):
        return sorted({_domain_key(d) for d in value if isinstance(d, str)})
    if not isinstance(value, list):
        return _canonical(value)
    entries = [_canonical(entry) for entry in value]
    if name == "persistent_menu":
        entries = [_menu_defaults(entry) for entry in entries]
    if all(isinstance(entry, dict) and "locale" in entry for entry in entries):
        entries.sort(key=lambda entry: str(entry["locale"]))
    return entries


# Keys in the order people write them (then any others, alphabetically), for readable diffs.
_KEY_ORDER = (
    "locale",
    "type",
    "title",
    "question",
    "text",
    "payload",
    "url",
    "webview_height_ratio",
    "messenger_extensions",
    "fallback_url",
    "webview_share_button",
    "composer_input_disabled",
    "disabled_surfaces",
    "call_to_actions",
)


def _key_rank(key: str) -> tuple[int, str]:
    return (_KEY_ORDER.index(key) if key in _KEY_ORDER else len(_KEY_ORDER), key)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(map(str, value), key=_key_rank)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _menu_defaults(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    entry = dict(entry)
    if entry.get("composer_input_disabled") is False:
        del entry["composer_input_disabled"]
    if entry.get("disabled_surfaces") == []:
        del entry["disabled_surfaces"]
    actions = entry.get("call_to_actions")
    if isinstance(actions, list):
        cleaned = []
        for action in actions:
            if isinstance(action, dict):
                action = dict(action)
                if action.get("messenger_extensions") is False:
                    del action["messenger_extensions"]
                if action.get("webview_height_ratio") == "full":
                    del action["webview_height_ratio"]
            cleaned.append(action)
        entry["call_to_actions"] = cleaned
    return entry


# --- the Profile API's call budget ------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """Profile API calls left for a Page now, and when the oldest counted call stops counting."""

    used: int
    left: int
    frees_at: float | None


def budget(calls: Sequence[float], now: float) -> Budget:
    """Meta allows ``PROFILE_BUDGET`` calls per ``PROFILE_WINDOW`` seconds per Page."""
    recent = sorted(t for t in calls if now - PROFILE_WINDOW < t <= now)
    frees_at = recent[0] + PROFILE_WINDOW if recent else None
    return Budget(len(recent), max(0, PROFILE_BUDGET - len(recent)), frees_at)


class CallLog:
    """When this machine called the Profile API, per Page, in a small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def calls(self, page_id: str) -> list[float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        times = data.get(page_id) if isinstance(data, dict) else None
        if not isinstance(times, list):
            return []
        return [float(t) for t in times if isinstance(t, int | float) and not isinstance(t, bool)]

    def record(self, page_id: str, when: float) -> None:
        """Add a call (best effort: a log that cannot be written only loses the count)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        times = [t for t in self.calls(page_id) if when - t < PROFILE_WINDOW] + [when]
        data[page_id] = times
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_name(self.path.name + ".tmp")
            scratch.write_text(json.dumps(data), encoding="utf-8")
            os.replace(scratch, self.path)
        except OSError:
            pass


def call_log_path(db_path: Path) -> Path:
    """Beside the queue database: ``var/bridge.db`` → ``var/bridge-profile-calls.json``."""
    return db_path.with_name(db_path.stem + "-profile-calls.json")


# --- rendering --------------------------------------------------------------------------------

_MARKS = {"add": "+", "change": "~", "same": "=", "delete": "-", "keep": "·"}
_WORDS = {
    "add": "set (not set on the Page now)",
    "change": "changed",
    "same": "unchanged",
    "delete": "on the Page, not in the file: deleted (--delete-missing)",
    "keep": "on the Page, not in the file: kept (--delete-missing would delete it)",
}


def render_subscription(plan: SubscriptionPlan) -> list[str]:
    def wrapped(label: str, text: str) -> list[str]:
        return textwrap.wrap(
            text, width=92, initial_indent=f"  {label:<8}", subsequent_indent=" " * 10
        )

    lines = wrapped("now:", ", ".join(plan.current) if plan.subscribed else "not subscribed")
    if plan.missing:
        lines += wrapped("adds:", ", ".join(plan.missing))
    if plan.kept:
        lines += wrapped("keeps:", ", ".join(plan.kept) + " (not used by the bridge; left as is)")
    return lines


def render_profile(plan: ProfilePlan) -> list[str]:
    """One line per field, with a diff under each added, changed or deleted field."""
    lines: list[str] = []
    width = max((len(change.name) for change in plan.changes), default=0)
    for change in plan.changes:
        lines.append(f"  {_MARKS[change.kind]} {change.name.ljust(width)}  {_WORDS[change.kind]}")
        if change.kind in ("add", "change", "delete"):
            lines.extend(f"      {line}" for line in _diff(change))
    if not plan.changes:
        lines.append("  (no profile fields to consider)")
    return lines


def _pretty(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    return json.dumps(normalize(name, value), indent=2, ensure_ascii=False).splitlines()


def _diff(change: FieldChange) -> list[str]:
    """A unified diff of the field's JSON: whole when short, else hunks separated by "…"."""
    before = _pretty(change.name, change.current)
    after = [] if change.kind == "delete" else _pretty(change.name, change.desired)
    whole = len(before) + len(after) <= 60
    context = max(len(before), len(after)) if whole else 3
    lines = []
    for line in difflib.unified_diff(before, after, lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            if not whole:
                lines.append("…")
            continue
        lines.append(line)
    return lines


# --- the command ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupOptions:
    profile: dict[str, Any] | None = None
    profile_name: str = ""
    dry_run: bool = False
    only: tuple[str, ...] | None = None
    delete_missing: bool = False
    subscribe: bool = True


def run_setup(
    graph: GraphClient,
    options: SetupOptions,
    *,
    page_id: str | None,
    call_log: CallLog,
    echo: Callable[[str], None],
    secrets: Sequence[str] = (),
    unreachable_fix: str | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """Subscribe the Page and apply the profile as ``options`` say; 0 when all went well."""

    def failed(error: GraphError, doing: str, permission: str) -> SetupFailed:
        explained = explain_graph_error(
            error,
            doing=doing,
            permission=permission,
            secrets=secrets,
            unreachable_fix=unreachable_fix,
        )
        echo(f"✗ {explained.detail}")
        echo(f"  fix: {explained.fix}")
        return SetupFailed()

    try:
        page = _page(graph, page_id, failed, echo)
        if options.subscribe:
            _subscribe(graph, page, options.dry_run, failed, echo)
        if options.profile is not None:
            _apply_profile(graph, page, options, call_log, clock, failed, echo)
    except SetupFailed:
        return 1
    if options.dry_run:
        echo("\nDry run: nothing was changed. Run again without --dry-run to apply.")
    return 0


_Fail = Callable[[GraphError, str, str], SetupFailed]


def _page(
    graph: GraphClient, page_id: str | None, failed: _Fail, echo: Callable[[str], None]
) -> str:
    try:
        me = graph.me()
    except GraphError as error:
        raise failed(
            error, "read the Page behind FB_PAGE_ACCESS_TOKEN", "pages_messaging"
        ) from None
    token_page = str(me.get("id") or "")
    if page_id is not None and token_page != page_id:
        echo(
            f"✗ FB_PAGE_ACCESS_TOKEN belongs to the Page {me.get('name')!r} ({token_page}), but "
            f"FB_PAGE_ID is {page_id}"
        )
        echo("  fix: use the token of the Page in FB_PAGE_ID, or set FB_PAGE_ID to its id")
        raise SetupFailed()
    echo(f"Page: {me.get('name') or '(no name)'} ({token_page})")
    return token_page


def _subscribe(
    graph: GraphClient, page: str, dry_run: bool, failed: _Fail, echo: Callable[[str], None]
) -> None:
    echo("\nWebhook subscription (this app's fields on the Page)")
    try:
        plan = plan_subscription(graph.subscribed_apps(page))
    except GraphError as error:
        raise failed(
            error, "read the Page's webhook subscription", "pages_manage_metadata"
        ) from None
    for line in render_subscription(plan):
        echo(line)
    if not plan.changes:
        echo("  ✓ already subscribed to every field the bridge uses")
        return
    if dry_run:
        echo(f"  would subscribe with {len(plan.fields)} fields")
        return
    try:
        graph.subscribe(page, plan.fields)
    except GraphError as error:
        raise failed(error, "subscribe the Page to the app", "pages_manage_metadata") from None
    echo(f"  ✓ subscribed with {len(plan.fields)} fields")


def _apply_profile(
    graph: GraphClient,
    page: str,
    options: SetupOptions,
    call_log: CallLog,
    clock: Callable[[], float],
    failed: _Fail,
    echo: Callable[[str], None],
) -> None:
    assert options.profile is not None
    echo(f"\nMessenger profile ({options.profile_name})")
    before = budget(call_log.calls(page), clock())
    if before.left < 1:
        _refuse(before, needed=1, clock=clock, echo=echo)
    try:
        current = graph.messenger_profile(PROFILE_FIELDS)
    except GraphError as error:
        raise failed(error, "read the Messenger profile", "pages_messaging") from None
    finally:
        call_log.record(page, clock())
    plan = plan_profile(
        options.profile, current, only=options.only, delete_missing=options.delete_missing
    )
    for line in render_profile(plan):
        echo(line)
    if plan.problems:
        for problem in plan.problems:
            echo(f"✗ {problem}")
        raise SetupFailed()
    now = budget(call_log.calls(page), clock())
    writes = "".join(
        f" + 1 {what}"
        for what, needed in (("POST", plan.to_set), ("DELETE", plan.to_delete))
        if needed
    )
    echo(
        f"  Profile API calls: 1 read{writes} (Meta allows {PROFILE_BUDGET} per "
        f"{PROFILE_WINDOW / 60:.0f} minutes per Page; {now.left} left after the read)"
    )
    if not plan.writes:
        echo("  ✓ the profile already matches the file")
        return
    if now.left < plan.writes:
        _refuse(now, needed=plan.writes, clock=clock, echo=echo)
    if options.dry_run:
        return
    if plan.to_set:
        try:
            graph.set_messenger_profile(plan.to_set)
        except GraphError as error:
            raise failed(error, "set the Messenger profile", "pages_messaging") from None
        finally:
            call_log.record(page, clock())
        echo(f"  ✓ set {', '.join(plan.to_set)} (one call)")
    if plan.to_delete:
        try:
            graph.delete_messenger_profile(plan.to_delete)
        except GraphError as error:
            raise failed(error, "delete Messenger profile fields", "pages_messaging") from None
        finally:
            call_log.record(page, clock())
        echo(f"  ✓ deleted {', '.join(plan.to_delete)} (one call)")


def _refuse(
    state: Budget, *, needed: int, clock: Callable[[], float], echo: Callable[[str], None]
) -> None:
    wait = max(0, int((state.frees_at or clock()) - clock()) + 1)
    echo(
        f"✗ this needs {needed} more Messenger Profile API call{'s' if needed > 1 else ''}, but "
        f"{state.used} of the {PROFILE_BUDGET} Meta allows per {PROFILE_WINDOW / 60:.0f} minutes "
        f"for this Page were made from here already ({state.left} left). Nothing was changed."
    )
    echo(
        f"  fix: run it again in {wait} s, when the oldest of those calls stops counting "
        "(going over makes Graph refuse profile calls with error 613 for a while)"
    )
    raise SetupFailed()
