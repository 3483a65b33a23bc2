"""Arcs: each character's story in songs, where every song counts.

The show's rule for a soundtrack: "If you can take a song out of the story and it can still be told,
cut it." Here a story is told along one measure (energy, else mood, tempo, release year, or how loved
the songs are) and its *shape* is the list of its moves, up or down, with moves too small to hear
(under the measure's threshold) dropped and repeated directions merged. A song whose removal leaves the
shape unchanged does not count, so in a story that follows the rule every move is a real change and
every turn turns: opening -> up -> down -> finale, or opening -> down -> up -> finale.

The finale is chosen with the arc from the start: each candidate finale (a song that represents its
character) gets the best story that ends on it, and the mash-up then picks among those finales.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np

from fanapp.engine.history import IntArray, Table, require_tracks
from fanapp.engine.model import Placement, slot_for
from fanapp.engine.profile import FloatArray, TrackProfile

LOVED_SHARE: Final = 0.65  # how much listening counts against fitting the character when ranking songs
MEASURES: Final = ("energy", "valence", "tempo", "year", "weight")
# The smallest change that counts as a change, per measure (weight is compared on a log scale).
THRESHOLDS: Final = {"energy": 0.08, "valence": 0.08, "tempo": 6.0, "year": 3.0, "weight": 0.2}
UNITS: Final = {"energy": "energy", "valence": "mood"}
# Songs searched for each story length: the candidates' orderings stay in the low tens of thousands.
POOL: Final = {1: 40, 2: 16, 3: 14, 4: 11, 5: 9}
RULE: Final = "The show's rule: if you can take a song out and the story can still be told, cut it."


def _unit(values: FloatArray) -> FloatArray:
    span = float(np.ptp(values)) if len(values) else 0.0
    return (values - values.min()) / span if span > 1e-12 else np.zeros(len(values))


def rank_members(table: Table, rows: IntArray, typical: FloatArray) -> IntArray:
    """A character's songs, best-representing first: much-played songs that sit squarely inside it."""
    score = LOVED_SHARE * _unit(np.log(table.weight[rows])) + (1 - LOVED_SHARE) * _unit(typical[rows])
    return rows[np.lexsort((rows, -score))]


def values(table: Table, measure: str) -> FloatArray:
    """The values a story is told along, NaN where unknown."""
    if measure == "year":
        return table.year
    if measure == "weight":
        loved: FloatArray = np.log(table.weight)
        return loved
    return table.feature(measure)


def moves(series: FloatArray, measure: str) -> list[int]:
    """Each step of a story: +1 up, -1 down, 0 when the change is too small to count."""
    threshold = THRESHOLDS[measure]
    return [0 if abs(d) < threshold else (1 if d > 0 else -1) for d in np.diff(series).tolist()]


def shape(series: FloatArray, measure: str) -> tuple[int, ...]:
    """The story's shape: its real moves, repeated directions merged (up, up, down -> up, down)."""
    found: list[int] = []
    for move in moves(series, measure):
        if move and (not found or found[-1] != move):
            found.append(move)
    return tuple(found)


def redundant(series: FloatArray, measure: str) -> list[int]:
    """Positions of songs the story can do without, by the show's rule: cut them.

    The opening and the finale set where the story starts and ends, so they go only when the move
    next to them is no real change; a song inside goes when the story keeps its shape without it.
    """
    if len(series) < 2:
        return []
    steps = moves(series, measure)
    whole = shape(series, measure)
    found = []
    for at in range(len(series)):
        if at in (0, len(series) - 1):
            if steps[0 if at == 0 else -1] == 0:
                found.append(at)
        elif shape(np.delete(series, at), measure) == whole:
            found.append(at)
    return found


def follows_rule(series: FloatArray, measure: str) -> bool:
    """Whether every song of the story counts: each move real, each turn a change of direction."""
    steps = moves(series, measure)
    return all(steps) and all(a != b for a, b in itertools.pairwise(steps))


@cache
def _orderings(pool: int, length: int) -> IntArray:
    return np.array(list(itertools.permutations(range(pool), length)), dtype=np.int64).reshape(-1, length)


