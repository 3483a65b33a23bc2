"""Casting: split a history into two contrasting characters that hold up.

- Sound and mood decide when at least half the songs have them; otherwise era, recent versus long-time
  favourites and time of day, each only when it is reliable: time of day needs a few plays per song,
  is shrunk toward the listener's own mean, and is dropped unless it agrees with itself on odd versus
  even plays; a split that uses it must come out the same (on most songs) from either half of the plays.
- An artist plays one character only: whole artists move between the sides, so the two characters'
  lead artists differ and a mash-up never pairs an artist with themself.
- The basis (what the two characters differ in most) is stated, and the archetypes follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from fanapp.engine.history import BoolArray, IntArray, Table
from fanapp.engine.profile import FloatArray

# Columns that describe how a song sounds, with how much each counts and the words for a split on it.
SOUND: Final = {
    "energy": (1.0, "energy"),
    "valence": (1.0, "mood"),
    "danceability": (1.0, "danceability"),
    "acousticness": (1.0, "acoustic versus electric"),
    "speechiness": (0.75, "rapped versus sung"),
    "instrumentalness": (0.5, "instrumental versus vocal"),
    "tempo": (0.5, "tempo"),
}
# Columns that describe how a song lives in the history: words, and the archetype kind a split on it takes.
LISTENING: Final = {
    "era": ("era", "era"),
    "recency": ("recent versus long-time favourites", "recency"),
    "night": ("time of day", "time"),
}
SECONDARY: Final = 0.35  # the other family still counts, mostly to place songs the main one knows nothing of
_ROUNDS: Final = 25

# Time of day is read from single plays: one play says 0 or 1. Gates before it may split anything.
MIN_PLAYS: Final = 3  # timed plays a song needs before its night share counts
PRIOR_PLAYS: Final = 4.0  # shrinkage: a song's share is pulled toward the listener's as if by 4 plays
MIN_HALF_PLAYS: Final = 2  # plays in each half for the odd/even reliability check
MIN_RELIABLE_SONGS: Final = 8
MIN_RELIABILITY: Final = 0.6  # Spearman-Brown corrected odd/even correlation a column must reach
MIN_REPRODUCED: Final = 0.75  # share of songs that land on the same side from either half of the plays


@dataclass(frozen=True, eq=False)
class Casting:
    """Which songs play character B (the rest play A), how squarely each sits in its side, and why."""

    in_b: BoolArray
    typical: FloatArray
    basis: str
    kind: str  # the archetype family: sound, era, time, recency, artists, love or any
    night: FloatArray  # each song's night share as the split read it (gated and shrunk), NaN when unused


def least_members(count: int) -> int:
    """The fewest songs a character may get: an even split for tiny histories, else 3 and a quarter."""
    return count // 2 if count < 6 else max(3, count // 4)


def artist_groups(table: Table) -> IntArray:
    """A group number per song: its first artist's, or one of its own when the artist is unknown."""
    groups = table.artist.copy()
    unknown = groups < 0
    groups[unknown] = len(table.artists) + np.arange(int(unknown.sum()))
    return groups


def night_share(table: Table, parity: int | None = None) -> FloatArray:
    """Each song's share of night plays, shrunk toward the listener's, NaN under MIN_PLAYS timed plays.

    `parity` 0 or 1 reads only a song's even or odd plays (its 1st, 3rd, ... or 2nd, 4th, ...).
    """
    plays = table.plays
    keep = np.ones(len(plays.row), dtype=bool) if parity is None else plays.nth % 2 == parity
    least = MIN_PLAYS if parity is None else MIN_HALF_PLAYS
    count = np.bincount(plays.row[keep], minlength=len(table)).astype(np.float64)
    night = np.bincount(plays.row[keep], weights=plays.night[keep], minlength=len(table))
    if count.sum() == 0:
        return np.full(len(table), np.nan)
    mean = night.sum() / count.sum()
    shrunk: FloatArray = np.where(
        count >= least, (night + PRIOR_PLAYS * mean) / (count + PRIOR_PLAYS), np.nan
    )
    return shrunk


def reliability(table: Table) -> float:
    """How well time of day agrees with itself on odd versus even plays (Spearman-Brown), 0 when unsure."""
    odd, even = night_share(table, 1), night_share(table, 0)
    both = ~np.isnan(odd) & ~np.isnan(even)
    if both.sum() < MIN_RELIABLE_SONGS or odd[both].std() < 1e-9 or even[both].std() < 1e-9:
        return 0.0
    r = float(np.corrcoef(odd[both], even[both])[0, 1])
    return 2 * r / (1 + r) if r > 0 else 0.0


