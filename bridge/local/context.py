"""What the local endpoints read from the running app: the local store, the settings, the
person a notification-messages token reaches, and the fault due for a call (after its delay).

The store and the settings live in ``app.extensions`` (set by ``bridge.local.routes.init_app``
and by the composition root), so the endpoints hold no module-level state of their own.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from bridge.config.settings import Settings
from bridge.errors import QueueError
from bridge.local.store import LocalStore
from bridge.queue import Notifications

STORE_KEY = "bridge_local"  # app.extensions[STORE_KEY]: the LocalStore of the app
_sleep = time.sleep  # a fault's delay; tests replace it


def local_store() -> LocalStore:
    store: LocalStore = current_app.extensions[STORE_KEY]
    return store


def settings() -> Settings:
    current: Settings = current_app.extensions["bridge"].settings
    return current


def token_owner(page: str, token: str) -> str | None:
    """The PSID a notification-messages token of ``page`` was given for, if the bridge stored
    it (its queue's token store; None without one, or if it cannot be read)."""
    notifications: Notifications | None = current_app.extensions["bridge"].notifications
    if notifications is None:
        return None
    try:
        record = notifications.notification_token(page, token)
    except QueueError:
        return None
    return None if record is None else record.user


def take_fault(target: str, page: str | None = None) -> dict[str, Any] | None:
    """The next fault for ``target`` (a Graph call: for the caller's Page), after waiting out
    its delay."""
    fault = local_store().take_fault(target, page)
    if fault is not None:
        _sleep(fault.get("delay", 0))
    return fault
