"""Proposing an episode: cast two characters, tell their stories towards a finale, pair the finales.

The finale is part of each story from the start: every song that represents its character gets the
best story ending on it (`arcs.arcs_by_finale`), the mash-up is chosen among those finales, and each
character's story is then the one that ends on its half of the pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from fanapp.engine import archetypes as casts
from fanapp.engine.arcs import RULE, Arc, arcs_by_finale, rank_members, tell
from fanapp.engine.casting import cast
from fanapp.engine.history import Table, collector_paused
from fanapp.engine.mashup import best_pairs
from fanapp.engine.model import Character, EngineError, MashupPair, Proposal
from fanapp.engine.profile import TrackProfile

ARC_LENGTHS: Final = range(3, 6)
MASHUPS: Final = 3
FINALES: Final = 10  # finale candidates per character the mash-up chooses among
_TOO_FEW: Final = {
    0: "Your listening history is empty: we need at least 2 different songs to cast two characters.",
    1: "We need at least 2 different songs to cast two characters; pick a few more.",
}
_ALL_THE_SAME: Final = (
    "These are all the same song: we need at least 2 different songs to cast two characters; pick a few more."
)
_MEASURE_WORDS: Final = {
    "energy": "energy",
    "valence": "mood",
    "tempo": "tempo",
    "year": "release year",
    "weight": "how often you play it",
}


def propose(tracks: Sequence[TrackProfile], *, arc_length: int = 3) -> Proposal:
    """Two contrasting characters from a listening history, their stories, and the three best mash-ups.

    Duplicates (same id, ISRC, or title and first artist) count once. The same history always gives
    the same proposal. Raises EngineError, with a sentence for the visitor, for fewer than two
    different songs.
    """
    if isinstance(arc_length, bool) or arc_length not in ARC_LENGTHS:
        raise EngineError(f"An arc tells its story in {ARC_LENGTHS[0]} to {ARC_LENGTHS[-1]} songs.")
    with collector_paused():  # until the long lists of a history are gone (see `collector_paused`)
        return _propose(list(tracks), arc_length)


def _propose(given: list[TrackProfile], arc_length: int) -> Proposal:
    table = Table.of_history(given)
    if len(table) < 2:
        raise EngineError(_TOO_FEW.get(len(given), _ALL_THE_SAME))
    casting = cast(table)
    sides = (np.flatnonzero(~casting.in_b), np.flatnonzero(casting.in_b))
    ranked = [rank_members(table, rows, casting.typical) for rows in sides]
    found = [arcs_by_finale(table, rows, casting.typical, arc_length) for rows in ranked]
    finales = [list(by_finale.values())[:FINALES] for by_finale, _ in found]
    pairs = _pairs(table, finales)
    if pairs:
        chosen = [
            _arc_ending(finales[0], pairs[0].a_id, table),
            _arc_ending(finales[1], pairs[0].b_id, table),
        ]
    else:
        chosen = [side[0] for side in finales]
    characters = []
    portraits = [
        casts.portrait(table, members, np.array(arc.rows, dtype=np.int64), casting.night)
        for members, arc in zip(ranked, chosen, strict=True)
    ]
    archetypes = casts.choose(portraits[0], portraits[1], casting.kind)
    for key, members, arc, (_, told), archetype, sketch in zip(
        "ab", ranked, chosen, found, archetypes, portraits, strict=True
    ):
        rows = np.array(arc.rows, dtype=np.int64)
        story = tell(table, rows)
        notes = list(story.notes)
        if told < min(arc_length, len(members)):
            notes.insert(0, _cut_note(told, arc_length, arc.measure))
        characters.append(
            Character(
                key=key,
                name=archetype.name,
                description=archetype.describe(sketch),
                archetype=archetype.id,
                arc=story.placements,
                member_ids=table.ids_of(members),
                notes=tuple(notes),
            )
        )
    return Proposal(
        a=characters[0],
        b=characters[1],
        mashups=pairs,
        basis=casting.basis,
        candidates=(
            table.ids_of([arc.rows[-1] for arc in finales[0]]),
            table.ids_of([arc.rows[-1] for arc in finales[1]]),
        ),
    )


def _pairs(table: Table, finales: list[list[Arc]]) -> tuple[MashupPair, ...]:
    """The best pairs of one finale candidate from each side, ties going to the better-told stories."""
    if not finales[0] or not finales[1]:
        return ()
    rows = [np.array([arc.rows[-1] for arc in side], dtype=np.int64) for side in finales]
    quality = [np.array([arc.quality for arc in side]) for side in finales]
    bonus = quality[0][:, None] + quality[1][None, :]
    return best_pairs(table.take(rows[0]), table.take(rows[1]), MASHUPS, bonus=bonus)


def _arc_ending(arcs: list[Arc], finale_id: str, table: Table) -> Arc:
    return next(arc for arc in arcs if table.ids[arc.rows[-1]] == finale_id)


def _cut_note(told: int, asked: int, measure: str) -> str:
    """What the visitor reads when a story is shorter than asked: the show's rule at work."""
    songs = "one song" if told == 1 else f"{told} songs"
    return (
        f"This story is told in {songs}, not {asked}: no other song of this side makes a real change "
        f"in {_MEASURE_WORDS.get(measure, 'anything we know')} next to these. {RULE}"
    )