@dataclass(frozen=True)
class Arc:
    """A story ending on one finale: table rows in story order, the measure, and how representative."""

    rows: tuple[int, ...]
    measure: str
    quality: float


def arcs_by_finale(
    table: Table, ranked: IntArray, typical: FloatArray, length: int
) -> tuple[dict[int, Arc], int]:
    """The best story ending on each finale candidate, and the story length reached (at most `length`).

    Candidates are the side's representative songs (at least as typical as its median song); a story
    follows the rule on the first measure that tells one as long as possible. Shorter stories are what
    the rule leaves when no longer one can be told.
    """
    if len(ranked) == 0:
        return {}, 0
    centre = float(np.median(typical[ranked]))
    for size in range(min(length, len(ranked)), 0, -1):
        for measure in MEASURES:
            found = _arcs(table, ranked, typical, size, measure, centre)
            if found:
                return found, size
    raise AssertionError("a story of one song always exists")


def _arcs(
    table: Table, ranked: IntArray, typical: FloatArray, size: int, measure: str, centre: float
) -> dict[int, Arc]:
    series = values(table, measure)
    usable = ranked[~np.isnan(series[ranked])][: POOL[size]]
    if len(usable) < size or (size > 1 and np.ptp(series[usable]) < THRESHOLDS[measure]):
        return {}
    worth = 1 - np.arange(len(usable)) / len(usable)  # the best-ranked song is worth 1
    order = _orderings(len(usable), size)
    picked = series[usable][order]
    ok = typical[usable][order[:, -1]] >= centre - 1e-12
    if size > 1:
        steps = np.diff(picked, axis=1)
        real = np.abs(steps) >= THRESHOLDS[measure]
        turns = np.sign(steps[:, 1:]) != np.sign(steps[:, :-1])
        ok &= real.all(axis=1) & turns.all(axis=1)
    quality = worth[order].sum(axis=1) + worth[order[:, -1]]  # the finale counts twice: it is the number
    found: dict[int, Arc] = {}
    for at in np.flatnonzero(ok)[np.lexsort((np.flatnonzero(ok), -quality[ok]))].tolist():
        finale = int(usable[order[at, -1]])
        if finale not in found:
            found[finale] = Arc(
                rows=tuple(int(usable[k]) for k in order[at]), measure=measure, quality=float(quality[at])
            )
    return found


# Words for each measure: the opening (by level), a move up, a move down, the same at the finale, no change.
_LEVELS: Final = {
    "energy": ((0.4, "opens softly"), (0.7, "opens steadily"), (9.0, "opens at full tilt")),
    "valence": ((0.35, "opens in the shadows"), (0.65, "opens in two minds"), (9.0, "opens in the sun")),
}
_WORDS: Final = {
    "energy": ("raises the stakes", "pulls back", "lifts for the finale", "comes down for the finale"),
    "valence": ("lets the light in", "turns darker", "ends brighter", "ends darker"),
    "tempo": ("picks up the pace", "slows down", "races to the finale", "slows for the finale"),
    "year": ("jumps ahead", "goes back in time", "ends later", "ends further back"),
    "weight": ("a bigger favourite", "a quieter one", "ends on a bigger favourite", "ends on a quieter one"),
}


def _value(measure: str, value: float) -> str:
    if measure in UNITS:
        return f"{UNITS[measure]} {value:.2f}"
    if measure == "tempo":
        return f"{value:.0f} BPM"
    return f"{value:.0f}"


def _opening(measure: str, value: float) -> str:
    if measure in _LEVELS:
        words = next(text for limit, text in _LEVELS[measure] if value < limit)
        return f"{words} ({_value(measure, value)})"
    if measure == "tempo":
        return f"sets off at {value:.0f} BPM"
    if measure == "year":
        return f"opens in {value:.0f}"
    if measure == "weight":
        return "opens with a favourite"
    return "opens the story"


