"""Mutations of a body's bytes, and bodies that are not JSON: pure functions of a random
generator and the bytes, no I/O. Each returns the new bytes and a short note of what it did.
"""

from __future__ import annotations

import random

# Bytes that are not UTF-8 (a lone continuation byte, an overlong slash, an encoded
# surrogate, a code point past U+10FFFF, a truncated sequence) and JSON's own punctuation.
ODD_BYTES: tuple[bytes, ...] = (
    b"\x80",
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\x00",
    b'"',
    b"\\",
    b"{",
    b"]",
    b",",
    b":",
)


def _short(value: bytes) -> str:
    text = value.decode("latin-1")
    return text if len(text) <= 24 else f"{text[:20]}…({len(text)})"


def corrupt(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """The bytes damaged one way: truncated, bits flipped, bytes inserted, deleted or
    repeated, or the whole text in another Unicode encoding (with or without its BOM)."""
    how = rng.choice(
        ("truncate", "flip", "flip", "insert", "insert", "delete", "repeat", "encoding")
    )
    if how == "truncate" or not data:
        cut = rng.randrange(len(data) + 1)
        return data[:cut], f"bytes truncated at {cut}/{len(data)}"
    if how == "flip":
        damaged = bytearray(data)
        flips = rng.randint(1, 8)
        for _ in range(flips):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        return bytes(damaged), f"bytes {flips} bits flipped"
    at = rng.randrange(len(data) + 1)
    if how == "insert":
        odd = rng.choice(ODD_BYTES)
        return data[:at] + odd + data[at:], f"bytes {odd!r} inserted at {at}"
    span = rng.randint(1, 64)
    if how == "delete":
        return data[:at] + data[at + span :], f"bytes {span} deleted at {at}"
    if how == "repeat":
        return data[:at] + data[at : at + span] * 2 + data[at + span :], f"bytes {span} repeated"
    codec = rng.choice(("utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"))
    return data.decode("utf-8", "replace").encode(codec, "surrogatepass"), f"bytes as {codec}"


# Signed bodies that are not JSON at all (none starts with a byte order mark or a NUL, so
# none decodes as UTF-16 or UTF-32 by accident).
NOT_JSON: tuple[bytes, ...] = (
    b"",
    b" ",
    b"not json",
    b"<?xml version='1.0'?><object>page</object>",
    b"object=page&entry=%5B%5D",
    b"{'object': 'page'}",
    b'{"object":"page",}',
    b'{"object":"page"}}',
    b'{"object":"page"} trailing',
    b"[" * 5,
    b'{"object":"page","entry":[',
    b'"unterminated',
    b"\x80\x81\x82",
    b"\xed\xa0\x80",
)


def not_json(rng: random.Random, corpus_body: bytes) -> tuple[bytes, str]:
    """A body that no JSON reader takes: a fixed oddity, a corpus body cut short or with
    something after it, or random bytes behind an invalid UTF-8 start."""
    how = rng.choice(("fixed", "fixed", "cut", "after", "random"))
    if how == "fixed":
        body = rng.choice(NOT_JSON)
        return body, f"not JSON {_short(body)}"
    if how == "cut":
        cut = rng.randrange(1, max(2, len(corpus_body) - 1))
        return corpus_body[:cut], f"not JSON: cut at {cut}/{len(corpus_body)}"
    if how == "after":
        tail = rng.choice((b"}", b"x", b",", b" {}", b"\x00"))
        return corpus_body + tail, f"not JSON: {tail!r} after the body"
    size = rng.choice((1, 16, 256, 4096))
    return b"\x80" + rng.randbytes(size), f"not JSON: {size + 1} random bytes"
