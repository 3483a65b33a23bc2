"""Proposing an episode: cast two characters, tell their arcs, and suggest their mash-up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from fanapp.engine.archetypes import choose, portrait
from fanapp.engine.arcs import rank_members, story
from fanapp.engine.casting import cast
from fanapp.engine.history import IntArray, Table, distinct
from fanapp.engine.mashup import ARC_SONG, FINALE, OTHER_SONG, Side, best_pairs, shortlist
from fanapp.engine.model import Character, EngineError, Placement, Proposal
from fanapp.engine.profile import TrackProfile

ARC_LENGTHS: Final = range(3, 6)
MASHUPS: Final = 3
_TOO_FEW: Final = {
    0: "Your listening history is empty: we need at least 2 different songs to cast two characters.",
    1: "We need at least 2 different songs to cast two characters; pick a few more.",
}
_ALL_THE_SAME: Final = (
    "These are all the same song: we need at least 2 different songs to cast two characters; pick a few more."
)


def propose(tracks: Sequence[TrackProfile], *, arc_length: int = 3) -> Proposal:
    """Two contrasting characters from a listening history, their arcs, and the three best mash-ups.

    Duplicates (same id, ISRC, or title and first artist) count once. The same history always gives
    the same proposal. Raises EngineError, with a sentence for the visitor, for fewer than two
    different songs.
    """
    if isinstance(arc_length, bool) or arc_length not in ARC_LENGTHS:
        raise EngineError(f"An arc tells its story in {ARC_LENGTHS[0]} to {ARC_LENGTHS[-1]} songs.")
    given = list(tracks)
    songs = distinct(given)
    if len(songs) < 2:
        raise EngineError(_TOO_FEW.get(len(given), _ALL_THE_SAME))
    table = Table.of(songs)
    casting = cast(table)
    sides = (np.flatnonzero(~casting.in_b), np.flatnonzero(casting.in_b))
    ranked = [rank_members(table, rows, casting.typical) for rows in sides]
    arcs = _arcs_ending_in_the_mashup(table, ranked, arc_length)
    portraits = [portrait(table, rows) for rows in ranked]
    archetypes = choose(portraits[0], portraits[1], casting.kind)
    characters = [
        Character(
            key=key,
            name=archetype.name,
            description=archetype.describe(sketch),
            archetype=archetype.id,
            arc=arc,
            member_ids=tuple(table.ids[r] for r in rows),
        )
        for key, archetype, sketch, rows, arc in zip("ab", archetypes, portraits, ranked, arcs, strict=True)
    ]
    pairing = [_side(table, rows, arc) for rows, arc in zip(ranked, arcs, strict=True)]
    return Proposal(
        a=characters[0],
        b=characters[1],
        mashups=best_pairs(pairing[0], pairing[1], MASHUPS),
        basis=casting.basis,
    )


def _arcs_ending_in_the_mashup(
    table: Table, ranked: list[IntArray], arc_length: int
) -> list[tuple[Placement, ...]]:
    """Each character's arc, ending on its half of the best mash-up, as the show's episodes do.

    The pair is chosen first among the songs that best represent each character (twice an arc's
    worth, marked for the story term, within the usual shortlist); each arc then tells its
    beginning with the character's best remaining songs and ends on the pair. Without a pair (a
    side with no songs) the arcs are the plain stories of the best songs.
    """
    pools = [_pool(table, rows, 2 * arc_length) for rows in ranked]
    pair = best_pairs(pools[0], pools[1], 1)
    if not pair:
        return [story(table, rows[:arc_length]) for rows in ranked]
    row_of = {song_id: row for row, song_id in enumerate(table.ids)}
    arcs = []
    for rows, finale_id in zip(ranked, (pair[0].a_id, pair[0].b_id), strict=True):
        finale = row_of[finale_id]
        lead = np.array([r for r in rows if r != finale][: arc_length - 1], dtype=rows.dtype)
        beginning = story(table, lead, length=len(lead) + 1)
        ending = Placement(track_id=finale_id, slot="finale", reason="the finale: its half of the mash-up")
        arcs.append((*beginning, ending))
    return arcs


def _pool(table: Table, ranked: IntArray, size: int) -> Side:
    """A character's songs worth pairing, its `size` most representative ones marked as story songs."""
    rows = ranked[shortlist(table.weight[ranked], np.arange(min(size, len(ranked))))]
    marked = np.isin(rows, ranked[:size])
    return Side(table=table.take(rows), story=np.where(marked, ARC_SONG, OTHER_SONG).astype(np.float64))


def _side(table: Table, ranked: IntArray, arc: tuple[Placement, ...]) -> Side:
    """A character's songs worth pairing, with the arc's finale and songs marked for the story term."""
    place = {placement.track_id: FINALE if placement.slot == "finale" else ARC_SONG for placement in arc}
    rows = ranked[shortlist(table.weight[ranked], np.arange(len(arc)))]  # the arc is the top of `ranked`
    return Side(
        table=table.take(rows),
        story=np.array([place.get(table.ids[row], OTHER_SONG) for row in rows], dtype=np.float64),
    )