def cast(table: Table) -> Casting:
    """Split the songs of `table` (at least two) into characters A and B; A holds the most-loved song."""
    groups = artist_groups(table)
    if len(np.unique(groups)) == 1:  # one artist is all there is: their songs split on their own
        groups = np.arange(len(table), dtype=np.int64)
    sound_known = ~np.isnan(table.feature("energy")) & ~np.isnan(table.feature("valence"))
    family = "sound" if sound_known.mean() >= 0.5 else "listening"
    night = night_share(table) if reliability(table) >= MIN_RELIABILITY else np.full(len(table), np.nan)
    casting = _cast(table, groups, family, night)
    if "night" in casting.used and not _reproduces(table, groups, family):
        night = np.full(len(table), np.nan)
        casting = _cast(table, groups, family, night)
    in_b, margin = casting.in_b, casting.margin
    if in_b[int(np.argmax(table.weight))]:
        in_b, margin = ~in_b, -margin
    return Casting(
        in_b=in_b,
        typical=np.where(in_b, margin, -margin),
        basis=casting.basis,
        kind=casting.kind,
        night=night,
    )


@dataclass(frozen=True, eq=False)
class _Split:
    in_b: BoolArray
    margin: FloatArray
    basis: str
    kind: str
    basis_columns: tuple[str, ...]
    used: tuple[str, ...]


def _columns(table: Table, family: str, night: FloatArray) -> list[tuple[str, FloatArray, float]]:
    sound = [(name, table.feature(name), weight) for name, (weight, _) in SOUND.items()]
    listening = [("era", table.year, 1.0), ("recency", table.recency, 1.0), ("night", night, 1.0)]
    primary, secondary = (sound, listening) if family == "sound" else (listening, sound)
    return [*primary, *[(name, values, weight * SECONDARY) for name, values, weight in secondary]]


def _cast(table: Table, groups: IntArray, family: str, night: FloatArray) -> _Split:
    points, known, names = _standardise(_columns(table, family, night))
    if not names:
        return _without_columns(table, groups)
    in_b, margin = _two_means(points, known, groups)
    in_b = _balance(in_b, margin, groups)
    words, kind, basis_columns = _basis(points, known, names, in_b, family)
    return _Split(in_b, margin, words, kind, basis_columns, tuple(names))


def _reproduces(table: Table, groups: IntArray, family: str) -> bool:
    """Whether a split on time of day comes out the same from the odd plays as from the even ones."""
    halves = [_cast(table, groups, family, night_share(table, parity)).in_b for parity in (0, 1)]
    timed = table.timed >= 2 * MIN_HALF_PLAYS
    if timed.sum() < MIN_RELIABLE_SONGS:
        return False
    agree = float((halves[0][timed] == halves[1][timed]).mean())
    return max(agree, 1 - agree) >= MIN_REPRODUCED


def _standardise(columns: list[tuple[str, FloatArray, float]]) -> tuple[FloatArray, BoolArray, list[str]]:
    """Columns with some spread as weighted z-scores (0 where unknown), which cells are known, and names."""
    kept: list[FloatArray] = []
    masks: list[BoolArray] = []
    names: list[str] = []
    for name, values, weight in columns:
        known = ~np.isnan(values)
        if known.sum() < 2:
            continue
        spread = float(values[known].std())
        if spread < 1e-9:
            continue
        kept.append(np.where(known, (values - values[known].mean()) / spread, 0.0) * weight)
        masks.append(known)
        names.append(name)
    rows = len(columns[0][1])
    if not kept:
        return np.zeros((rows, 0)), np.zeros((rows, 0), dtype=bool), names
    return np.column_stack(kept), np.column_stack(masks), names


def _by_group(values: FloatArray, groups: IntArray) -> FloatArray:
    """Each song's group total of `values`."""
    total = np.bincount(groups, weights=values)[groups]
    return total.astype(np.float64)


def _two_means(points: FloatArray, known: BoolArray, groups: IntArray) -> tuple[BoolArray, FloatArray]:
    """A deterministic 2-means over whole artists: a median split on the principal axis, then refined.

    Distances and centres use only the known cells; an artist goes to the side its songs lean to
    together; an artist nothing is known about alternates by group number. Returns who is in B and how
    much closer each song is to B's centre than to A's.
    """
    _, vectors = np.linalg.eigh(points.T @ points)  # z-scores filled with 0 are already centred
    axis = vectors[:, -1]
    if axis[int(np.argmax(np.abs(axis)))] < 0:  # an eigenvector's sign is arbitrary; pin it
        axis = -axis
    len(points)
    in_b = _upper_half(points @ axis, groups)
    blind = np.bincount(groups, weights=known.any(axis=1).astype(np.float64))[groups] == 0
    alternate = groups % 2 == 1
    cells = known.astype(np.float64)
    margin = _margin(points, cells, in_b)
    for _ in range(_ROUNDS):
        moved = np.where(blind, alternate, _by_group(margin, groups) > 0)
        if moved.all() or not moved.any() or np.array_equal(moved, in_b):
            break
        in_b = moved
        margin = _margin(points, cells, in_b)
    return in_b, margin


