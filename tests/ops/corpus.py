"""The replay corpus, tests/fixtures/webhooks: where it is, the ids its bodies use, and reading
them without the bridge (so the tests do not check the bridge with itself).

``<name>.json`` is a delivery exactly as Meta sends it; ``<name>.expected.json`` what the app
must do with it (test_replay_corpus.py). The ids are the harness's conventions: the corpus
Page, the bridge's own app, the Page Inbox and a person whose thread another app owns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parents[1] / "fixtures" / "webhooks"
EXPECTED_SUFFIX = ".expected.json"
MIN_PAIRS = 30

OWN_APP_ID = "1517776481860111"
NOT_OWNER_PSID = "2018300000000001"
LIKE_STICKER_ID = 369239263222822


def body_path(name: str) -> Path:
    return CORPUS / f"{name}.json"


def expected_path(name: str) -> Path:
    return CORPUS / f"{name}{EXPECTED_SUFFIX}"


def body_names() -> list[str]:
    """Every delivery in the corpus: ``<name>.json`` that is not an expectation file."""
    return sorted(
        path.name[: -len(".json")]
        for path in CORPUS.glob("*.json")
        if not path.name.endswith(EXPECTED_SUFFIX)
    )


def items(body: Any) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(``messaging`` or ``standby``, entry, item) for every messaging item of a body."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        return
    for entry in body["entry"]:
        if not isinstance(entry, dict):
            continue
        for where in ("messaging", "standby"):
            listed = entry.get(where)
            for item in listed if isinstance(listed, list) else []:
                if isinstance(item, dict):
                    yield where, entry, item


def millis(value: object) -> int | None:
    """A Messenger time as epoch milliseconds; 10-digit values are taken for seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int | float):
        number = int(value)
        return number * 1000 if number < 10**11 else number
    return None


def arrival_time(body: Any) -> float | None:
    """When Meta sent the body: just after its latest timestamp (None if it has none)."""
    stamps = [
        ms
        for entry in (body.get("entry") if isinstance(body, dict) else None) or []
        if isinstance(entry, dict)
        for ms in [millis(entry.get("time"))]
        if ms is not None
    ]
    stamps += [
        ms for _, _, item in items(body) for ms in [millis(item.get("timestamp"))] if ms is not None
    ]
    return max(stamps) / 1000 + 1.0 if stamps else None
