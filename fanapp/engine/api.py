"""What the rest of the app asks of the engine after an edit: a soundtrack told again, a character
described again, in words that follow the songs as they now are."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fanapp.engine.archetypes import by_id, facts
from fanapp.engine.arcs import Story, tell
from fanapp.engine.history import Table, require_tracks
from fanapp.engine.profile import TrackProfile


def _table(tracks: Sequence[TrackProfile]) -> Table:
    unique: dict[str, TrackProfile] = {}
    for track in require_tracks(tracks):
        unique.setdefault(track.stable_id, track)
    return Table.of(list(unique.values()))


def tell_story(tracks: Sequence[TrackProfile]) -> Story:
    """A soundtrack in the given order, told: each song's slot and words, and the show's rule checked."""
    table = _table(tracks)
    return tell(table, np.arange(len(table)))


def describe(archetype: str, tracks: Sequence[TrackProfile]) -> str:
    """The one-line description of a character of this archetype, about these songs only ("" when the
    archetype is not one of ours)."""
    found = by_id(archetype)
    if found is None:
        return ""
    table = _table(tracks)
    return found.describe_facts(facts(table, np.arange(len(table))))
