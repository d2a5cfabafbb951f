"""bridge.messenger.text: UTF-16 lengths, and cuts and splits between the pieces a caller names
(code points here; grapheme clusters through bridge.messenger.render, tested there)."""

from __future__ import annotations

import pytest

from bridge.messenger.text import ELLIPSIS, prefix, split_text, truncate, utf16_len

GRINNING = "\U0001f600"  # astral: 2 units


def code_points(text: str) -> list[str]:
    return list(text)


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), (GRINNING, 2), ("e\u0301", 2), ("\ud800", 1), ("세계", 2)],
)
def test_utf16_len_counts_code_units(text: str, units: int) -> None:
    assert utf16_len(text) == units


def test_prefix_keeps_whole_pieces_within_the_limit() -> None:
    assert prefix(["ab", GRINNING, "c"], 4) == "ab" + GRINNING
    assert prefix(["ab", GRINNING, "c"], 3) == "ab"
    assert prefix(["abc"], 2) == ""
    assert prefix("abc", 2) == "ab"


def test_truncate_between_code_points_never_splits_a_surrogate_pair() -> None:
    assert truncate(GRINNING * 3, 4, pieces=code_points) == GRINNING + ELLIPSIS
    assert truncate("abc", 0, pieces=code_points) == ""


def test_split_text_between_code_points_keeps_every_character() -> None:
    text = "word " * 50
    chunks = split_text(text, 12, pieces=code_points)
    assert all(utf16_len(chunk) <= 12 for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


def test_split_text_rejects_a_limit_too_small_for_any_character() -> None:
    with pytest.raises(ValueError, match="limit"):
        split_text("some text", 1, pieces=code_points)
