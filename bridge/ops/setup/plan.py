"""What ``setup`` would change: the webhook subscription plan and the field-by-field profile
plan; pure.

Fields are compared in a canonical form (``normalize``), so what Graph returns equals the file
when it means the same: locales in any order, default values left out, domains spelt
differently. Only changed fields are set, all in one call, which keeps runs within the Profile
API's call budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import Problem
from bridge.messenger.domains import domain_key
from bridge.messenger.profile import PROFILE_FIELDS
from bridge.messenger.subscriptions import SUBSCRIBED_FIELDS

# --- webhook subscription ---------------------------------------------------------------------


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


# --- Messenger profile ------------------------------------------------------------------------


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
    plan = ProfilePlan([], {}, [])
    for name in PROFILE_FIELDS:
        if only is None or name in only:
            _compare(plan, name, desired, current, delete_missing=delete_missing)
    problem = _menu_without_get_started(plan, current)
    if problem is not None:
        plan.problems.append(problem)
    return plan


def _compare(
    plan: ProfilePlan,
    name: str,
    desired: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    delete_missing: bool,
) -> None:
    """Add the field ``name``'s change, and the call it needs, to ``plan``."""
    have = name in current and current[name] not in (None, [], {})
    want = name in desired
    if want and not have:
        plan.changes.append(FieldChange(name, "add", None, desired[name]))
        plan.to_set[name] = desired[name]
    elif want:
        same = normalize(name, current[name]) == normalize(name, desired[name])
        kind = "same" if same else "change"
        plan.changes.append(FieldChange(name, kind, current[name], desired[name]))
        if not same:
            plan.to_set[name] = desired[name]
    elif have:
        kind = "delete" if delete_missing else "keep"
        plan.changes.append(FieldChange(name, kind, current[name]))
        if delete_missing:
            plan.to_delete.append(name)


def _menu_without_get_started(plan: ProfilePlan, current: Mapping[str, Any]) -> Problem | None:
    """Messenger hides a persistent menu while the Page has no Get Started button: a plan that
    would leave it so is refused before any write."""
    final = {k for k in current if current[k] not in (None, [], {})} | set(plan.to_set)
    final -= set(plan.to_delete)
    touches_menu = "persistent_menu" in plan.to_set or "get_started" in plan.to_delete
    if not touches_menu or "persistent_menu" not in final or "get_started" in final:
        return None
    return Problem(
        "$.persistent_menu",
        "Messenger shows a persistent menu only once a Get Started button is set: "
        + (
            "--delete-missing would remove get_started and keep the menu"
            if "get_started" in plan.to_delete
            else "add get_started to the file (and to --fields, if you use it)"
        ),
    )


def normalize(name: str, value: Any) -> Any:
    """``value`` in a canonical form, so that what Graph returns compares equal to the file
    when it means the same (locale order, default values, domain spelling)."""
    if name == "whitelisted_domains" and isinstance(value, list):
        return sorted({domain_key(d) for d in value if isinstance(d, str)})
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
    """A menu entry without the values Graph fills in by itself (so a file that leaves them out
    compares equal)."""
    if not isinstance(entry, dict):
        return entry
    entry = dict(entry)
    if entry.get("composer_input_disabled") is False:
        del entry["composer_input_disabled"]
    if entry.get("disabled_surfaces") == []:
        del entry["disabled_surfaces"]
    actions = entry.get("call_to_actions")
    if isinstance(actions, list):
        entry["call_to_actions"] = [_action_defaults(action) for action in actions]
    return entry


def _action_defaults(action: Any) -> Any:
    if not isinstance(action, dict):
        return action
    action = dict(action)
    if action.get("messenger_extensions") is False:
        del action["messenger_extensions"]
    if action.get("webview_height_ratio") == "full":
        del action["webview_height_ratio"]
    return action
