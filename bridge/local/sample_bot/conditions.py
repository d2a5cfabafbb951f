"""The sample bot's data: conditions and symptoms in English and Korean, how their names are
keyed for lookup, and ``Conditions``, the few reads the dialog makes.

Two implementations answer those reads: ``Catalog`` here (the shipped file, in memory: local
mode and the tests) and the DynamoDB store of the AWS example (``examples/symptom_bot``), which
reads the same rows by key. Standard library only, like the dialog, so a Lambda code hook can
carry this module as it is.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

Lang = Literal["en", "ko"]

DATA_FILE = Path(__file__).with_name("data") / "conditions.json"
LABEL_MAX = 20  # Messenger shows a quick reply or button title up to 20 characters
RESERVED = "#"  # no disease name starts with it: the table's other items are keyed with it

_APOSTROPHES = re.compile(r"['’ʼ`]")
_NON_WORD = re.compile(r"[\W_]+")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
SYMPTOM_WORD = re.compile(r"\s*(?:\bsymptoms?|증상)$", re.IGNORECASE)
_FILLER = frozenset(
    {"a", "an", "the", "some", "my", "of", "bad", "really", "very", "terrible", "slight"}
    | {"mild", "little", "bit", "high", "severe", "constant", "persistent", "lot"}
)
_SUFFIXES = ("ish", "ing", "es", "s", "e", "y")
_KOREAN_ENDINGS = ("이에요", "예요", "입니다", "이요", "요")
_KOREAN_PARTICLES = ("이", "가", "은", "는", "을", "를", "의", "도")


# --- names and their lookup keys ------------------------------------------------------------


def clean(text: str) -> str:
    """``text`` with apostrophes dropped and other punctuation and spacing collapsed."""
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text))
    return _NON_WORD.sub(" ", text).strip()


def normalise(text: str) -> str:
    """``clean(text)``, case-folded: how commands are compared."""
    return clean(text).casefold()


def is_korean(text: str) -> bool:
    return _HANGUL.search(text) is not None


def _stem(word: str) -> str:
    """A crude English stem ("fevers", "feverish" → "fever"); other words unchanged."""
    if not (word.isascii() and word.isalpha()):
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def key(text: str) -> str:
    """The lookup key of a name or symptom: normalised, filler words dropped, words stemmed."""
    return " ".join(_stem(word) for word in normalise(text).split() if word not in _FILLER)


def _variants(phrase_key: str) -> Iterator[str]:
    """``phrase_key``, then without a Korean polite ending ("독감이요") and/or particle ("열이")."""
    yield phrase_key
    if not phrase_key or not _HANGUL.match(phrase_key[-1]):
        return
    bases = [phrase_key] + [
        phrase_key[: -len(ending)].rstrip()
        for ending in _KOREAN_ENDINGS
        if phrase_key.endswith(ending) and len(phrase_key) > len(ending)
    ]
    for base in bases:
        yield base
        for particle in _KOREAN_PARTICLES:
            if base.endswith(particle) and len(base) > len(particle):
                yield base[: -len(particle)].rstrip()


def lookup_keys(phrase: str) -> list[str]:
    """The keys to look ``phrase`` up by, best first: as said, then without a trailing
    "symptoms" word, each with its Korean variants."""
    keys: list[str] = []
    for candidate in (phrase, SYMPTOM_WORD.sub("", phrase)):
        for variant in _variants(key(candidate)):
            if variant and variant not in keys:
                keys.append(variant)
    return keys


# --- what the dialog reads ------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One row of the table, in both languages."""

    disease: str
    symptoms: tuple[str, ...]
    ko_disease: str
    ko_symptoms: tuple[str, ...]
    aliases: tuple[str, ...]

    def name(self, lang: Lang) -> str:
        return self.ko_disease if lang == "ko" else self.disease

    def symptom_names(self, lang: Lang) -> tuple[str, ...]:
        return self.ko_symptoms if lang == "ko" else self.symptoms

    def label(self, lang: Lang) -> str:
        """A button text: the name, or a short alias in the same language if it is too long."""
        name = self.name(lang)
        if len(name) <= LABEL_MAX:
            return name
        short = (a for a in self.aliases if len(a) <= LABEL_MAX and is_korean(a) == (lang == "ko"))
        return next(short, name)


@dataclass(frozen=True)
class Symptom:
    """A symptom (its English name is its id), its Korean name, and the conditions that have
    it, in list order."""

    symptom: str
    ko_symptom: str
    conditions: tuple[str, ...]

    def name(self, lang: Lang) -> str:
        return self.ko_symptom if lang == "ko" else self.symptom


@dataclass(frozen=True)
class Overview:
    """The list of conditions (their ``Disease`` names, in list order) and the note shown
    with every answer about symptoms."""

    order: tuple[str, ...]
    note: dict[str, str]


