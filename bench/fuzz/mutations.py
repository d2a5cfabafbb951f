"""Mutations of webhook bodies: pure functions of a random generator and a body, no I/O.

A structural mutation changes a decoded body (a ``Doc``) in place: a value's type, a number's
range, how deep a value sits, a size, a string's Unicode, a key. What JSON allows but
``json.dumps`` cannot write (``1e400``, ``-0``, a duplicated key, nesting deeper than the
encoder goes, a 5,000-digit integer) is a raw fragment: the tree holds a placeholder string
that ``encode`` replaces with the fragment's bytes. Each returns a short note of what it did
(where, and to what), for the report. The byte mutations are in ``bench.fuzz.corruption``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.messenger.events import meta_bytes

_PLACEHOLDER = re.compile(rb'"~~raw(\d+)~~"')

# Numbers past what the fields expect: beyond 64 bits, negative, fractional, tiny, huge.
NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    -(2**63) - 1,
    2**63,
    2**64,
    2**70,
    10**30,
    1e308,
    -1e308,
    5e-324,
    0.5,
    -0.0,
    1795004234517.5,
    float("nan"),
    float("inf"),
)
# Numbers only raw JSON can say (Python's json reads them all; the last is past its digit limit).
RAW_NUMBERS: tuple[bytes, ...] = (
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"-0",
    b"1E+2",
    b"0.000000000000000000000000000001",
    b"9" * 400,
    b"9" * 5000,
)
# Numbers as strings, the way a timestamp or an id is sometimes sent.
NUMBER_TEXTS: tuple[str, ...] = (
    "NaN",
    "1e400",
    "-5",
    "99999999999999999999999",
    "\u0661\u0667\u0669\u0665",  # Arabic-Indic digits: str.isdigit() says yes
    "\u00b2\u00b3",  # superscripts: isdigit() says yes, int() says no
    " 1795004234517",
    "0x1A",
    "",
)
# Unicode that trips code up: lone and reversed surrogates, direction overrides, zero-width
# characters, NUL, non-characters, the last code point, combining marks, line separators.
ODD_TEXTS: tuple[str, ...] = (
    "\ud800",
    "\udfff",
    "\udc00\ud800",
    "a\ud83db",
    "\u202etxet\u202c",
    "\u200f\u05e9\u05dc\u05d5\u05dd",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\x00",
    "a\x00b",
    "\uffff\ufffe",
    "\U0010ffff",
    "\U0001f44d\U0001f3fd\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "e" + "\u0301" * 300,
    "\u0085\u2028\u2029\r\n\t",
    "\u0645\u0631\u062d\u0628\u0627",
    "\U0001d573\U0001d58a\U0001d591",
    "\\u0000 \\ud800 \\",
    "%s %n {0} ${x}",
)
DEPTHS: tuple[int, ...] = (2, 10, 100, 500, 900, 990, 1000, 1100, 5000, 100_000)
SIZE_CAP = 1536 * 1024  # a list repeated to no more than this many bytes


@dataclass
class Doc:
    """A decoded body being mutated: ``holder[0]`` is its root (so the root can be replaced
    too), ``raw`` the fragments its placeholders stand for."""

    holder: list[Any]
    raw: list[bytes] = field(default_factory=list)

    def splice(self, fragment: bytes) -> str:
        """A placeholder string that ``encode`` replaces with the raw JSON ``fragment``."""
        self.raw.append(fragment)
        return f"~~raw{len(self.raw) - 1}~~"


def encode(doc: Doc, *, meta: bool = True) -> bytes:
    """The body's bytes: as Meta writes them (``meta``), else UTF-8 as it is (a lone
    surrogate becomes bytes no UTF-8 decoder takes); placeholders replaced by their fragments
    (a fragment may hold placeholders of its own)."""
    if meta:
        data = meta_bytes(doc.holder[0])
    else:
        text = json.dumps(doc.holder[0], ensure_ascii=False, separators=(",", ":"))
        data = text.encode("utf-8", "surrogatepass")
    for _ in range(len(doc.raw) + 1):
        data, count = _PLACEHOLDER.subn(lambda m: doc.raw[int(m[1])], data)
        if not count:
            break
    return data


Slot = tuple[Any, Any, str]  # a container, the key (or index) in it, and the path's name


def slots(doc: Doc, wanted: Callable[[Any], bool] | None = None) -> list[Slot]:
    """Every place that holds a value (the root's holder first), depth first, or only those
    whose value ``wanted`` takes."""
    found: list[Slot] = []
    stack: list[Slot] = [(doc.holder, 0, "$")]
    while stack:
        container, key, path = stack.pop()
        value = container[key]
        if wanted is None or wanted(value):
            found.append((container, key, path))
        if isinstance(value, dict):
            stack.extend((value, k, f"{path}.{k}") for k in reversed(list(value)))
        elif isinstance(value, list):
            stack.extend((value, i, f"{path}[{i}]") for i in reversed(range(len(value))))
    return found


def _pick(rng: random.Random, doc: Doc, wanted: Callable[[Any], bool]) -> Slot:
    """A slot whose value ``wanted`` takes, else any slot at all."""
    return rng.choice(slots(doc, wanted) or slots(doc))


def _short(value: object) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else repr(value)
    return text if len(text) <= 24 else f"{text[:20]}…({len(text)})"


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def other_type(rng: random.Random, value: object) -> object:
    """A value of another JSON type than ``value``: string, number, null, list, dict, bool."""
    choices: list[object] = [
        *("", "page", "1795004234517", "0"),
        *(0, 1, -1, 1795004234517, 3.25),
        *(None, True, False),
        *([], [value], [None, value]),
        *({}, {"id": value}, {"": None}),
    ]
    return rng.choice([c for c in choices if type(c) is not type(value)])


def change_type(rng: random.Random, doc: Doc) -> str:
    container, key, path = rng.choice(slots(doc))
    container[key] = other_type(rng, container[key])
    return f"type {path} ← {_short(container[key])}"


def change_range(rng: random.Random, doc: Doc) -> str:
    container, key, path = _pick(rng, doc, is_number)
    pool = rng.choice((NUMBERS, RAW_NUMBERS, NUMBER_TEXTS))
    new = rng.choice(pool)
    container[key] = doc.splice(new) if isinstance(new, bytes) else new
    return f"range {path} ← {_short(new)}"


def change_depth(rng: random.Random, doc: Doc) -> str:
    container, key, path = rng.choice(slots(doc))
    depth = rng.choice(DEPTHS)
    inner = meta_bytes(container[key])
    if rng.random() < 0.5:
        fragment = b"[" * depth + inner + b"]" * depth
    else:
        fragment = b'{"a":' * depth + inner + b"}" * depth
    container[key] = doc.splice(fragment)
    return f"depth {path} in {depth} {'lists' if fragment[:1] == b'[' else 'objects'}"


def change_size(rng: random.Random, doc: Doc) -> str:
    how = rng.choice(("string", "string", "list", "keys"))
    if how == "string":
        container, key, path = _pick(rng, doc, lambda v: isinstance(v, str))
        unit = rng.choice(("x", "\u00e9", "\U0001f44d", "\u200b"))
        container[key] = unit * rng.choice((1000, 10_000, 50_000, 100_000))
        return f"size {path} ← {len(container[key])} × {unit!r}"
    if how == "list":
        container, key, path = _pick(rng, doc, lambda v: isinstance(v, list) and bool(v))
        value = container[key]
        each = max(1, len(meta_bytes(value)))
        times = min(rng.choice((10, 100, 1000, 5000)), max(2, SIZE_CAP // each))
        container[key] = value * times if isinstance(value, list) else [value] * times
        return f"size {path} × {times}"
    container, key, path = _pick(rng, doc, lambda v: isinstance(v, dict))
    count = rng.choice((100, 1000, 10_000))
    extra = {f"k{n}": n for n in range(count)}
    value = container[key]
    container[key] = {**value, **extra} if isinstance(value, dict) else extra
    return f"size {path} + {count} keys"


def change_unicode(rng: random.Random, doc: Doc) -> str:
    odd = rng.choice(ODD_TEXTS)
    container, key, path = _pick(rng, doc, lambda v: isinstance(v, str))
    if rng.random() < 0.25 and isinstance(container, dict):  # the key, not the value
        container[key + odd] = container.pop(key)
        return f"unicode key {path} + {odd!r}"
    value = container[key]
    text = value if isinstance(value, str) else ""
    at = rng.randrange(len(text) + 1)
    container[key] = rng.choice((odd, text[:at] + odd + text[at:], text + odd))
    return f"unicode {path} ← {odd!r}"


def change_keys(rng: random.Random, doc: Doc) -> str:
    container, key, path = _pick(rng, doc, lambda v: isinstance(v, dict) and bool(v))
    value = container[key]
    if not isinstance(value, dict) or not value:
        container[key] = {}
        return f"keys {path} emptied"
    name = rng.choice(list(value))
    how = rng.choice(("delete", "delete", "duplicate", "rename"))
    if how == "delete":
        del value[name]
        return f"keys {path}.{name} deleted"
    if how == "rename":
        value[rng.choice((name.upper(), name + " ", "", name[:-1]))] = value.pop(name)
        return f"keys {path}.{name} renamed"
    second = rng.choice((value[name], other_type(rng, value[name])))
    pairs = (
        [*value.items(), (name, second)] if rng.random() < 0.5 else [(name, second), *value.items()]
    )
    parts = [meta_bytes(k) + b":" + meta_bytes(v) for k, v in pairs]  # placeholders stay
    container[key] = doc.splice(b"{" + b",".join(parts) + b"}")
    return f"keys {path}.{name} twice"


STRUCTURAL: dict[str, Callable[[random.Random, Doc], str]] = {
    "type": change_type,
    "range": change_range,
    "depth": change_depth,
    "size": change_size,
    "unicode": change_unicode,
    "keys": change_keys,
}
