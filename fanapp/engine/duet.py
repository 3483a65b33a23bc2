"""Duets: a friend's history cast as one character to complement a character someone else published.

The published character is given as it is (its songs in story order, its finale last): nothing of it
moves. The friend's history is cast into its two sides as for any episode; the friend plays the side
that contrasts most with the given character (where sound, mood or era are known on both), and the
side's story ends on the finale that makes the best mash-up with the given finale, by the same overlay
harmony rules (key lock, costed transposition, tempo) as any episode. Ties in contrast go to the side
with the better mash-up. The mash-up always takes one song from each person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from fanapp.engine import archetypes as casts
from fanapp.engine.arcs import Arc, arcs_by_finale, rank_members, tell
from fanapp.engine.casting import cast
from fanapp.engine.history import IntArray, Table, require_tracks
from fanapp.engine.mashup import best_pairs
from fanapp.engine.model import Character, EngineError, MashupPair
from fanapp.engine.profile import TrackProfile

MASHUPS: Final = 3
FINALES: Final = 10
# Dimensions (0-1) on which two characters' contrast is measured when both sides know them.
CONTRAST: Final = (
    "energy",
    "valence",
    "danceability",
    "acousticness",
    "speechiness",
    "instrumentalness",
    "era",
)
_EMPTY: Final = "Your listening history is empty: we need at least one song of yours to cast your character."


@dataclass(frozen=True)
class Duet:
    """The friend's character (key "b") to meet the given one, the mash-ups of the given finale with the
    friend's finale candidates (best first: the first pairs the two finales), what the friend's side was
    chosen for, and the friend's finale candidates (song ids) for later edits."""

    character: Character
    mashups: tuple[MashupPair, ...]
    basis: str
    candidates: tuple[str, ...]


def _given_table(given: Sequence[TrackProfile]) -> Table:
    unique: dict[str, TrackProfile] = {}
    for track in require_tracks(given):
        unique.setdefault(track.stable_id, track)
    if not unique:
        raise EngineError("The character you co-star with has no songs.")
    return Table.of(list(unique.values()))


def contrast(a: dict[str, float], b: dict[str, float]) -> float | None:
    """How far apart two characters sit (mean gap on the dimensions both know, 0-1), None if none."""
    shared = [d for d in CONTRAST if d in a and d in b]
    if not shared:
        return None
    return float(np.mean([abs(a[d] - b[d]) for d in shared]))


def complement(given: Sequence[TrackProfile], friend: Sequence[TrackProfile], *, arc_length: int = 3) -> Duet:
    """The friend's character for a duet with the `given` character (its songs in story order).

    Deterministic: the same inputs give the same duet. Raises EngineError, with a sentence for the
    visitor, when the friend's history is empty.
    """
    mine = _given_table(given)
    theirs = Table.of_history(require_tracks(friend)) if friend else None
    if theirs is None or len(theirs) == 0:
        raise EngineError(_EMPTY)
    everyone = np.arange(len(mine), dtype=np.int64)
    given_dims = casts.dims(mine, everyone)
    finale = mine.take(np.array([len(mine) - 1], dtype=np.int64))
    if len(theirs) >= 2:
        casting = cast(theirs)
        sides = [np.flatnonzero(~casting.in_b), np.flatnonzero(casting.in_b)]
        typical, night, kind, basis = casting.typical, casting.night, casting.kind, casting.basis
    else:
        sides = [np.arange(1, dtype=np.int64)]
        typical, night, kind, basis = np.ones(1), None, "any", ""
    options = []
    for rows in sides:
        if len(rows) == 0:
            continue
        ranked = rank_members(theirs, rows, typical)
        by_finale, _ = arcs_by_finale(theirs, ranked, typical, arc_length)
        arcs = list(by_finale.values())[:FINALES]
        if not arcs:
            continue
        pairs = _pairs(finale, theirs, arcs)
        far = contrast(given_dims, casts.dims(theirs, ranked, night))
        best = pairs[0].score if pairs else -1
        options.append((far if far is not None else 0.0, best, ranked, arcs, pairs))
    if not options:
        raise EngineError(_EMPTY)
    # Most contrasting side first; then the better mash-up; then side A of the friend's own casting.
    far, _, ranked, arcs, pairs = max(options, key=lambda o: (round(o[0], 6), o[1]))
    chosen = _arc_ending(arcs, pairs[0].b_id, theirs) if pairs else arcs[0]
    rows = np.array(chosen.rows, dtype=np.int64)
    story = tell(theirs, rows)
    sketch = casts.portrait(theirs, ranked, rows, night)
    _, archetype = casts.choose(casts.portrait(mine, everyone, everyone), sketch, kind)
    character = Character(
        key="b",
        name=archetype.name,
        description=archetype.describe(sketch),
        archetype=archetype.id,
        arc=story.placements,
        member_ids=tuple(theirs.ids[r] for r in ranked),
        notes=tuple(story.notes),
    )
    side = (
        "the side of you most unlike them"
        if far > 0
        else "the side of you whose finale mixes best with theirs"
    )
    return Duet(
        character=character,
        mashups=pairs,
        basis=(f"you play {side}, of two split by {basis}" if basis else "you play your one song")[:200],
        candidates=tuple(theirs.ids[arc.rows[-1]] for arc in arcs),
    )


def _pairs(finale: Table, theirs: Table, arcs: list[Arc]) -> tuple[MashupPair, ...]:
    """The given finale with each of the friend's finale candidates, ties going to the better story."""
    rows: IntArray = np.array([arc.rows[-1] for arc in arcs], dtype=np.int64)
    bonus = np.array([arc.quality for arc in arcs])[None, :]
    return best_pairs(finale, theirs.take(rows), MASHUPS, bonus=bonus)


def _arc_ending(arcs: list[Arc], finale_id: str, table: Table) -> Arc:
    return next(arc for arc in arcs if table.ids[arc.rows[-1]] == finale_id)