class Conditions(Protocol):
    """The reads the dialog makes, each by key: a turn needs a handful, never the whole table."""

    def overview(self) -> Overview: ...

    def find(self, keys: Sequence[str]) -> Condition | Symptom | None:
        """What the first of ``keys`` (see ``lookup_keys``) that names something names."""
        ...

    def conditions(self, diseases: Sequence[str]) -> list[Condition]:
        """The conditions named, in that order; names not in the table are left out."""
        ...

    def symptoms(self, names: Sequence[str]) -> list[Symptom]:
        """The symptoms named (English), in that order; unknown names are left out."""
        ...


# --- the shipped file, in memory ------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """The conditions, the note, and the indexes names are looked up in: ``Conditions`` over
    the shipped file."""

    rows: tuple[Condition, ...]
    note: dict[str, str]
    korean: dict[str, str]  # English symptom → Korean
    by_disease: dict[str, Condition] = field(default_factory=dict)
    by_symptom: dict[str, Symptom] = field(default_factory=dict)
    condition_keys: dict[str, Condition] = field(default_factory=dict)
    symptom_keys: dict[str, str] = field(default_factory=dict)  # key → English symptom
    symptom_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def overview(self) -> Overview:
        return Overview(tuple(c.disease for c in self.rows), self.note)

    def find(self, keys: Sequence[str]) -> Condition | Symptom | None:
        for lookup in keys:
            if lookup in self.condition_keys:
                return self.condition_keys[lookup]
            if lookup in self.symptom_keys:
                return self.by_symptom[self.symptom_keys[lookup]]
        return None

    def conditions(self, diseases: Sequence[str]) -> list[Condition]:
        return [self.by_disease[d] for d in diseases if d in self.by_disease]

    def symptoms(self, names: Sequence[str]) -> list[Symptom]:
        return [self.by_symptom[s] for s in names if s in self.by_symptom]


def _index(index: dict[str, Any], name: str, target: Any, taken: dict[str, Any]) -> None:
    """Add ``name``'s key to ``index``; a key naming two things is an error in the data."""
    name_key = key(name)
    if not name_key:
        raise ValueError(f"{name!r} has no words to look up")
    for other in (index, taken):
        if other.get(name_key, target) != target:
            raise ValueError(f"{name!r} names both {other[name_key]} and {target}")
    index[name_key] = target


def _condition(row: Mapping[str, Any]) -> Condition:
    disease = row["Disease"]
    if not isinstance(disease, str) or not disease.strip() or disease.startswith(RESERVED):
        raise ValueError(f"Disease {disease!r}: a name, not starting with {RESERVED!r}")
    return Condition(
        disease=disease,
        symptoms=tuple(row["Symptoms"]),
        ko_disease=row["ko"]["Disease"],
        ko_symptoms=tuple(row["ko"]["Symptoms"]),
        aliases=tuple(row["aliases"]),
    )


def build_catalog(raw: Mapping[str, Any]) -> Catalog:
    """The catalog of a parsed data file; raises ValueError if the data is inconsistent."""
    conditions = tuple(_condition(row) for row in raw["conditions"])
    if len({c.disease for c in conditions}) != len(conditions):
        raise ValueError("a Disease appears twice")
    korean: dict[str, str] = {}
    for condition in conditions:
        if len(condition.symptoms) != len(condition.ko_symptoms):
            raise ValueError(f"{condition.disease}: the symptom lists differ in length")
        for english, hangul in zip(condition.symptoms, condition.ko_symptoms, strict=True):
            if korean.setdefault(english, hangul) != hangul:
                raise ValueError(f"{english!r} is both {korean[english]!r} and {hangul!r}")
    condition_keys: dict[str, Condition] = {}
    symptom_keys: dict[str, str] = {}
    for condition in conditions:
        for name in (condition.disease, condition.ko_disease, *condition.aliases):
            _index(condition_keys, name, condition, symptom_keys)
    for english, hangul in korean.items():
        for name in (english, hangul, *raw.get("symptom_aliases", {}).get(english, [])):
            _index(symptom_keys, name, english, condition_keys)
    unknown = set(raw.get("symptom_aliases", {})) - set(korean)
    if unknown:
        raise ValueError(f"aliases for symptoms no condition has: {sorted(unknown)}")
    by_symptom = {
        english: Symptom(
            english, hangul, tuple(c.disease for c in conditions if english in c.symptoms)
        )
        for english, hangul in korean.items()
    }
    return Catalog(
        rows=conditions,
        note=dict(raw["note"]),
        korean=korean,
        by_disease={c.disease: c for c in conditions},
        by_symptom=by_symptom,
        condition_keys=condition_keys,
        symptom_keys=symptom_keys,
        symptom_aliases={s: tuple(a) for s, a in raw.get("symptom_aliases", {}).items()},
    )


def read_catalog(path: Path) -> Catalog:
    """The catalog of a data file shaped like the shipped one."""
    return build_catalog(json.loads(path.read_text(encoding="utf-8")))


@cache
def catalog() -> Catalog:
    """The shipped data, read once."""
    return read_catalog(DATA_FILE)
