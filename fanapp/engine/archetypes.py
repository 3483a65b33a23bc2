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
from fanapp.engine.mashup import love
from fanapp.engine.profile import FloatArray

KINDS: Final = ("sound", "era", "time", "recency", "artists", "love", "any")
DIMENSIONS: Final = {
    "energy": "sound",
    "valence": "sound",
    "danceability": "sound",
    "acousticness": "sound",
    "speechiness": "sound",
    "instrumentalness": "sound",
    "era": "era",
    "night": "time",
    "recency": "recency",
    "concentration": "artists",
    "love": "love",
}
PLACEHOLDERS: Final = frozenset({"songs", "top_artist", "top_song", "artist_count", "bpm", "era"})
_ERA_FROM, _ERA_SPAN = 1960, 65  # era 0 is 1960, 1 is 2025
# How much a pair of archetypes that contradicts how the two sides differ costs, per unit of contradiction.
ORDER_PENALTY: Final = 1.5
_ORDER_SLACK: Final = 0.05  # differences smaller than this, on either side, say nothing about order


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
        return self.describe_facts(portrait.facts)

    def describe_facts(self, facts: Mapping[str, str]) -> str:
        """The first description whose placeholders these facts can all fill."""
        for template in self.descriptions:
            if _placeholders(template) <= facts.keys():
                return template.format_map(facts)
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


def dims(table: Table, rows: IntArray, night: FloatArray | None = None) -> dict[str, float]:
    """Where a character's songs (at `rows`) sit on every dimension archetypes are matched on (0-1).

    `night` is the casting's gated night share per song; without it, time of day is left unknown.
    """
    weights = table.weight[rows]
    found: dict[str, float] = {}
    for dim in ("energy", "valence", "danceability", "acousticness", "speechiness", "instrumentalness"):
        if (value := _weighted_mean(table.feature(dim)[rows], weights)) is not None:
            found[dim] = value
    if night is not None and (share := _weighted_mean(night[rows], weights)) is not None:
        found["night"] = share
    if (year := _weighted_mean(table.year[rows], weights)) is not None:
        found["era"] = min(max((year - _ERA_FROM) / _ERA_SPAN, 0.0), 1.0)
    if (recency := _weighted_mean(table.recency[rows], weights)) is not None:
        found["recency"] = min(max((recency + 1) / 2, 0.0), 1.0)
    credited = table.artist[rows] >= 0
    if credited.any():
        loved = np.bincount(table.artist[rows][credited], weights=weights[credited])
        found["concentration"] = float(loved.max() / weights.sum())
    found["love"] = float(np.mean(love(table.weight[rows]))) if len(rows) else 0.0
    return found


def facts(table: Table, rows: IntArray) -> dict[str, str]:
    """What a description may say of the songs at `rows` (a soundtrack as shown, in story order)."""
    found = {"songs": "one song" if len(rows) == 1 else f"{len(rows)} songs"}
    if len(rows) == 0:
        return found
    weights = table.weight[rows]
    years = table.year[rows]
    if (~np.isnan(years)).sum() * 2 > len(rows):
        found["era"] = f"{int(np.nanmedian(years)) // 10 * 10}s"
    tempos = table.feature("tempo")[rows]
    if (~np.isnan(tempos)).sum() * 2 > len(rows):
        found["bpm"] = str(round(float(np.nanmedian(tempos))))
    credited = table.artist[rows] >= 0
    if credited.any():
        artist = table.artist[rows][credited]
        loved = np.bincount(artist, weights=weights[credited], minlength=len(table.artists))
        found["top_artist"] = table.artists[int(np.argmax(loved))]  # ties go to the first alphabetically
        if (count := len(np.unique(artist))) >= 2:
            found["artist_count"] = str(count)
    best = int(rows[int(np.argmax(weights))])
    if title := (table.tracks[best].title or "").strip():
        found["top_song"] = title
    return found


def portrait(table: Table, members: IntArray, shown: IntArray, night: FloatArray | None = None) -> Portrait:
    """A character: where its `members` sit (for choosing its archetype) and facts of the `shown` songs."""
    return Portrait(dims=dims(table, members, night), facts=facts(table, shown))


def _contradiction(first: Archetype, second: Archetype, a: Portrait, b: Portrait) -> float:
    """How much a pair of archetypes says the opposite of how side a differs from side b."""
    total = 0.0
    for dim in first.target.keys() & second.target.keys() & a.dims.keys() & b.dims.keys():
        said = first.target[dim] - second.target[dim]
        seen = a.dims[dim] - b.dims[dim]
        if abs(said) > _ORDER_SLACK and abs(seen) > _ORDER_SLACK and (said > 0) != (seen > 0):
            total += abs(said)
    return total


def choose(a: Portrait, b: Portrait, kind: str) -> tuple[Archetype, Archetype]:
    """The best pair of two different archetypes of this kind (or 'any') for characters a and b.

    Each fits its character's own averages, and together they agree with how the two differ: in a
    library of sad songs the less sad side is the one named for more light.
    """
    fitting = [arch for arch in archetypes() if arch.kind in (kind, "any")]
    to_a = [(arch, d) for arch in fitting if (d := arch.distance(a)) is not None]
    to_b = [(arch, d) for arch in fitting if (d := arch.distance(b)) is not None]
    best: tuple[float, Archetype, Archetype] | None = None
    for first, near_a in to_a:
        for second, near_b in to_b:
            if second is first or (best is not None and near_a + near_b >= best[0] - 1e-12):
                continue
            cost = near_a + near_b + ORDER_PENALTY * _contradiction(first, second, a, b)
            if best is None or cost < best[0] - 1e-12:
                best = (cost, first, second)
    assert best is not None, "two 'any' archetypes always fit"
    return best[1], best[2]


def by_id(ident: str) -> Archetype | None:
    """The shipped archetype with this id, if there is one."""
    return next((arch for arch in archetypes() if arch.id == ident), None)
