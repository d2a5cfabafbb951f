"""Text measured the way Messenger and Lex measure it, in UTF-16 code units, and cut or split
without breaking what a reader sees as one character.

Standard library only: the symptom bot's Lambda carries a copy (examples/symptom_bot/build.py).
So the caller says where a cut may fall, as a function giving a text's pieces in order; the
bridge passes grapheme clusters (``bridge.messenger.render.graphemes``) for everything it sends
to Messenger or to Lex. A piece longer than the limit is cut between code points, not dropped.
Lone surrogates (valid in JSON, not in Unicode) count one unit each, as in UTF-16.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate

Pieces = Callable[[str], list[str]]  # a text's pieces, in order; no cut falls inside one

ELLIPSIS = "…"

# Unicode White_Space except CR and LF (what the regex package's [^\S\r\n] matches).
_WHITE = r"\t\x0b\x0c \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Cut candidates in order of preference; True means "cut after the match", else before it.
_BREAKS = (
    (re.compile(rf"\r?\n[{_WHITE}]*\r?\n"), False),  # paragraph
    (re.compile(r"\r?\n"), False),  # line
    (re.compile(rf"[.!?](?=[{_WHITE}\r\n])|[。！？]"), True),  # sentence end
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (an emoji counts 2); lone surrogates count 1."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def prefix(pieces: Iterable[str], limit: int) -> str:
    """The longest run of whole ``pieces``, from the first, within ``limit`` UTF-16 units."""
    kept: list[str] = []
    for piece in pieces:
        limit -= utf16_len(piece)
        if limit < 0:
            break
        kept.append(piece)
    return "".join(kept)


def truncate(text: str, limit: int, *, pieces: Pieces) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units between pieces, ending with "…" when cut
    (never after whitespace)."""
    if utf16_len(text) <= limit:
        return text
    if limit < 1:
        return ""
    return prefix(pieces(text), limit - utf16_len(ELLIPSIS)).rstrip() + ELLIPSIS


def split_text(text: str, limit: int, *, pieces: Pieces) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 units, at the most natural breaks
    (paragraph, line, sentence end, whitespace) that leave a chunk at least half full."""
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 code units")
    if not text or text.isspace():
        return []
    if utf16_len(text) <= limit:
        return [text]
    return list(_chunks(_layout(text, limit, pieces), limit))


@dataclass(frozen=True, slots=True)
class _Layout:
    """A text as grapheme clusters, with the boundaries where it may be cut."""

    clusters: list[str]
    units: list[int]  # UTF-16 units before each boundary
    breaks: list[list[int]]  # boundaries before/after a separator, one list per _BREAKS entry
    spaces: list[int]  # boundaries followed by a whitespace cluster


def _layout(text: str, limit: int, pieces: Pieces) -> _Layout:
    """Index ``text`` for splitting into chunks of at most ``limit`` units."""
    clusters = [part for piece in pieces(text) for part in _fit_cluster(piece, limit)]
    offsets = {offset: k for k, offset in enumerate(accumulate(map(len, clusters), initial=0))}
    return _Layout(
        clusters=clusters,
        units=list(accumulate(map(utf16_len, clusters), initial=0)),
        breaks=[_boundaries(text, offsets, pattern, after) for pattern, after in _BREAKS],
        spaces=[k for k, cluster in enumerate(clusters) if cluster.isspace()],
    )


def _fit_cluster(cluster: str, limit: int) -> list[str]:
    """``[cluster]``, or for a cluster longer than ``limit``, pieces cut by code point."""
    if utf16_len(cluster) <= limit:
        return [cluster]
    pieces, width = [""], 0
    for char in cluster:
        size = utf16_len(char)
        if width + size > limit:
            pieces.append("")
            width = 0
        pieces[-1] += char
        width += size
    return pieces


def _boundaries(
    text: str, offsets: dict[int, int], pattern: re.Pattern[str], after: bool
) -> list[int]:
    """Cluster boundaries just before (or after) each match of ``pattern``, ascending."""
    found = (offsets.get(m.end() if after else m.start()) for m in pattern.finditer(text))
    return [k for k in found if k is not None]


def _chunks(layout: _Layout, limit: int) -> Iterator[str]:
    """Successive chunks, with whitespace stripped at each cut."""
    start = _skip_space(layout, 0)
    while start < len(layout.clusters):
        cut = _find_cut(layout, start, limit)
        yield "".join(layout.clusters[start : _trim_end(layout, start, cut)])
        start = _skip_space(layout, cut)


def _find_cut(layout: _Layout, start: int, limit: int) -> int:
    """The boundary ending the chunk that starts at ``start``."""
    stop = bisect_right(layout.units, layout.units[start] + limit) - 1
    if stop == len(layout.clusters):
        return stop
    for candidates in layout.breaks:
        cut = _last_between(candidates, start, stop)
        if cut is not None and 2 * _width(layout, start, cut) >= limit:
            return cut
    space = _last_between(layout.spaces, start, stop)
    return stop if space is None else space


def _last_between(boundaries: list[int], start: int, stop: int) -> int | None:
    """The last of the ascending ``boundaries`` in ``(start, stop]``, if any."""
    i = bisect_right(boundaries, stop) - 1
    return boundaries[i] if i >= 0 and boundaries[i] > start else None


def _width(layout: _Layout, start: int, cut: int) -> int:
    """UTF-16 units of the chunk from ``start`` to ``cut``, trailing whitespace excluded."""
    return layout.units[_trim_end(layout, start, cut)] - layout.units[start]


def _trim_end(layout: _Layout, start: int, cut: int) -> int:
    """``cut`` moved back over whitespace clusters, but not before ``start``."""
    while cut > start and layout.clusters[cut - 1].isspace():
        cut -= 1
    return cut


def _skip_space(layout: _Layout, start: int) -> int:
    """``start`` moved forward over whitespace clusters."""
    while start < len(layout.clusters) and layout.clusters[start].isspace():
        start += 1
    return start
