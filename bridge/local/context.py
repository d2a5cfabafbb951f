"""What the local endpoints read from the running app: the local store, the settings, and the
fault due for a call (after its delay).

The store and the settings live in ``app.extensions`` (set by ``bridge.local.routes.init_app``
and by the composition root), so the endpoints hold no module-level state of their own.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from bridge.config.settings import Settings
from bridge.local.store import LocalStore

STORE_KEY = "bridge_local"  # app.extensions[STORE_KEY]: the LocalStore of the app
_sleep = time.sleep  # a fault's delay; tests replace it


def local_store() -> LocalStore:
    store: LocalStore = current_app.extensions[STORE_KEY]
    return store


def settings() -> Settings:
    current: Settings = current_app.extensions["bridge"].settings
    return current


def take_fault(target: str, page: str | None = None) -> dict[str, Any] | None:
    """The next fault for ``target`` (a Graph call: for the caller's Page), after waiting out
    its delay."""
    fault = local_store().take_fault(target, page)
    if fault is not None:
        _sleep(fault.get("delay", 0))
    return fault
