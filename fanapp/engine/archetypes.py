"""Archetypes: names and one-line descriptions for characters, from the editable archetypes.json."""

from __future__ import annotations

import json
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import numpy as np

from fanapp.engine.history import IntArray, Table
from fanapp.engine.profile import FloatArray

KINDS: Final = ("sound", "listening", "any")
DIMENSIONS: Final = {
    "energy": "sound",
    "valence": "sound",
    "danceability": "sound",
    "acousticness": "sound",
    "night": "listening",
    "era": "listening",
}
PLACEHOLDERS: Final = frozenset({"songs", "top_artist", "top_song", "artist_count", "bpm", "era"})
_ERA_FROM, _ERA_SPAN = 1960, 65  # era 0 is 1960, 1 is 2025


@dataclass(frozen=True)
class Portrait:
    """What a character's songs add up to: dimensions 0-1 (only those known) and facts for descriptions."""

    dims: Mapping[str, float]
    facts: Mapping[str, str]


@dataclass(frozen=True)
class Archetype:
    """A kind of character: who it is, what its songs are like, and how to describe it."""

    id: str
    name: str
    kind: str
    target: Mapping[str, float]
    fallback_distance: float | None
    descriptions: tuple[str, ...]

    def distance(self, portrait: Portrait) -> float | None:
        """How far the portrait is from this archetype (0 = a perfect fit), None if it cannot tell."""
        if not self.target:
            return self.fallback_distance
        if not self.target.keys() <= portrait.dims.keys():
            return None
        gaps = [(portrait.dims[dim] - value) ** 2 for dim, value in self.target.items()]
        return math.sqrt(sum(gaps) / len(gaps))

    def describe(self, portrait: Portrait) -> str:
        """The first description whose placeholders the portrait can all fill."""
        for template in self.descriptions:
            if _placeholders(template) <= portrait.facts.keys():
                return template.format_map(portrait.facts)
        raise AssertionError("parse_archetypes guarantees a description that only needs {songs}")


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def parse_archetypes(data: object) -> tuple[Archetype, ...]:
    """Archetypes from the parsed JSON document, or a ValueError saying what is wrong with it."""
    entries = data.get("archetypes") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError("archetypes.json needs an 'archetypes' list")
    parsed = tuple(_parse_one(entry, number) for number, entry in enumerate(entries, 1))
    ids = [a.id for a in parsed]
    if len(set(ids)) != len(ids):
        raise ValueError("archetypes.json: archetype ids must be unique")
    if sum(1 for a in parsed if a.kind == "any") < 2:
        raise ValueError("archetypes.json needs at least two archetypes of kind 'any', so two always fit")
    return parsed


def _parse_one(entry: object, number: int) -> Archetype:
    where = f"archetypes.json, archetype {number}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object")
    ident, name, kind = entry.get("id"), entry.get("name"), entry.get("kind")
    if not (isinstance(ident, str) and ident and isinstance(name, str) and name):
        raise ValueError(f"{where}: needs a non-empty 'id' and 'name'")
    if kind not in KINDS:
        raise ValueError(f"{where} ({ident}): 'kind' must be one of {', '.join(KINDS)}")
    target = entry.get("target", {})
    if not isinstance(target, dict) or not all(
        DIMENSIONS.get(dim) == kind and isinstance(value, int | float) and 0 <= value <= 1
        for dim, value in target.items()
    ):
        raise ValueError(f"{where} ({ident}): 'target' must map {kind} dimensions to values from 0 to 1")
    fallback = entry.get("fallback_distance")
    if (kind == "any") != isinstance(fallback, int | float) or (kind == "any") == bool(target):
        raise ValueError(f"{where} ({ident}): 'any' takes a fallback_distance and no target, others a target")
    descriptions = entry.get("descriptions")
    if (
        not isinstance(descriptions, list)
        or not descriptions
        or not all(isinstance(d, str) for d in descriptions)
    ):
        raise ValueError(f"{where} ({ident}): needs a list of 'descriptions'")
    for template in descriptions:
        try:
            unknown = _placeholders(template) - PLACEHOLDERS
        except ValueError as exc:
            raise ValueError(f"{where} ({ident}): broken description {template!r}") from exc
        if unknown:
            raise ValueError(f"{where} ({ident}): unknown placeholder {sorted(unknown)[0]!r} in {template!r}")
    if not _placeholders(descriptions[-1]) <= {"songs"}:
        raise ValueError(f"{where} ({ident}): the last description may only use {{songs}}")
    return Archetype(
        id=ident,
        name=name,
        kind=kind,
        target={dim: float(value) for dim, value in target.items()},
        fallback_distance=None if fallback is None else float(fallback),
        descriptions=tuple(descriptions),
    )


@cache
def archetypes() -> tuple[Archetype, ...]:
    """The archetypes shipped in archetypes.json, read once per process."""
    text = resources.files("fanapp.engine").joinpath("archetypes.json").read_text("utf-8")
    return parse_archetypes(json.loads(text))


def _enough(known: int, count: int) -> bool:
    """Whether a value known for `known` of `count` songs speaks for the character: five songs, or a third."""
    return known >= 1 and known >= min(5, math.ceil(count / 3))


def _weighted_mean(values: FloatArray, weights: FloatArray) -> float | None:
    known = ~np.isnan(values)
    if not _enough(int(known.sum()), len(values)):
        return None
    return float(np.average(values[known], weights=weights[known]))


def portrait(table: Table, rows: IntArray) -> Portrait:
    """What the songs at `rows` (best-representing first) add up to."""
    weights = table.weight[rows]
    dims: dict[str, float] = {}
    for dim in ("energy", "valence", "danceability", "acousticness"):
        if (value := _weighted_mean(table.feature(dim)[rows], weights)) is not None:
            dims[dim] = value
    if (night := _weighted_mean(table.night[rows], weights)) is not None:
        dims["night"] = night
    facts = {"songs": "one song" if len(rows) == 1 else f"{len(rows)} songs"}
    if (year := _weighted_mean(table.year[rows], weights)) is not None:
        dims["era"] = min(max((year - _ERA_FROM) / _ERA_SPAN, 0.0), 1.0)
        facts["era"] = f"{int(year) // 10 * 10}s"
    tempos = table.feature("tempo")[rows]
    if _enough(int((~np.isnan(tempos)).sum()), len(rows)):
        facts["bpm"] = str(round(float(np.nanmedian(tempos))))
    credited = table.artist[rows] >= 0
    if credited.any():
        artist = table.artist[rows][credited]
        loved = np.bincount(artist, weights=weights[credited], minlength=len(table.artists))
        facts["top_artist"] = table.artists[int(np.argmax(loved))]  # ties go to the first alphabetically
        if (count := len(np.unique(artist))) >= 2:
            facts["artist_count"] = str(count)
    if title := (table.tracks[rows[0]].title or "").strip():
        facts["top_song"] = title
    return Portrait(dims=dims, facts=facts)


def choose(a: Portrait, b: Portrait, kind: str) -> tuple[Archetype, Archetype]:
    """The closest pair of two different archetypes of this kind (or 'any') for characters a and b."""
    fitting = [arch for arch in archetypes() if arch.kind in (kind, "any")]
    best: tuple[float, Archetype, Archetype] | None = None
    for first in fitting:
        if (to_a := first.distance(a)) is None:
            continue
        for second in fitting:
            if second is first or (to_b := second.distance(b)) is None:
                continue
            if best is None or to_a + to_b < best[0]:
                best = (to_a + to_b, first, second)
    assert best is not None, "two 'any' archetypes always fit"
    return best[1], best[2]
