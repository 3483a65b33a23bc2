"""Arcs: each character's most telling songs, told as opening -> turn -> finale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from fanapp.engine.history import IntArray, Table, require_tracks
from fanapp.engine.model import Placement, slot_for
from fanapp.engine.profile import FloatArray, TrackProfile

LOVED_SHARE: Final = 0.65  # how much listening counts against fitting the character when picking arc songs


def _unit(values: FloatArray) -> FloatArray:
    span = float(np.ptp(values)) if len(values) else 0.0
    return (values - values.min()) / span if span > 1e-12 else np.zeros(len(values))


def rank_members(table: Table, rows: IntArray, typical: FloatArray) -> IntArray:
    """A character's songs, best-representing first: much-played songs that sit squarely inside it."""
    score = LOVED_SHARE * _unit(np.log(table.weight[rows])) + (1 - LOVED_SHARE) * _unit(typical[rows])
    return rows[np.lexsort((rows, -score))]


def _level(energy: float) -> str:
    return "softly" if energy < 0.4 else "steadily" if energy < 0.7 else "at full tilt"


# For each way of telling a story: the words for its opening, its turns (taken in turn) and its finale.
_WORDS: Final[dict[str, tuple[str, tuple[str, ...], str]]] = {
    "energy": (
        "opens {level} (energy {v:.2f})",
        (
            "raises the stakes (energy {v:.2f})",
            "keeps building (energy {v:.2f})",
            "pushes higher (energy {v:.2f})",
        ),
        "peaks at the finale (energy {v:.2f})",
    ),
    "tempo": (
        "sets off at {v:.0f} BPM",
        ("picks up the pace ({v:.0f} BPM)", "speeds on ({v:.0f} BPM)", "races ahead ({v:.0f} BPM)"),
        "the fastest, for the finale ({v:.0f} BPM)",
    ),
    "valence": (
        "starts in the shadows (mood {v:.2f})",
        ("lets some light in (mood {v:.2f})", "brightens (mood {v:.2f})", "warms up (mood {v:.2f})"),
        "ends on the brightest note (mood {v:.2f})",
    ),
    "year": (
        "opens in {v:.0f}, the oldest",
        ("moves on to {v:.0f}", "then {v:.0f}", "on to {v:.0f}"),
        "closes in {v:.0f}, the newest",
    ),
    "weight": (
        "opens with a quieter favourite",
        ("a favourite for the turn", "a bigger favourite", "one of the most loved"),
        "the most-loved song, saved for the finale",
    ),
    "order": (
        "opens the story",
        ("carries the turn", "keeps it moving", "takes another turn"),
        "closes the story",
    ),
}


def _reason(criterion: str, index: int, count: int, value: float) -> str:
    """Why the song at `index` of `count` sits there, measured by `criterion`."""
    if count == 1:
        return "the whole story in one song"
    opening, turns, finale = _WORDS[criterion]
    slot = slot_for(index, count)
    template = (
        opening if slot == "opening" else finale if slot == "finale" else turns[(index - 1) % len(turns)]
    )
    return template.format(v=value, level=_level(value))


def story(table: Table, rows: IntArray, *, length: int | None = None) -> tuple[Placement, ...]:
    """Order songs into opening -> turn -> finale along the first measure known for all of them.

    Energy rises to the finale when it is known; else tempo, then mood, then release year, then
    how loved each song is, and failing all that the given order. Nothing unknown is guessed.
    `length` > len(rows) tells the story's beginning only: the finale comes later (the mash-up song).
    """
    if len(rows) == 0:
        return ()
    loved = table.weight[rows]
    measures = {
        "energy": table.feature("energy")[rows],
        "tempo": table.feature("tempo")[rows],
        "valence": table.feature("valence")[rows],
        "year": table.year[rows],
        "weight": loved if np.ptp(loved) > 1e-9 else np.full(len(rows), np.nan),
        "order": np.arange(len(rows), dtype=np.float64),
    }
    criterion = next(name for name, values in measures.items() if not np.isnan(values).any())
    values = measures[criterion]
    order = np.lexsort((rows, table.weight[rows], values))
    count = max(len(rows), length or 0)
    placements = []
    for index, at in enumerate(order):
        reason = _reason(criterion, index, count, float(values[at]))
        placements.append(Placement(track_id=table.ids[rows[at]], slot=slot_for(index, count), reason=reason))
    return tuple(placements)


def order_arc(tracks: Sequence[TrackProfile]) -> tuple[Placement, ...]:
    """Order the given songs into a story (opening -> turn -> finale), each with why it sits there.

    A song given twice (same id) is placed once; an empty list gives an empty story.
    """
    unique: dict[str, TrackProfile] = {}
    for track in require_tracks(tracks):
        unique.setdefault(track.stable_id, track)
    table = Table.of(list(unique.values()))
    return story(table, np.arange(len(table)))
