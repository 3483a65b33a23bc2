"""Archetypes: the shipped data file is valid, and a broken one is refused with a clear message."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from fanapp.engine.archetypes import PLACEHOLDERS, Portrait, archetypes, choose, parse_archetypes

EVERY_FACT = {
    "songs": "12 songs",
    "top_artist": "Adele",
    "top_song": "Hello",
    "artist_count": "4",
    "bpm": "96",
}


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("fanapp.engine").joinpath("archetypes.json").read_text("utf-8")
    )
    return data


def test_the_shipped_file_is_valid() -> None:
    found = archetypes()
    assert len(found) >= 30
    assert len({a.id for a in found}) == len(found)
    assert len({a.name for a in found}) == len(found)
    assert {a.kind for a in found} == {"sound", "era", "time", "recency", "artists", "love", "any"}


@pytest.mark.parametrize("archetype", archetypes(), ids=lambda a: a.id)
def test_every_description_reads_as_one_line(archetype: Any) -> None:
    everything = Portrait(dims={}, facts={**EVERY_FACT, "era": "1980s"})
    only_songs = Portrait(dims={}, facts={"songs": "one song"})
    for portrait in (everything, only_songs):
        text = archetype.describe(portrait)
        assert text and "{" not in text and "\n" not in text
    assert archetype.describe(only_songs) == archetype.descriptions[-1].format(songs="one song")


def test_choose_gives_two_different_archetypes() -> None:
    soft = Portrait(dims={"energy": 0.25, "valence": 0.2}, facts={})
    bright = Portrait(dims={"energy": 0.8, "valence": 0.85}, facts={})
    first, second = choose(soft, bright, "sound")
    assert (first.id, second.id) == ("heartbreaker", "spark")
    same_a, same_b = choose(soft, soft, "sound")
    assert same_a.id != same_b.id


def test_with_nothing_known_the_catch_all_archetypes_fit() -> None:
    first, second = choose(Portrait({}, {}), Portrait({}, {}), "era")
    assert {first.kind, second.kind} == {"any"}
    assert first.id != second.id


def broken(change: str) -> dict[str, Any]:
    data = copy.deepcopy(shipped())
    entries = data["archetypes"]
    if change == "duplicate id":
        entries[1]["id"] = entries[0]["id"]
    elif change == "unknown placeholder":
        entries[0]["descriptions"][0] = "Loves {favourite_colour}."
    elif change == "last description needs more than songs":
        entries[0]["descriptions"] = ["In {songs}, led by {top_artist}."]
    elif change == "target of another kind":
        entries[0]["target"] = {"night": 0.5}
    elif change == "target out of range":
        entries[0]["target"] = {"energy": 2}
    elif change == "bad kind":
        entries[0]["kind"] = "vibes"
    elif change == "one catch-all":
        data["archetypes"] = [e for e in entries if e["kind"] != "any"] + [
            e for e in entries if e["kind"] == "any"
        ][:1]
    elif change == "broken template":
        entries[0]["descriptions"][0] = "Loves {songs"
    elif change == "no list":
        data.pop("archetypes")
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("duplicate id", "unique"),
        ("unknown placeholder", "unknown placeholder 'favourite_colour'"),
        ("last description needs more than songs", "may only use"),
        ("target of another kind", "'target' must map sound dimensions"),
        ("target out of range", "from 0 to 1"),
        ("bad kind", "'kind' must be one of"),
        ("one catch-all", "at least two archetypes of kind 'any'"),
        ("broken template", "broken description"),
        ("no list", "needs an 'archetypes' list"),
    ],
)
def test_broken_files_are_refused_clearly(change: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_archetypes(broken(change))


def test_placeholders_documented_in_the_file() -> None:
    about = " ".join(shipped()["about"])
    assert all("{" + name + "}" in about for name in PLACEHOLDERS)