def _move(measure: str, before: float, after: float, finale: bool) -> str:
    if measure == "order":
        return "closes the story" if finale else "carries the story on"
    step = after - before
    if abs(step) < THRESHOLDS[measure]:
        if measure == "weight":
            return "about as loved as the song before"
        return f"stays where the story was ({_value(measure, before)} → {_value(measure, after)})"
    up, down, up_end, down_end = _WORDS[measure]
    words = (up_end if step > 0 else down_end) if finale else (up if step > 0 else down)
    if measure == "weight":
        return words
    if measure == "year":
        return f"{words}: {after:.0f}"
    return (
        f"{words} ({_value(measure, before)} → {after:.2f})"
        if measure in UNITS
        else f"{words} ({before:.0f} → {_value(measure, after)})"
    )


@dataclass(frozen=True)
class Story:
    """A soundtrack as told: each song's place and words, the measure, and the rule's verdict in words."""

    placements: tuple[Placement, ...]
    measure: str
    redundant: tuple[str, ...]  # ids of songs the story can do without, by the show's rule
    notes: tuple[str, ...]


def story_measure(table: Table, rows: IntArray) -> str:
    """The measure a story is told along: of those known for every song, the first it follows the rule
    on, else the first known (or "order" when none is)."""
    known = []
    for measure in MEASURES:
        series = values(table, measure)[rows]
        if len(rows) and not np.isnan(series).any() and (measure != "weight" or np.ptp(series) > 1e-9):
            known.append(measure)
    ruled = [m for m in known if follows_rule(values(table, m)[rows], m)]
    return (ruled or known or ["order"])[0]


def _title(track: TrackProfile) -> str:
    title = track.title.strip() if isinstance(track.title, str) else ""
    return f"'{title}'" if title else "an untitled song"


_SHAPES: Final = {
    (): "holds one level",
    (1,): "rises",
    (-1,): "falls",
    (1, -1): "rises, then falls back",
    (-1, 1): "falls, then rises again",
}


def _shape_words(found: tuple[int, ...]) -> str:
    return _SHAPES.get(found, "turns " + str(len(found) - 1) + " times")


def tell(table: Table, rows: IntArray) -> Story:
    """The songs at `rows`, in that order, as a story: words that follow the data, and the rule's check.

    Nothing is reordered: this is what the builder shows after every edit, and what the engine says of
    the stories it chooses.
    """
    rows = np.asarray(rows, dtype=np.int64)
    count = len(rows)
    if count == 0:
        return Story((), "order", (), ())
    measure = story_measure(table, rows)
    if count == 1:
        only = Placement(track_id=table.ids[rows[0]], slot="finale", reason="the whole story in one song")
        return Story((only,), measure, (), ())
    series = values(table, measure)[rows] if measure != "order" else np.arange(count, dtype=np.float64)
    placements = []
    for at in range(count):
        slot = slot_for(at, count)
        if at == 0:
            reason = _opening(measure, float(series[0]))
        else:
            reason = _move(measure, float(series[at - 1]), float(series[at]), slot == "finale")
        placements.append(Placement(track_id=table.ids[rows[at]], slot=slot, reason=reason))
    if measure == "order":
        note = "Not checked against the show's rule: nothing is known about how these songs sound."
        return Story(tuple(placements), measure, (), (note,))
    spare = redundant(series, measure)
    notes = []
    if spare:
        at = spare[0]
        without = np.delete(series, at)
        notes.append(
            f"{_title(table.tracks[rows[at]])} could go: without it the story still "
            f"{_shape_words(shape(without, measure))}. {RULE}"
        )
    return Story(tuple(placements), measure, tuple(table.ids[rows[at]] for at in spare), tuple(notes))


def order_arc(tracks: Sequence[TrackProfile]) -> tuple[Placement, ...]:
    """The given songs, in the given order, as a story (opening -> turn -> finale) with words.

    A song given twice (same id) is placed once; an empty list gives an empty story.
    """
    unique: dict[str, TrackProfile] = {}
    for track in require_tracks(tracks):
        unique.setdefault(track.stable_id, track)
    table = Table.of(list(unique.values()))
    return tell(table, np.arange(len(table))).placements