def _margin(points: FloatArray, known: FloatArray, in_b: BoolArray) -> FloatArray:
    """How much closer (squared distance over known cells) each song is to B's centre than to A's."""
    centres: list[FloatArray] = []
    for members in (~in_b, in_b):
        share = members.astype(np.float64)
        sums, counts = share @ points, share @ known
        centres.append(np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0))
    a, b = centres
    # Expanding |x - a|² - |x - b|² over known cells cancels |x|²; unknown cells of x are already 0.
    gap: FloatArray = known @ (a**2 - b**2) - 2 * (points @ (a - b))
    return gap


def _basis(
    points: FloatArray, known: BoolArray, names: list[str], in_b: BoolArray, family: str
) -> tuple[str, str, tuple[str, ...]]:
    """What the two sides differ in most, in words, with the archetype kind that explains it."""
    gaps: dict[str, float] = {}
    for column, name in enumerate(names):
        a, b = known[:, column] & ~in_b, known[:, column] & in_b
        if a.any() and b.any():
            gaps[name] = abs(float(points[b, column].mean() - points[a, column].mean()))
    family_names = SOUND if family == "sound" else LISTENING
    ours = {name: gap for name, gap in gaps.items() if name in family_names}
    if not ours:  # only the other family varies: it decides
        ours = gaps
    if not ours:
        return ("sound and mood", "sound", ()) if family == "sound" else ("era", "era", ())
    ranked = sorted(ours, key=lambda n: (-ours[n], n))
    top = ranked[0]
    if top in SOUND:
        chosen = [n for n in ranked[:2] if n in SOUND and ours[n] >= ours[top] * 0.6]
        return "sound: " + " and ".join(SOUND[n][1] for n in chosen), "sound", tuple(chosen)
    words, kind = LISTENING[top]
    return words, kind, (top,)


def _without_columns(table: Table, groups: IntArray) -> _Split:
    """Nothing measurable varies: split by artist, else by how loved songs are, else evenly."""
    count = len(table)
    if len(np.unique(table.artist[table.artist >= 0])) >= 2:
        sizes = np.bincount(groups)
        in_b = np.zeros(count, dtype=bool)
        taken = [0, 0]
        margin = np.zeros(count)
        for group in sorted(np.flatnonzero(sizes).tolist(), key=lambda g: (-sizes[g], g)):
            side = int(taken[1] < taken[0])
            taken[side] += int(sizes[group])
            rows = groups == group
            in_b[rows] = bool(side)
            # Songs of an artist with many songs are the most typical; lone songs move first when rebalancing.
            margin[rows] = (1 + sizes[group] / count) * (1 if side else -1)
        return _Split(_balance(in_b, margin, groups), margin, "artists", "artists", (), ())
    loved = np.log(table.weight)
    if np.ptp(loved) > 1e-9:
        margin = np.median(loved) - loved
        in_b = _balance(_upper_half(-loved, groups), margin, groups)
        return _Split(in_b, margin, "how often you play them", "love", (), ())
    ranks: FloatArray = np.arange(count, dtype=np.float64)
    in_b = _balance(_upper_half(ranks, groups), np.zeros(count), groups)
    return _Split(
        in_b, np.zeros(count), "an even split, as too little is known about these songs", "any", (), ()
    )


def _upper_half(score: FloatArray, groups: IntArray) -> BoolArray:
    """Whole artists, ordered by their songs' mean score, the upper half of the songs going to B."""
    lean = np.bincount(groups, weights=score) / np.maximum(np.bincount(groups), 1)
    order = np.lexsort((np.arange(len(lean)), lean))
    sizes = np.bincount(groups, minlength=len(lean))[order]
    upper = order[np.cumsum(sizes) > len(score) // 2]
    in_b: BoolArray = np.isin(groups, upper)
    return in_b


def _balance(in_b: BoolArray, margin: FloatArray, groups: IntArray) -> BoolArray:
    """Move whole artists across, least typical first, until each character has its minimum.

    An artist that would leave the other side short stays; when only one artist is left to move (a
    history by one artist), its least typical songs move on their own, so both sides get songs.
    """
    in_b = in_b.copy()
    count = len(in_b)
    least = least_members(count)
    for to_b in (False, True):
        while (short := least - int((in_b == to_b).sum())) > 0:
            donors = np.flatnonzero(in_b != to_b)
            closeness = -margin if to_b else margin
            lean = _by_group(closeness, groups) / np.bincount(groups)[groups]
            movable = [
                g
                for g in np.unique(groups[donors]).tolist()
                if len(donors) - int((groups[donors] == g).sum()) >= least
            ]
            if movable:
                choice = min(movable, key=lambda g: (float(lean[groups == g][0]), g))
                in_b[groups == choice] = to_b
                continue
            if (in_b == to_b).any() and len(np.unique(groups)) > 1:
                break  # the rest is one artist's: better a small side than an artist on both
            order = donors[np.lexsort((donors, closeness[donors]))]
            in_b[order[:short]] = to_b
            break
    return in_b
