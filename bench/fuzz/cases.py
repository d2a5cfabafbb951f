"""The fuzz run's cases: index ``i`` of seed ``s`` is one mutated delivery, made the same way
every time from the corpus, the seed and the index alone (pure, but for reading the corpus).

The corpus is the recorded deliveries of tests/fixtures/webhooks (``*.json``, not their
``*.expected.json``), each retimed so its newest timestamp is the run's ``now``: what still
parses after a mutation is fresh enough for delivery to answer. In ``FRESH_SHARE`` of the
cases the sender and the mids are the case's own, so that what parses is a new event in a
conversation nobody holds (the corpus has handovers), not a redelivery. Each case draws a
kind (by ``WEIGHTS``, per thousand) and a corpus body, mutates it and says which statuses it
may get: a signed body 200 or 400 (413 past the body limit; a corpus body padded up to the
limit 200), a signed body that is not JSON 400, an unsigned or wrongly signed one 403.
Anything else (a 5xx above all) is a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from dataclasses import dataclass
from pathlib import Path

from bench.fuzz.corruption import corrupt, not_json
from bench.fuzz.mutations import STRUCTURAL, Doc, encode
from bridge.messenger.events import meta_bytes
from bridge.messenger.signature import sign
from bridge.ops.replay.bodies import find_files, retime

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "webhooks"
STACKED = ("type", "range", "unicode", "keys")  # the mutations a "stack" case combines
# How often each kind is drawn, per thousand: mostly signed (the point is to get past the
# signature), a few not JSON, unsigned or wrongly signed, a few at the body limit.
WEIGHTS: dict[str, int] = {
    "type": 160,
    "range": 150,
    "depth": 80,
    "size": 60,
    "unicode": 150,
    "keys": 120,
    "stack": 110,
    "bytes": 80,
    "limit": 5,
    "not_json": 30,
    "unsigned": 25,
    "bad_signature": 30,
}
# The share of cases whose messages get mids of their own: what still parses is then a new
# event, which delivery answers (the rest are mostly redeliveries of the corpus's mids).
FRESH_SHARE = 0.3
FRESH_PSIDS = 9_100_000_000_000_000  # the PSID of case i of a fresh share is this + i
SIGNED = frozenset({200, 400})
ACCEPTED = frozenset({200})  # a corpus body padded up to the limit: whole, signed, JSON
NOT_JSON = frozenset({400})
REFUSED = frozenset({403})
TOO_LARGE = frozenset({413})


@dataclass(frozen=True)
class Corpus:
    names: tuple[str, ...]
    bodies: tuple[bytes, ...]


@dataclass(frozen=True)
class Case:
    """One request: its body, the signature header to send (None: none), the statuses it may
    get, which corpus file it came from and what was done to it."""

    index: int
    kind: str
    source: str
    body: bytes
    signature: str | None
    expected: frozenset[int]
    note: str


def load_corpus(now_ms: int, folder: Path = CORPUS) -> Corpus:
    """The corpus bodies, each retimed to ``now_ms``."""
    files = find_files([folder])
    return Corpus(
        tuple(path.stem for path in files),
        tuple(retime(path.read_bytes(), now_ms) for path in files),
    )


def make_case(corpus: Corpus, seed: int, index: int, *, secret: str, limit: int) -> Case:
    """Case ``index`` of ``seed``: always the same for the same corpus, secret and limit."""
    rng = random.Random(f"{seed}:{index}")
    kind = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    pick = rng.randrange(len(corpus.bodies))
    source, base = corpus.names[pick], corpus.bodies[pick]
    if rng.random() < FRESH_SHARE:
        base, source = freshen(base, index), f"{source} (fresh)"
    signature: str | None
    if kind == "limit":
        body, note = at_limit(rng, base, limit)
    elif kind == "bytes":
        body, note = corrupt(rng, base)
    elif kind == "not_json":
        body, note = not_json(rng, base)
    else:
        body, note = _structural(rng, kind, base)
    if kind == "unsigned":
        signature, note = None, f"no signature; {note}"
    elif kind == "bad_signature":
        signature, how = wrong_signature(rng, secret, body)
        note = f"{how}; {note}"
    else:
        signature = sign(secret, body)
    expected = TOO_LARGE if len(body) > limit else _statuses(kind)
    return Case(index, kind, source, body, signature, expected, note)


def freshen(body: bytes, index: int) -> bytes:
    """The body as if a new person (a PSID of the case's own) sent it, each message and
    postback with a mid of the case's own: a new event for delivery, in a conversation nobody
    holds, rather than a redelivery of the corpus's."""
    decoded = json.loads(body)
    entries = decoded.get("entry") if isinstance(decoded, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            for key in ("messaging", "standby"):
                items = entry.get(key)
                for item in items if isinstance(items, list) else []:
                    _freshen_item(item, entry.get("id"), index)
    return meta_bytes(decoded)


def _freshen_item(item: object, page: object, index: int) -> None:
    if not isinstance(item, dict):
        return
    sender = item.get("sender")
    if isinstance(sender, dict) and sender.get("id") not in (None, page):  # not an echo
        sender["id"] = str(FRESH_PSIDS + index)
    for key in ("message", "postback"):
        if isinstance(item.get(key), dict) and "mid" in item[key]:
            item[key]["mid"] = f"m_fuzz{index}_{item[key]['mid']}"


def _statuses(kind: str) -> frozenset[int]:
    if kind in ("unsigned", "bad_signature"):
        return REFUSED
    return {"not_json": NOT_JSON, "limit": ACCEPTED}.get(kind, SIGNED)


def _structural(rng: random.Random, kind: str, base: bytes) -> tuple[bytes, str]:
    """The body with one structural mutation of ``kind`` (several for "stack", one of any
    cheap kind for the unsigned and wrongly signed), written as Meta would or, sometimes, as
    plain UTF-8."""
    doc = Doc([json.loads(base)])
    if kind == "stack":
        chosen = [rng.choice(STACKED) for _ in range(rng.randint(2, 4))]
    elif kind in STRUCTURAL:
        chosen = [kind]
    else:
        chosen = [rng.choice(STACKED)]
    notes = [STRUCTURAL[name](rng, doc) for name in chosen]
    meta = rng.random() < 0.85
    return encode(doc, meta=meta), "; ".join(notes) + ("" if meta else " (UTF-8)")


def at_limit(rng: random.Random, base: bytes, limit: int) -> tuple[bytes, str]:
    """A corpus body padded (an unknown key holding a long string) to just under, at or just
    over ``limit`` bytes, or twice it."""
    target = rng.choice((limit - 1, limit, limit, limit + 1, limit + 1000, 2 * limit))
    doc = Doc([json.loads(base)])
    root = doc.holder[0]
    root["fuzz_padding"] = ""
    short = len(encode(doc))
    root["fuzz_padding"] = "x" * max(0, target - short)
    body = encode(doc)
    return body, f"limit: {len(body)} bytes (limit {limit})"


def wrong_signature(rng: random.Random, secret: str, body: bytes) -> tuple[str, str]:
    """An ``X-Hub-Signature-256`` value that does not sign ``body`` with ``secret``, and
    what is wrong with it."""
    right = sign(secret, body)
    digest = right.removeprefix("sha256=")
    changed = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    sha1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    choices = (
        (sign("x" + secret, body), "signed with another secret"),
        (sign(secret, body + b"\n"), "signature of another body"),
        (f"sha1={sha1}", "sha1 signature"),
        (right[:-1], "signature one digit short"),
        (right + "0", "signature one digit long"),
        ("sha256=", "empty signature"),
        ("", "empty header"),
        (f"SHA256={digest}", "upper-case prefix"),
        ("sha256=" + "g" * 64, "not hex"),
        (f"sha256={changed}", "one digit changed"),
        (f"sha256= {digest}", "a space in it"),
    )
    return rng.choice(choices)
